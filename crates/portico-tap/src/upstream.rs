//! The upstream WebSocket link on the device stack (`--upstream`), set up as the
//! firmware's `src/link.rs` sets it up: the device client (`portico_ws::embassy`, with
//! embedded-tls for `wss://`) on the same embassy-net stack as the server, its socket's
//! buffers placed once by policy on the profile's heap, its own buffers and TLS blocks
//! placed per connection and freed while the link is down, the status document sent up
//! every 5 s, and `/api/link` listing every block with its region.

use embassy_net::Stack;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_time::Duration;
use portico::placement::sim::SimHeap;
use portico_app::embassy::{report_status, WsLink};
use portico_app::{Device, Provider};
use portico_embassy::place_socket_buffer;
use portico_ws::embassy::{Client, Config, EmbassyPort, Handle, TlsOptions};
use portico_ws::{Event, MemoryBlock};

use crate::run::StartError;

/// Each of the link socket's buffers, as on the firmware.
const SOCKET_BUFFER: usize = 4096;
/// How often the status document goes upstream, as on the firmware.
const HEARTBEAT: Duration = Duration::from_secs(5);

type Port = EmbassyPort<'static, fn(&mut [u8])>;
/// The link as `/api/link` reports it.
pub type Link = WsLink<'static, CriticalSectionRawMutex, 8>;

/// The link, ready to run.
#[derive(Clone, Copy)]
pub struct Upstream {
    client: &'static Client,
    port: &'static Port,
    /// What `/api/link` reports.
    pub link: &'static Link,
}

/// The TLS client's randomness: the OS's, as the firmware's is the hardware RNG's.
fn random(dst: &mut [u8]) {
    getrandom::fill(dst).expect("random bytes from the OS");
}

/// Places the link's socket and builds its client for `url`, trusting `ca` (DER
/// certificates, one after the other) for `wss://`.
pub fn setup(
    stack: Stack<'static>,
    heap: &SimHeap,
    url: &'static str,
    ca: Option<Vec<u8>>,
) -> Result<Upstream, StartError> {
    let socket = |name| -> Result<(&'static mut [u8], MemoryBlock), StartError> {
        let (block, report) =
            place_socket_buffer(heap, name, SOCKET_BUFFER).ok_or(StartError::LinkMemory)?;
        Ok((Box::leak(Box::new(block)).as_mut(), report))
    };
    let (rx, rx_block) = socket("socket_rx")?;
    let (tx, tx_block) = socket("socket_tx")?;
    let port: &'static Port = Box::leak(Box::new(EmbassyPort::new(
        stack,
        rx,
        tx,
        random as fn(&mut [u8]),
    )));
    let ca: Option<&'static [u8]> = ca.map(|c| &*c.leak());
    let client: &'static Client = Box::leak(Box::new(Client::new(Config {
        tls: TlsOptions {
            ca,
            ..TlsOptions::const_default()
        },
        ..Config::new(url)
    })));
    let link = Box::leak(Box::new(WsLink {
        client,
        socket: [rx_block, tx_block],
    }));
    Ok(Upstream { client, port, link })
}

/// Runs the link and its heartbeat for the life of the process.
pub async fn run<D: Device>(up: Upstream, app: &Provider<D>, heap: SimHeap) {
    up.client.handle().start();
    embassy_futures::join::join(
        up.client.run(up.port, heap, on_event),
        report_status(app, up.client, HEARTBEAT),
    )
    .await;
}

fn on_event(event: Event<'_>, _: &Handle<'_>) {
    match event {
        Event::Connected { .. } => println!("upstream link: connected"),
        Event::Disconnected(_) => println!("upstream link: disconnected"),
        _ => {}
    }
}
