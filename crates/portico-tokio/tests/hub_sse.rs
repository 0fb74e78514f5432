//! The event hub end to end on the host port: a real SSE client over loopback reads
//! events, leaves, comes back with `Last-Event-ID` and gets exactly what it missed; a
//! client that stops reading while far more than the ring holds is published costs the
//! publisher nothing, and is told how many events it lost.
//!
//!     cargo test -p portico-tokio --test hub_sse

use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use portico::conn::ConnState;
use portico::http::Status;
use portico::hub::{last_event_id, sse, Hub, Subscriber};
use portico::server::{
    Buffers, Env, Exchange, Handler, Reply, ServeError, ServerConfig, Streams, Transport,
};
use portico_tokio::{Server, ServerOptions, Shared};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const RING: usize = 8;
const SLOT: usize = 1024;
type AppHub = Hub<NoopRawMutex, RING, SLOT, 4>;

/// Every client read is bounded: exceeding this is a hang.
const OP_TIMEOUT: Duration = Duration::from_secs(10);

struct App {
    hub: Rc<AppHub>,
}

impl Handler for App {
    type Upgrade = Subscriber;

    async fn handle<T: Transport, E: Env>(
        &self,
        ex: &mut Exchange<'_, T, E>,
    ) -> Result<Reply<Subscriber>, ServeError<T::Error>> {
        if ex.head().path != "/events" {
            ex.respond_text(Status::NOT_FOUND, "no\n").await?;
            return Ok(Reply::Done);
        }
        // Subscribed before the head goes out: nothing published meanwhile is lost.
        let sub = self.hub.subscribe(last_event_id(ex.head()));
        if sse::start(ex, sse::RETRY).await? {
            return Ok(Reply::Upgrade(sub));
        }
        Ok(Reply::Done)
    }
}

impl Streams<Subscriber> for App {
    async fn run<T: Transport, E: Env, B: Buffers>(
        &self,
        sub: Subscriber,
        io: &mut T,
        env: &E,
        cfg: &ServerConfig,
        buffers: &B,
    ) {
        sse::run(&*self.hub, sub, io, env, cfg, buffers, sse::KEEPALIVE_EVERY).await
    }
}

fn options() -> ServerOptions {
    ServerOptions::with_pool(8, 4096, 1 << 20)
}

/// Starts the server on loopback; returns its address, the hub and the port's state.
async fn start() -> (SocketAddr, Rc<AppHub>, Rc<Shared>) {
    let hub = Rc::new(AppHub::new());
    let listener = portico_tokio::listen("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    let h = hub.clone();
    let server = Server::new(options(), move |_| App { hub: h });
    let shared = server.shared().clone();
    tokio::task::spawn_local(server.run(listener));
    (addr, hub, shared)
}

/// One block of the stream, as an `EventSource` would see it (comments kept).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Block {
    Event { id: u64, name: String, data: String },
    Comment(String),
    Retry(u64),
}

/// A minimal SSE client over a plain socket.
struct Client {
    s: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    async fn connect(addr: SocketAddr, last_id: Option<u64>) -> Client {
        Self::over(TcpStream::connect(addr).await.unwrap(), last_id).await
    }

    async fn over(mut s: TcpStream, last_id: Option<u64>) -> Client {
        let mut req = String::from(
            "GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n",
        );
        if let Some(id) = last_id {
            req += &format!("Last-Event-ID: {id}\r\n");
        }
        req += "\r\n";
        s.write_all(req.as_bytes()).await.unwrap();
        let mut c = Client { s, buf: Vec::new() };
        let head = c.until(b"\r\n\r\n").await;
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        assert!(
            head.contains("Content-Type: text/event-stream\r\n"),
            "{head}"
        );
        assert!(head.contains("Cache-Control: no-cache\r\n"), "{head}");
        assert!(head.contains("X-Accel-Buffering: no\r\n"), "{head}");
        assert_eq!(c.next().await, Block::Retry(sse::RETRY.as_millis()));
        c
    }

    async fn until(&mut self, end: &[u8]) -> String {
        loop {
            if let Some(i) = self.buf.windows(end.len()).position(|w| w == end) {
                let text = String::from_utf8(self.buf[..i + end.len()].to_vec()).unwrap();
                self.buf.drain(..i + end.len());
                return text;
            }
            let mut tmp = [0u8; 8192];
            let n = tokio::time::timeout(OP_TIMEOUT, self.s.read(&mut tmp))
                .await
                .expect("the stream went silent")
                .unwrap();
            assert!(n > 0, "the server closed the stream");
            self.buf.extend_from_slice(&tmp[..n]);
        }
    }

    /// The next block, skipping keep-alive comments.
    async fn next(&mut self) -> Block {
        loop {
            let text = self.until(b"\n\n").await;
            let (mut id, mut name, mut data, mut comment, mut retry) =
                (None, String::new(), Vec::new(), None, None);
            for line in text.lines().filter(|l| !l.is_empty()) {
                if let Some(c) = line.strip_prefix(": ") {
                    comment = Some(c.to_string());
                } else if let Some(v) = line.strip_prefix("id: ") {
                    id = Some(v.parse().unwrap());
                } else if let Some(v) = line.strip_prefix("event: ") {
                    name = v.to_string();
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data.push(v);
                } else if let Some(v) = line.strip_prefix("retry: ") {
                    retry = Some(v.parse().unwrap());
                } else {
                    panic!("unexpected line {line:?}");
                }
            }
            match (id, comment, retry) {
                (Some(id), _, _) => {
                    return Block::Event {
                        id,
                        name,
                        data: data.join("\n"),
                    }
                }
                (_, Some(c), _) if c == "keep-alive" => continue,
                (_, Some(c), _) => return Block::Comment(c),
                (_, _, Some(r)) => return Block::Retry(r),
                _ => panic!("empty block {text:?}"),
            }
        }
    }
}

fn event(id: u64, data: &str) -> Block {
    Block::Event {
        id,
        name: "settings".into(),
        data: data.into(),
    }
}

fn publish(hub: &AppHub, n: u32) -> u64 {
    hub.publish_json("settings", &n).unwrap()
}

/// Closes the client and waits until the server's stream has noticed (its subscriber
/// count drops), so that the next events find no stale subscriber.
async fn leave(c: Client, hub: &AppHub) {
    drop(c);
    tokio::time::timeout(OP_TIMEOUT, async {
        while hub.stats().subscribers > 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("the stream outlived its client");
}

async fn local<F: std::future::Future>(f: F) -> F::Output {
    tokio::task::LocalSet::new().run_until(f).await
}

#[tokio::test(flavor = "current_thread")]
async fn a_reconnecting_client_gets_exactly_the_events_it_missed() {
    local(async {
        let (addr, hub, shared) = start().await;
        let mut c = Client::connect(addr, None).await;
        assert_eq!(hub.stats().subscribers, 1);
        // A stream to the table (evicted last), holding no pool buffer while it waits.
        assert_eq!(shared.table.borrow().count(ConnState::Stream), 1);
        assert_eq!(shared.pool.stats().leased, 0);
        for n in 1..=3 {
            publish(&hub, n);
        }
        for id in 1..=3 {
            assert_eq!(c.next().await, event(id, &id.to_string()));
        }
        leave(c, &hub).await;
        // Published while the client is away.
        for n in 4..=6 {
            publish(&hub, n);
        }
        let mut c = Client::connect(addr, Some(3)).await;
        for id in 4..=6 {
            assert_eq!(c.next().await, event(id, &id.to_string()));
        }
        // Nothing more was replayed: the next block is the next event published.
        publish(&hub, 7);
        assert_eq!(c.next().await, event(7, "7"));
        assert_eq!(hub.stats().dropped, 0);

        // Away for longer than the ring holds: the gap is announced and counted.
        leave(c, &hub).await;
        for n in 8..=20 {
            publish(&hub, n);
        }
        let mut c = Client::connect(addr, Some(7)).await;
        let first = 20 - RING as u64 + 1;
        assert_eq!(
            c.next().await,
            Block::Comment(format!("missed {} events", first - 8))
        );
        for id in first..=20 {
            assert_eq!(c.next().await, event(id, &id.to_string()));
        }
        assert_eq!(hub.stats().dropped, first - 8);

        // An id this hub never issued (from before a restart): only new events.
        leave(c, &hub).await;
        let mut c = Client::connect(addr, Some(1_000)).await;
        publish(&hub, 21);
        assert_eq!(c.next().await, event(21, "21"));
    })
    .await
}

#[tokio::test(flavor = "current_thread")]
async fn a_client_that_stops_reading_never_blocks_the_publisher_and_is_told_what_it_lost() {
    local(async {
        let (addr, hub, _) = start().await;
        // A small receive window, so the socket fills quickly.
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        sock.set_recv_buffer_size(4096).unwrap();
        let s = sock.connect(addr).await.unwrap();
        let mut c = Client::over(s, None).await;
        // ~1 KB events, many times what the ring holds and more than the kernel buffers
        // can take (the send buffer grows to 4 MiB at most): the stream gets stuck in a
        // write while the publisher goes on, yielding so that the stream may run.
        let pad = "x".repeat(SLOT - 40);
        let total: u64 = 10 * RING as u64 * 200;
        for n in 0..total {
            let id = hub.publish_json("settings", &(n, pad.as_str())).unwrap();
            assert_eq!(id, n + 1, "every publication succeeds at once");
            if n % 16 == 0 {
                tokio::task::yield_now().await;
            }
        }
        // Now read everything: every id is either received or counted in a gap.
        let (mut received, mut missed, mut last) = (0u64, 0u64, 0u64);
        while last < total {
            match c.next().await {
                Block::Event { id, .. } => {
                    assert!(id > last, "{id} after {last}");
                    received += 1;
                    last = id;
                }
                Block::Comment(text) => {
                    let n: u64 = text
                        .strip_prefix("missed ")
                        .and_then(|t| t.strip_suffix(" events"))
                        .unwrap()
                        .parse()
                        .unwrap();
                    missed += n;
                }
                b => panic!("{b:?}"),
            }
        }
        assert!(
            missed > 0,
            "the client lagged past the ring: it must have lost events"
        );
        assert_eq!(received + missed, total);
        assert_eq!(hub.stats().dropped, missed);
        eprintln!("published {total}, received {received}, missed {missed}");
    })
    .await
}
