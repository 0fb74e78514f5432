//! The device's settings storage (`FlashStore` on `sequential-storage`) over an emulated
//! NOR flash: what survives a restart, many saves, and a flash that was never written.

use futures_executor::block_on;
use settings::{FlashStore, RamFlash, Settings, Store};

fn named(name: &str, brightness: u8) -> Settings {
    Settings {
        device_name: name.try_into().unwrap(),
        brightness,
        led: brightness % 2 == 0,
    }
}

#[test]
fn saves_survive_a_restart_and_a_thousand_saves() {
    let mut flash = RamFlash::<4>::new();
    block_on(async {
        let mut store = FlashStore::new(&mut flash, 0..4 * 4096);
        assert_eq!(store.load().await, None, "erased flash holds nothing");
        store.save(&named("kitchen \"A\"", 40)).await.unwrap();
        assert_eq!(store.load().await, Some(named("kitchen \"A\"", 40)));
    });
    // A restart: a new store over the same flash.
    block_on(async {
        let mut store = FlashStore::new(&mut flash, 0..4 * 4096);
        assert_eq!(store.load().await, Some(named("kitchen \"A\"", 40)));
        // Far more records than four pages hold: old pages are reclaimed.
        for i in 0..1000u32 {
            let s = named(&format!("device {i}"), (i % 101) as u8);
            store.save(&s).await.unwrap();
        }
    });
    block_on(async {
        let mut store = FlashStore::new(&mut flash, 0..4 * 4096);
        assert_eq!(
            store.load().await,
            Some(named("device 999", (999 % 101) as u8))
        );
    });
    assert_eq!(flash.bad_writes, 0, "a write tried to set a programmed bit");
}

#[test]
fn a_name_of_32_characters_in_any_script_fits() {
    let mut flash = RamFlash::<2>::new();
    let name: String = "ü".repeat(16) + &"猫".repeat(16);
    assert_eq!(name.chars().count(), 32);
    let s = named(&name, 100);
    assert_eq!(s.validate(), Ok(()));
    block_on(async {
        let mut store = FlashStore::new(&mut flash, 0..2 * 4096);
        store.save(&s).await.unwrap();
        assert_eq!(store.load().await, Some(s));
    });
}
