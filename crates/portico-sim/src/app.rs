//! The provider application (`portico-app`) on the simulated device: the same
//! application the host provider and the firmware run, through the same
//! `portico_app::embassy::PortDevice` view as the firmware, plus a small HTTP client for the
//! simulated stacks to read its documents and its event stream.

use embassy_net::tcp::TcpSocket;
use embassy_net::{IpEndpoint, Stack};
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_time::{with_timeout, Duration};
use embedded_io_async::Write;
use portico::assets::{Asset, Caching};
use portico::guard::{HostPolicy, Secrets};
use portico::placement::sim::SimHeap;
use portico_app::embassy::{LinkReport, Network, PortDevice, PortResources};
use portico_app::Provider;
use portico_embassy::{PortConfig, SocketPool};

use crate::device::{serve_with, spawn_device_stack, DeviceStack, SimPool, DEVICE_IP};
use crate::executor::Spawner;
use crate::net::Network as SimNetwork;

/// The simulated device's sockets, request buffers (16 at once) and heap.
pub type SimResources = PortResources<'static, SimHeap, NoopRawMutex, 16, 64>;

/// The port as the application sees it in the simulation.
pub type SimDevice = PortDevice<'static, SimResources>;

/// The application on the simulated device: handler and stream driver in one.
pub type SimApp = Provider<SimDevice>;

/// A one-page site for the simulated device.
pub static SITE: &[Asset] = &[Asset {
    path: "/index.html",
    content_type: "text/html; charset=utf-8",
    identity: b"<!doctype html><title>Portico</title><h1>Portico</h1>\n",
    gzip: None,
    etag: "\"sim-index\"",
    etag_gzip: "\"sim-index-gz\"",
    caching: Caching::Revalidate,
    fallback: false,
}];

/// Starts the device running the provider application with `N` sockets of `RX`/`TX`
/// bytes, its memory on `heap`.
pub fn spawn_app_device<const N: usize, const RX: usize, const TX: usize>(
    spawner: &Spawner,
    net: &SimNetwork,
    config: PortConfig,
    seed: u64,
    heap: SimHeap,
) -> &'static SimApp {
    let stack = spawn_device_stack(spawner, net, seed);
    serve_app::<N, RX, TX>(spawner, stack, config, heap, None)
}

/// The application on a device stack already running, with an upstream link (its URL and
/// its report) when the test runs one on the same stack.
pub fn serve_app<const N: usize, const RX: usize, const TX: usize>(
    spawner: &Spawner,
    stack: DeviceStack,
    config: PortConfig,
    heap: SimHeap,
    link: Option<(&'static str, &'static dyn LinkReport)>,
) -> &'static SimApp {
    serve_app_with::<N, RX, TX>(spawner, stack, config, heap, link, None)
}

/// [`serve_app`] with a password set: `secrets` as a provisioned device holds them.
pub fn serve_app_with<const N: usize, const RX: usize, const TX: usize>(
    spawner: &Spawner,
    stack: DeviceStack,
    config: PortConfig,
    heap: SimHeap,
    link: Option<(&'static str, &'static dyn LinkReport)>,
    secrets: Option<Secrets<'static>>,
) -> &'static SimApp {
    let mut app = None;
    let memory = heap.clone();
    // As the firmware and the PC device stack do: every response, the core's own
    // answers included, carries the application's security headers.
    let mut config = config;
    config.server.headers = portico_app::security::HEADERS;
    serve_with::<N, RX, TX, _, _>(spawner, stack, config, heap, |sockets, buffers| {
        let mut dev = device(sockets, buffers, memory, link);
        dev.secrets = secrets;
        let a: &'static SimApp = Box::leak(Box::new(Provider::new(dev, SITE)));
        app = Some(a);
        (a, a)
    });
    app.expect("serve_with calls make")
}

fn device(
    sockets: &'static SocketPool<'static>,
    buffers: &'static SimPool,
    memory: SimHeap,
    link: Option<(&'static str, &'static dyn LinkReport)>,
) -> SimDevice {
    PortDevice {
        resources: PortResources {
            sockets,
            buffers,
            memory,
        },
        platform: "sim",
        network: Network {
            mode: "simulated",
            address: DEVICE_IP,
        },
        stack_sockets: 64,
        upstream: link.map(|(url, _)| url),
        link: link.map(|(_, report)| report),
        api_delay: portico::time::Duration::ZERO,
        allowed_hosts: HostPolicy::default(),
        secrets: None,
    }
}

pub use portico_testkit::Response;
use portico_testkit::{parse_response, Framing, Parsed};

/// `GET path` on a fresh connection with `Connection: close`; `None` if the connection
/// failed or the answer did not come within `timeout_ms`.
pub async fn get(
    stack: Stack<'static>,
    server: IpEndpoint,
    path: &str,
    timeout_ms: u64,
) -> Option<Response> {
    let req = format!("GET {path} HTTP/1.1\r\nHost: portico.local\r\nConnection: close\r\n\r\n");
    request(stack, server, req.as_bytes(), timeout_ms).await
}

/// Sends `req` (a whole request, which should ask for `Connection: close`) on a fresh
/// connection and parses the answer.
pub async fn request(
    stack: Stack<'static>,
    server: IpEndpoint,
    req: &[u8],
    timeout_ms: u64,
) -> Option<Response> {
    let (mut rx, mut tx) = ([0u8; 4096], [0u8; 1024]);
    let mut s = TcpSocket::new(stack, &mut rx, &mut tx);
    s.set_timeout(Some(Duration::from_millis(timeout_ms)));
    s.connect(server).await.ok()?;
    s.write_all(req).await.ok()?;
    let mut data = Vec::new();
    let mut buf = [0u8; 1024];
    let read_all = async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => data.extend_from_slice(&buf[..n]),
            }
        }
    };
    with_timeout(Duration::from_millis(timeout_ms), read_all)
        .await
        .ok()?;
    s.close();
    parse(&data)
}

/// Reads the first `events` live-updates events from `/api/events`: each event's
/// `data:` payload.
pub async fn read_events(
    stack: Stack<'static>,
    server: IpEndpoint,
    events: usize,
    timeout_ms: u64,
) -> Vec<String> {
    let (mut rx, mut tx) = ([0u8; 4096], [0u8; 1024]);
    let mut s = TcpSocket::new(stack, &mut rx, &mut tx);
    let mut out = Vec::new();
    if s.connect(server).await.is_err() {
        return out;
    }
    let req =
        "GET /api/events HTTP/1.1\r\nHost: portico.local\r\nAccept: text/event-stream\r\n\r\n";
    if s.write_all(req.as_bytes()).await.is_err() {
        return out;
    }
    let mut data = Vec::new();
    let mut buf = [0u8; 1024];
    let read = async {
        while out.len() < events {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => data.extend_from_slice(&buf[..n]),
            }
            let text = String::from_utf8_lossy(&data).into_owned();
            out = text
                .split("\n\n")
                .filter_map(|block| block.lines().find_map(|l| l.strip_prefix("data: ")))
                .map(str::to_owned)
                .collect();
            // The last block may be incomplete.
            if !text.ends_with("\n\n") {
                out.pop();
            }
        }
    };
    let _ = with_timeout(Duration::from_millis(timeout_ms), read).await;
    s.abort();
    let _ = s.flush().await;
    out.truncate(events);
    out
}

/// The whole answer, read up to the close.
fn parse(data: &[u8]) -> Option<Response> {
    let framing = Framing {
        head_request: false,
        eof: true,
    };
    match parse_response(data, framing).ok()? {
        Parsed::Complete(response, _) => Some(response),
        Parsed::Incomplete => None,
    }
}
