//! The settings example (`examples/settings`) on an ESP32: the same application as on a
//! PC — `GET`/`PUT /api/settings`, live updates on `/api/events` — with the settings in
//! the flash's `nvs` partition through `sequential-storage`, served by the device port.
//!
//! ```sh
//! cd firmware && cargo build --release --example settings
//! espflash flash --monitor target/riscv32imc-unknown-none-elf/release/examples/settings
//! ```
#![no_std]
#![no_main]

use embassy_embedded_hal::adapter::BlockingAsync;
use embassy_executor::Spawner;
use embassy_net::StackResources;
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use esp_backtrace as _;
use esp_hal::clock::CpuClock;
use esp_hal::rng::Rng;
use esp_hal::timer::timg::TimerGroup;
use esp_storage::FlashStorage;
use log::info;
use portico::pool::Pool;
use portico::server::Engine;
use portico_embassy::profile::{ESP32C3, RX, SOCKETS, TX};
use portico_embassy::{HeldSyn, ListenGate, PoolResources, SocketBuffers, SocketPool};
use portico_firmware::board;
use portico_firmware::memory::EspRegions;
use settings::{FlashStore, SettingsApp};
use static_cell::StaticCell;

esp_bootloader_esp_idf::esp_app_desc!();

/// The `nvs` data partition of esp-idf's default table (0x9000, 24 KiB = 6 sectors), as
/// espflash writes it: six erase pages for the settings' records.
const SETTINGS_FLASH: core::ops::Range<u32> = 0x9000..0xF000;

/// The chip's HTTP numbers (`portico_embassy::profile`); the stack adds DHCP and a spare.
const STACK_SOCKETS: usize = ESP32C3.stack_sockets + 1;
const CHUNKS: usize = ESP32C3.chunks;

type Store = FlashStore<BlockingAsync<FlashStorage<'static>>>;

static RESOURCES: StaticCell<StackResources<STACK_SOCKETS>> = StaticCell::new();
static SYN_BACKLOG: StaticCell<[HeldSyn; ESP32C3.syn_backlog]> = StaticCell::new();
static SOCKET_BUFFERS: StaticCell<SocketBuffers<SOCKETS, RX, TX>> = StaticCell::new();
static POOL_RESOURCES: StaticCell<PoolResources<SOCKETS>> = StaticCell::new();
static SOCKETS_POOL: StaticCell<SocketPool<'static>> = StaticCell::new();
static LISTEN_GATE: ListenGate = ListenGate::new(80);
static BUFFERS: StaticCell<Pool<EspRegions, NoopRawMutex, CHUNKS, 32>> = StaticCell::new();
static APP: StaticCell<SettingsApp<Store>> = StaticCell::new();

#[esp_rtos::main]
async fn main(spawner: Spawner) -> ! {
    esp_println::logger::init_logger_from_env();
    let peripherals = esp_hal::init(esp_hal::Config::default().with_cpu_clock(CpuClock::max()));
    esp_alloc::heap_allocator!(#[esp_hal::ram(reclaimed)] size: 64 * 1024);
    esp_alloc::heap_allocator!(size: 48 * 1024);
    let timg0 = TimerGroup::new(peripherals.TIMG0);
    esp_rtos::start(timg0.timer0, peripherals.FROM_CPU_INTR0);

    // The settings first: what the device does does not wait for the network.
    let flash = BlockingAsync::new(FlashStorage::new(peripherals.FLASH));
    let app = APP.init(SettingsApp::new(FlashStore::new(flash, SETTINGS_FLASH)).await);
    info!("settings: {:?}", app.current());

    let rng = Rng::new();
    let net = board::start(
        &spawner,
        peripherals.WIFI,
        RESOURCES.init(StackResources::new()),
        &LISTEN_GATE,
        SYN_BACKLOG.init([HeldSyn::FREE; ESP32C3.syn_backlog]),
        &rng,
    )
    .await;
    info!("settings: serving http://{}/ ({})", net.address, net.mode);

    let resources = POOL_RESOURCES.init(PoolResources::new());
    let sockets = SOCKETS_POOL.init(
        SocketPool::gated(net.stack, ESP32C3.config(), resources, &LISTEN_GATE)
            .expect("port config"),
    );
    let buffers = BUFFERS.init(Pool::new(EspRegions, ESP32C3.pool_config()));
    let engine = Engine {
        handler: &*app,
        streams: &*app,
        buffers: &*buffers,
    };
    sockets
        .run(SOCKET_BUFFERS.init(SocketBuffers::new()), &engine)
        .await
}
