//! The event hub and the WebSocket server endpoint on the device port, in the
//! simulation: the same code as on the host (`portico-tokio` tests), over embassy-net
//! sockets, the device's `Env` and a pool of the ESP32-C3 profile's size.
//!
//!     cargo test -p portico-sim --test live

use std::cell::RefCell;
use std::net::Ipv4Addr;
use std::rc::Rc;

use embassy_net::tcp::TcpSocket;
use embassy_net::{IpEndpoint, Stack, StackResources};
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_time::{with_timeout, Duration};
use embedded_io_async::Write;
use portico::http::Status;
use portico::hub::{last_event_id, sse, Hub, Subscriber};
use portico::placement::sim::SimHeap;
use portico::server::{
    Buffers, Env, Exchange, Handler, Reply, ServeError, ServerConfig, Streams, Transport,
};
use portico_embassy::profile::{self, RX, SOCKETS, TX};
use portico_sim::clock;
use portico_sim::device::{spawn_with, static_config, SimPool, DEVICE_IP};
use portico_sim::executor::Executor;
use portico_sim::net::{LinkConfig, Network};
use portico_ws::server::{self as ws, Echo, WsConfig};

type LiveHub = Hub<NoopRawMutex, 4, 128, 4>;

enum Upgrade {
    Sse(Subscriber),
    Ws,
}

struct App {
    hub: &'static LiveHub,
}

impl Handler for App {
    type Upgrade = Upgrade;

    async fn handle<T: Transport, E: Env>(
        &self,
        ex: &mut Exchange<'_, T, E>,
    ) -> Result<Reply<Upgrade>, ServeError<T::Error>> {
        match ex.head().path {
            "/events" => {
                let sub = self.hub.subscribe(last_event_id(ex.head()));
                if sse::start(ex, sse::RETRY).await? {
                    return Ok(Reply::Upgrade(Upgrade::Sse(sub)));
                }
            }
            "/ws" => {
                if ws::accept(ex, &[]).await? {
                    return Ok(Reply::Upgrade(Upgrade::Ws));
                }
            }
            _ => ex.respond_text(Status::NOT_FOUND, "no\n").await?,
        }
        Ok(Reply::Done)
    }
}

impl Streams<Upgrade> for App {
    async fn run<T: Transport, E: Env, B: Buffers>(
        &self,
        u: Upgrade,
        io: &mut T,
        env: &E,
        cfg: &ServerConfig,
        buffers: &B,
    ) {
        match u {
            Upgrade::Sse(sub) => {
                sse::run(self.hub, sub, io, env, cfg, buffers, sse::KEEPALIVE_EVERY).await
            }
            Upgrade::Ws => {
                ws::run(&mut Echo, io, env, cfg, buffers, &WsConfig::default()).await;
            }
        }
    }
}

struct World {
    exec: Executor,
    client: Stack<'static>,
    server: IpEndpoint,
    hub: &'static LiveHub,
    pool: Rc<RefCell<Option<&'static SimPool>>>,
}

fn world(seed: u64) -> World {
    let exec = Executor::new();
    let spawner = exec.spawner();
    let net = Network::new(LinkConfig::lan(), seed);
    let hub: &'static LiveHub = Box::leak(Box::new(LiveHub::new()));
    let pool = Rc::new(RefCell::new(None));
    let p = pool.clone();
    spawn_with::<SOCKETS, RX, TX, _, _>(
        &spawner,
        &net,
        profile::config(),
        seed,
        SimHeap::new(320 * 1024, 0),
        move |_, buffers| {
            *p.borrow_mut() = Some(buffers);
            let app: &'static App = Box::leak(Box::new(App { hub }));
            (app, app)
        },
    );
    let ip = Ipv4Addr::new(10, 0, 0, 10);
    let resources: &'static mut StackResources<8> = Box::leak(Box::new(StackResources::new()));
    let (client, mut runner) =
        embassy_net::new(net.attach(ip), static_config(ip), resources, seed ^ 1);
    spawner.spawn(async move { runner.run().await });
    World {
        exec,
        client,
        server: IpEndpoint::new(DEVICE_IP.into(), 80),
        hub,
        pool,
    }
}

impl World {
    /// Runs `f` on the simulated client to completion (virtual time).
    fn run<T: 'static>(&mut self, f: impl std::future::Future<Output = T> + 'static) -> T {
        self.exec.block_on(60_000, f)
    }
}

/// Opens `/events` (with `Last-Event-ID` when given) and returns the stream's text once
/// it holds `blocks` complete blocks after the head (`retry:` included).
async fn read_stream(
    stack: Stack<'static>,
    server: IpEndpoint,
    last_id: Option<u64>,
    blocks: usize,
    hub: &'static LiveHub,
    publish: &'static [u32],
) -> String {
    let (mut rx, mut tx) = ([0u8; 4096], [0u8; 1024]);
    let mut s = TcpSocket::new(stack, &mut rx, &mut tx);
    s.connect(server).await.expect("connect");
    let mut req = String::from("GET /events HTTP/1.1\r\nHost: portico.local\r\n");
    if let Some(id) = last_id {
        req += &format!("Last-Event-ID: {id}\r\n");
    }
    req += "\r\n";
    s.write_all(req.as_bytes()).await.unwrap();
    let mut data = Vec::new();
    let mut buf = [0u8; 1024];
    let mut published = false;
    let read = async {
        loop {
            let text = String::from_utf8_lossy(&data).into_owned();
            if let Some((_, body)) = text.split_once("\r\n\r\n") {
                if !published {
                    // The stream is up (its head arrived): publish.
                    for n in publish {
                        hub.publish_json("tick", n).unwrap();
                    }
                    published = true;
                }
                if body.matches("\n\n").count() >= blocks {
                    return body.to_string();
                }
            }
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return String::from_utf8_lossy(&data).into_owned(),
                Ok(n) => data.extend_from_slice(&buf[..n]),
            }
        }
    };
    let text = with_timeout(Duration::from_millis(10_000), read)
        .await
        .expect("the stream went silent");
    s.abort();
    let _ = s.flush().await;
    text
}

#[test]
fn a_reconnecting_device_client_gets_exactly_what_it_missed() {
    let mut w = world(21);
    let (c, s, hub) = (w.client, w.server, w.hub);
    let first = w.run(async move { read_stream(c, s, None, 3, hub, &[1, 2]).await });
    assert_eq!(
        first,
        "retry: 2000\n\nid: 1\nevent: tick\ndata: 1\n\nid: 2\nevent: tick\ndata: 2\n\n"
    );
    // Away: three more are published.
    for n in 3..=5u32 {
        hub.publish_json("tick", &n).unwrap();
    }
    let again = w.run(async move { read_stream(c, s, Some(2), 4, hub, &[]).await });
    assert_eq!(
        again,
        "retry: 2000\n\nid: 3\nevent: tick\ndata: 3\n\nid: 4\nevent: tick\ndata: 4\n\nid: 5\nevent: tick\ndata: 5\n\n"
    );
    // Away for longer than the ring (4) holds: the gap is announced and counted.
    for n in 6..=12u32 {
        hub.publish_json("tick", &n).unwrap();
    }
    let gap = w.run(async move { read_stream(c, s, Some(5), 6, hub, &[]).await });
    let mut want = String::from("retry: 2000\n\n: missed 3 events\n\n");
    for id in 9..=12 {
        want += &format!("id: {id}\nevent: tick\ndata: {id}\n\n");
    }
    assert_eq!(gap, want);
    assert!(hub.stats().dropped >= 3);
    let pool = w.pool.borrow().unwrap();
    w.exec.run_until(clock::now() + clock::ms(500), || false);
    assert_eq!(
        pool.stats().leased,
        0,
        "streams hold no buffer while waiting"
    );
}

fn masked(first: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [9u8, 8, 7, 6];
    assert!(payload.len() < 126);
    let mut f = vec![first, 0x80 | payload.len() as u8];
    f.extend(mask);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    f
}

#[test]
fn the_device_echoes_websocket_messages_and_closes_cleanly() {
    let mut w = world(22);
    let (c, s) = (w.client, w.server);
    let got = w.run(async move {
        let (mut rx, mut tx) = ([0u8; 4096], [0u8; 1024]);
        let mut sock = TcpSocket::new(c, &mut rx, &mut tx);
        sock.connect(s).await.expect("connect");
        let req = "GET /ws HTTP/1.1\r\nHost: portico.local\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
        sock.write_all(req.as_bytes()).await.unwrap();
        let mut data = Vec::new();
        let mut buf = [0u8; 512];
        let mut sent = 0;
        let read = async {
            loop {
                match sock.read(&mut buf).await {
                    Ok(0) | Err(_) => return data,
                    Ok(n) => data.extend_from_slice(&buf[..n]),
                }
                let head_end = data.windows(4).position(|w| w == b"\r\n\r\n");
                if let (Some(_), 0) = (head_end, sent) {
                    let mut frames = masked(0x01, b"de"); // fragmented text
                    frames.extend(masked(0x80, "vice ✓".as_bytes()));
                    frames.extend(masked(0x88, &1000u16.to_be_bytes()));
                    sock.write_all(&frames).await.unwrap();
                    sent = 1;
                }
            }
        };
        with_timeout(Duration::from_millis(10_000), read)
            .await
            .expect("the device never closed")
    });
    let text = String::from_utf8_lossy(&got);
    let (head, rest) = text.split_once("\r\n\r\n").unwrap();
    assert!(
        head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{head}"
    );
    assert!(
        head.contains("\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        "{head}"
    );
    let body = &got[head.len() + 4..];
    let echo = "device ✓".as_bytes();
    let mut want = vec![0x81, echo.len() as u8];
    want.extend(echo);
    want.extend([0x88, 0x02, 0x03, 0xe8]);
    assert_eq!(body, &want[..], "{rest:?}");
}
