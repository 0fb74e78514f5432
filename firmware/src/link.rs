//! The upstream WebSocket link (`portico_ws::embassy`), started when the firmware is
//! built with `PORTICO_UPSTREAM=ws://host:port/path` (or `wss://` with the feature `tls`
//! and `PORTICO_UPSTREAM_CA=ca.pem`): reconnects with backoff, keeps
//! alive with pings, sends the device's `/api/status` document every 5 s, and shows in
//! `/api/link` where each of its blocks lives.
//!
//! Its buffers come from `EspRegions` by the client's placement policy (PSRAM first
//! where there is some); its TCP socket's buffers are placed the same way, once, at
//! start-up; its task's state is the executor's static task storage.

use embassy_executor::Spawner;
use embassy_net::Stack;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_time::Duration;
use log::{info, warn};
use portico_app::embassy::{report_status, WsLink};
use portico_embassy::place_socket_buffer;
use portico_ws::embassy::{Client, Config, EmbassyPort, Handle};
use portico_ws::{Event, MemoryBlock};
use static_cell::StaticCell;

use crate::app::App;
use portico_firmware::memory::{leak, EspBlock, EspRegions};

/// The URL given at build time, if any.
pub const UPSTREAM: Option<&str> = match option_env!("PORTICO_UPSTREAM") {
    Some(url) if !url.is_empty() => Some(url),
    _ => None,
};

/// Each of the link socket's buffers.
const SOCKET_BUFFER: usize = 4096;

/// How often the status document goes upstream.
const HEARTBEAT: Duration = Duration::from_secs(5);

const URL: &str = match UPSTREAM {
    Some(url) => url,
    None => "",
};

/// The CA for `wss://`, from `PORTICO_UPSTREAM_CA` at build time (see `build.rs`).
#[cfg(feature = "tls")]
const UPSTREAM_CA: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/upstream_ca.der"));

static CLIENT: Client = Client::new(config());

const fn config() -> Config {
    #[allow(unused_mut)] // Only the optional features change it.
    let mut c = Config::new(URL);
    #[cfg(feature = "tls")]
    {
        c.tls = portico_ws::embassy::TlsOptions {
            ca: if UPSTREAM_CA.is_empty() {
                None
            } else {
                Some(UPSTREAM_CA)
            },
            ..portico_ws::embassy::TlsOptions::const_default()
        };
    }
    #[cfg(feature = "deflate")]
    {
        // An 8 KiB cap: a 4 KiB server window and a 4 KiB hash table, placed like the
        // other buffers, plus the inflater's ~10 KiB of tables from the heap.
        c.settings.compression.mode = portico_ws::CompressionMode::Prefer;
        c.settings.compression.max_memory = 8 * 1024;
    }
    c
}

type Port = EmbassyPort<'static, fn(&mut [u8])>;
static PORT: StaticCell<Port> = StaticCell::new();
/// The link as `/api/link` reports it.
pub type Link = WsLink<'static, CriticalSectionRawMutex, 8>;
static LINK: StaticCell<Link> = StaticCell::new();

fn random(dst: &mut [u8]) {
    esp_hal::rng::Rng::new().read(dst)
}

fn socket_buffer(name: &'static str) -> Option<(EspBlock, MemoryBlock)> {
    place_socket_buffer(&EspRegions, name, SOCKET_BUFFER)
}

/// Sets the link up on `stack` and starts its task; `None` when no URL was given or
/// memory for its socket is short (the device then serves without a link; the log says
/// why and `/api/link` shows it configured but not running).
pub fn start(spawner: &Spawner, stack: Stack<'static>) -> Option<&'static Link> {
    let url = UPSTREAM?;
    // Both placed before either is kept: a half-placed socket goes back to the heap.
    let (Some((rx, rx_block)), Some((tx, tx_block))) =
        (socket_buffer("socket_rx"), socket_buffer("socket_tx"))
    else {
        warn!("upstream link: no memory for its socket; serving without it");
        return None;
    };
    let Ok(task) = link_task(PORT.init(EmbassyPort::new(
        stack,
        leak(rx),
        leak(tx),
        random as fn(&mut [u8]),
    ))) else {
        warn!("upstream link: its task is already running");
        return None;
    };
    spawner.spawn(task);
    CLIENT.handle().start();
    info!("upstream link: {url}");
    Some(LINK.init(WsLink {
        client: &CLIENT,
        socket: [rx_block, tx_block],
    }))
}

/// Sends the status document upstream while the link is up.
pub fn start_heartbeat(spawner: &Spawner, app: &'static App) {
    if let Ok(task) = heartbeat_task(app) {
        spawner.spawn(task);
    }
}

fn on_event(event: Event<'_>, _: &Handle<'_>) {
    match event {
        Event::Connected { .. } => info!("upstream link: connected"),
        Event::Disconnected(_) => warn!("upstream link: disconnected"),
        _ => {}
    }
}

#[embassy_executor::task]
async fn link_task(port: &'static Port) {
    CLIENT.run(port, EspRegions, on_event).await
}

#[embassy_executor::task]
async fn heartbeat_task(app: &'static App) {
    report_status(app, &CLIENT, HEARTBEAT).await
}
