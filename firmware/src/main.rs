//! Portico on an ESP32: Wi-Fi (station, access-point fallback; `board`), embassy-net,
//! and the device port's socket pool serving the dashboard, the API and live updates.
#![no_std]
#![no_main]

mod app;
mod identity;
mod link;

use embassy_executor::Spawner;
use embassy_net::{Stack, StackResources};
use esp_backtrace as _;
use esp_hal::clock::CpuClock;
use esp_hal::rng::Rng;
use esp_hal::timer::timg::TimerGroup;
use log::{info, warn};
use portico_app::embassy::{serve_app, Network};
use portico_embassy::mdns::{self, MdnsBuffers};
use portico_embassy::{HeldSyn, ListenGate, PoolResources, SocketBuffers, SocketPool};
use portico_firmware::board;
use portico_firmware::memory::EspRegions;
use static_cell::StaticCell;

use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use portico::pool::Pool;

use crate::app::{App, EspDevice, EspResources, CHUNKS, PROFILE, RX, SOCKETS, TX};

/// Request buffers: leased only while a request is in flight.
pub type Buffers = Pool<EspRegions, NoopRawMutex, CHUNKS, 32>;

esp_bootloader_esp_idf::esp_app_desc!();

#[cfg(all(feature = "esp32c3", feature = "esp32s3"))]
compile_error!(
    "choose one chip: `esp32c3` (default) or `--no-default-features --features esp32s3`"
);

/// Sockets in the stack: the profile's (the HTTP pool, DHCP and DNS) plus the upstream
/// link's, a spare, and the mDNS responder's.
const STACK_SOCKETS: usize = PROFILE.stack_sockets + 3;

static RESOURCES: StaticCell<StackResources<STACK_SOCKETS>> = StaticCell::new();
static SYN_BACKLOG: StaticCell<[HeldSyn; PROFILE.syn_backlog]> = StaticCell::new();
static SOCKET_BUFFERS: StaticCell<SocketBuffers<SOCKETS, RX, TX>> = StaticCell::new();
static POOL_RESOURCES: StaticCell<PoolResources<SOCKETS>> = StaticCell::new();
static POOL: StaticCell<SocketPool<'static>> = StaticCell::new();
static LISTEN_GATE: ListenGate = ListenGate::new(80);
static BUFFERS: StaticCell<Buffers> = StaticCell::new();
static APP: StaticCell<App> = StaticCell::new();
static MDNS_BUFFERS: StaticCell<MdnsBuffers> = StaticCell::new();
/// The password's hash from the build (`identity.rs`), and the token key drawn at boot:
/// a restart ends every session.
#[cfg(feature = "auth")]
static PASSWORD_HASH: Option<portico::guard::PasswordHash> = identity::PASSWORD;
#[cfg(feature = "auth")]
static SESSION_KEY: StaticCell<portico::guard::SessionKey> = StaticCell::new();

#[esp_rtos::main]
async fn main(spawner: Spawner) -> ! {
    esp_println::logger::init_logger_from_env();
    let peripherals = esp_hal::init(esp_hal::Config::default().with_cpu_clock(CpuClock::max()));

    // Internal heap: Wi-Fi's buffers and Portico's request buffers. The bootloader's RAM
    // is reclaimed for it.
    esp_alloc::heap_allocator!(#[esp_hal::ram(reclaimed)] size: 64 * 1024);
    esp_alloc::heap_allocator!(size: 72 * 1024);
    // The external region, where the module has PSRAM.
    #[cfg(feature = "psram")]
    esp_alloc::psram_allocator!(peripherals.PSRAM, esp_hal::psram);

    let timg0 = TimerGroup::new(peripherals.TIMG0);
    esp_rtos::start(timg0.timer0, peripherals.FROM_CPU_INTR0);

    let rng = Rng::new();
    let board::Network {
        stack,
        address,
        mode,
    } = board::start(
        &spawner,
        peripherals.WIFI,
        RESOURCES.init(StackResources::new()),
        &LISTEN_GATE,
        SYN_BACKLOG.init([HeldSyn::FREE; PROFILE.syn_backlog]),
        &rng,
    )
    .await;
    info!("portico: serving http://{address}/ ({mode})");
    spawner.spawn(mdns_task(stack).expect("mdns task"));
    info!(
        "portico: also at http://{}.local/ (mDNS)",
        identity::MDNS_NAME
    );

    let mut port = PROFILE.config();
    // Every response, the core's own 4xx/5xx and 503 included, carries the application's
    // security headers. No `Date` until SNTP exists.
    port.server.headers = portico_app::security::HEADERS;
    let resources = POOL_RESOURCES.init(PoolResources::new());
    let sockets =
        POOL.init(SocketPool::gated(stack, port, resources, &LISTEN_GATE).expect("port config"));
    let buffers = BUFFERS.init(Buffers::new(EspRegions, PROFILE.pool_config()));
    let upstream = link::start(&spawner, stack);
    let app = APP.init(app::new(EspDevice {
        resources: EspResources {
            sockets,
            buffers,
            memory: EspRegions,
        },
        platform: PROFILE.name,
        network: Network { mode, address },
        stack_sockets: STACK_SOCKETS,
        upstream: link::UPSTREAM,
        link: upstream.map(|l| l as &dyn portico_app::embassy::LinkReport),
        api_delay: portico::time::Duration::ZERO,
        // The mDNS name, `localhost` and IP literals.
        allowed_hosts: portico::guard::HostPolicy::Names(identity::HOST_NAMES),
        secrets: secrets(&rng),
    }));
    if upstream.is_some() {
        link::start_heartbeat(&spawner, app);
    }
    // The socket buffers are a static array on both chips for now: placing them in
    // PSRAM on the S3 (the profile's `socket_placement`) needs the pool to take
    // heap blocks, which the PC device stack models but the firmware does not do yet.
    serve_app(app, SOCKET_BUFFERS.init(SocketBuffers::new())).await
}

/// The password's hash given at build time and a key for this boot's tokens; `None`
/// (an open dashboard) without `PORTICO_PASSWORD`.
#[cfg(feature = "auth")]
fn secrets(rng: &Rng) -> Option<portico::guard::Secrets<'static>> {
    let password = PASSWORD_HASH.as_ref()?;
    let mut key = [0u8; 32];
    for chunk in key.chunks_mut(4) {
        chunk.copy_from_slice(&rng.random().to_le_bytes());
    }
    let key = SESSION_KEY.init(portico::guard::SessionKey(key));
    info!("portico: login required (password set at build time)");
    Some(portico::guard::Secrets { password, key })
}

#[cfg(not(feature = "auth"))]
fn secrets(_: &Rng) -> Option<portico::guard::Secrets<'static>> {
    None
}

/// Answers `NAME.local` on the network (`identity::MDNS_NAME`).
#[embassy_executor::task]
async fn mdns_task(stack: Stack<'static>) {
    let Err(e) = mdns::respond(
        stack,
        identity::MDNS_NAME,
        MDNS_BUFFERS.init(MdnsBuffers::new()),
    )
    .await;
    warn!("portico: no mDNS name: {e}");
}
