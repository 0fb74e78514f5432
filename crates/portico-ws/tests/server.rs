//! The WebSocket server endpoint end to end on the host port (portico-tokio), against an
//! independent client (tokio-tungstenite) and against raw bytes for what a well-behaved
//! client never sends.
//!
//!     cargo test -p portico-ws --test server

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use futures_util::{SinkExt, StreamExt};
use portico::conn::ConnState;
use portico::http::Status;
use portico::hub::{Hub, Next, Subscriber};
use portico::server::{
    Buffers, Env, Exchange, Handler, Reply, ServeError, ServerConfig, Streams, Transport,
};
use portico_tokio::{Server, ServerOptions, Shared};
use portico_ws::close::CloseCode;
use portico_ws::server::{self, Echo, End, Message, SendError, Sender, WsConfig, WsHandler};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode as TCode, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message as TMessage;

const CHUNK: usize = 4096;
const OP_TIMEOUT: Duration = Duration::from_secs(10);

/// Pushes every event published on the hub to its client, unasked, as a text message
/// `"<id> <name> <data>"`; echoes what the client sends, but "close" closes with 4000.
struct Feed {
    hub: Rc<FeedHub>,
    sub: Subscriber,
}

type FeedHub = Hub<NoopRawMutex, 8, 64, 4>;

impl WsHandler for Feed {
    async fn message<T: Transport, E: Env>(
        &mut self,
        msg: Message<'_>,
        out: &mut Sender<'_, T, E>,
    ) -> Result<(), SendError<T::Error>> {
        match msg {
            Message::Text("close") => out.close(CloseCode(4000), "asked to").await,
            msg => Echo.message(msg, out).await,
        }
    }

    async fn wake(&mut self) {
        self.hub.ready(&self.sub).await
    }

    async fn push<T: Transport, E: Env>(
        &mut self,
        out: &mut Sender<'_, T, E>,
    ) -> Result<(), SendError<T::Error>> {
        loop {
            let mut text = String::new();
            match self.hub.next(&mut self.sub, |e| {
                text = format!("{} {} {}", e.id, e.name, String::from_utf8_lossy(e.data));
                true
            }) {
                Next::Empty => return Ok(()),
                Next::Missed(n) => out.text(&format!("missed {n}")).await?,
                Next::Event(_) => out.text(&text).await?,
            }
        }
    }
}

struct App {
    ends: Rc<RefCell<Vec<End>>>,
    ws: WsConfig,
    hub: Rc<FeedHub>,
}

impl Handler for App {
    type Upgrade = ();

    async fn handle<T: Transport, E: Env>(
        &self,
        ex: &mut Exchange<'_, T, E>,
    ) -> Result<Reply<()>, ServeError<T::Error>> {
        if ex.head().path != "/ws" {
            ex.respond_text(Status::NOT_FOUND, "no\n").await?;
            return Ok(Reply::Done);
        }
        if server::accept(ex, &["echo.v1"]).await? {
            return Ok(Reply::Upgrade(()));
        }
        Ok(Reply::Done)
    }
}

impl Streams<()> for App {
    async fn run<T: Transport, E: Env, B: Buffers>(
        &self,
        _: (),
        io: &mut T,
        env: &E,
        cfg: &ServerConfig,
        buffers: &B,
    ) {
        let mut feed = Feed {
            hub: self.hub.clone(),
            sub: self.hub.subscribe(None),
        };
        let end = server::run(&mut feed, io, env, cfg, buffers, &self.ws).await;
        self.ends.borrow_mut().push(end);
    }
}

fn options() -> ServerOptions {
    ServerOptions::with_pool(4, CHUNK, 1 << 20)
}

async fn start() -> (SocketAddr, Rc<Shared>, Rc<RefCell<Vec<End>>>) {
    start_with(WsConfig::default(), Rc::new(FeedHub::new())).await
}

async fn start_with(
    ws: WsConfig,
    hub: Rc<FeedHub>,
) -> (SocketAddr, Rc<Shared>, Rc<RefCell<Vec<End>>>) {
    let listener = portico_tokio::listen("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    let ends = Rc::new(RefCell::new(Vec::new()));
    let e = ends.clone();
    let server = Server::new(options(), move |_| App { ends: e, ws, hub });
    let shared = server.shared().clone();
    tokio::task::spawn_local(server.run(listener));
    (addr, shared, ends)
}

async fn local<F: std::future::Future>(f: F) -> F::Output {
    tokio::task::LocalSet::new().run_until(f).await
}

async fn ended(ends: &RefCell<Vec<End>>, n: usize) -> Vec<End> {
    tokio::time::timeout(OP_TIMEOUT, async {
        while ends.borrow().len() < n {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
    .expect("the server's side did not end");
    ends.borrow().clone()
}

#[tokio::test(flavor = "current_thread")]
async fn echoes_text_binary_and_fragmented_messages_then_closes_cleanly() {
    local(async {
        let (addr, shared, ends) = start().await;
        let req = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
            format!("ws://{addr}/ws"),
        )
        .unwrap();
        let mut req = req;
        req.headers_mut()
            .insert("Sec-WebSocket-Protocol", "other, echo.v1".parse().unwrap());
        let (mut ws, resp) = tokio_tungstenite::connect_async(req).await.unwrap();
        assert_eq!(resp.status(), 101);
        assert_eq!(resp.headers()["sec-websocket-protocol"], "echo.v1");
        // At rest between messages the connection holds no pool buffer, and the
        // connection table sees a stream (evicted last).
        assert_eq!(shared.pool.stats().leased, 0);
        assert_eq!(shared.table.borrow().count(ConnState::Stream), 1);

        ws.send(TMessage::text("héllo")).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), TMessage::text("héllo"));
        let blob: Vec<u8> = (0..3000u32).map(|i| (i * 31 % 256) as u8).collect();
        ws.send(TMessage::binary(blob.clone())).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), TMessage::binary(blob));

        // A text message in three fragments, a ping between two of them.
        let parts = ["frag", "ment", "ed ✓"];
        ws.send(TMessage::Frame(Frame::message(
            parts[0],
            OpCode::Data(Data::Text),
            false,
        )))
        .await
        .unwrap();
        ws.send(TMessage::Frame(Frame::message(
            parts[1],
            OpCode::Data(Data::Continue),
            false,
        )))
        .await
        .unwrap();
        ws.send(TMessage::Ping(b"mid".to_vec().into()))
            .await
            .unwrap();
        ws.send(TMessage::Frame(Frame::message(
            parts[2],
            OpCode::Data(Data::Continue),
            true,
        )))
        .await
        .unwrap();
        assert_eq!(
            ws.next().await.unwrap().unwrap(),
            TMessage::Pong(b"mid".to_vec().into())
        );
        assert_eq!(
            ws.next().await.unwrap().unwrap(),
            TMessage::text(parts.concat())
        );

        // The client closes; the server echoes the code and ends.
        ws.close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
            code: TCode::Normal,
            reason: "bye".into(),
        }))
        .await
        .unwrap();
        match ws.next().await {
            Some(Ok(TMessage::Close(Some(f)))) => assert_eq!(f.code, TCode::Normal),
            other => panic!("{other:?}"),
        }
        assert_eq!(ended(&ends, 1).await, [End::Closed(CloseCode::NORMAL)]);
        assert_eq!(shared.pool.stats().leased, 0);
    })
    .await
}

#[tokio::test(flavor = "current_thread")]
async fn the_application_closes_and_the_client_answers() {
    local(async {
        let (addr, _, ends) = start().await;
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
            .await
            .unwrap();
        ws.send(TMessage::text("close")).await.unwrap();
        match ws.next().await {
            Some(Ok(TMessage::Close(Some(f)))) => {
                assert_eq!((u16::from(f.code), f.reason.as_str()), (4000, "asked to"))
            }
            other => panic!("{other:?}"),
        }
        // tungstenite answers the close by itself; the server then ends.
        while let Some(Ok(_)) = ws.next().await {}
        assert_eq!(ended(&ends, 1).await, [End::Closed(CloseCode(4000))]);
    })
    .await
}

// ---- Raw bytes: what only a broken client sends. ----

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

async fn handshake(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let head = read_head(&mut s).await;
    assert!(
        head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{head}"
    );
    assert!(
        head.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
        "{head}"
    );
    assert!(head.contains("Upgrade: websocket\r\n"), "{head}");
    // The connection is the WebSocket's now: no keep-alive timeout, no `close`.
    assert!(!head.contains("Keep-Alive"), "{head}");
    assert!(!head.contains("Connection: close"), "{head}");
    s
}

async fn read_head(s: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(OP_TIMEOUT, s.read(&mut b))
            .await
            .unwrap()
            .unwrap();
        assert!(
            n > 0,
            "closed in the head: {:?}",
            String::from_utf8_lossy(&head)
        );
        head.push(b[0]);
    }
    String::from_utf8(head).unwrap()
}

/// Reads one (unmasked) server frame: opcode and payload.
async fn read_frame(s: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut h = [0u8; 2];
    tokio::time::timeout(OP_TIMEOUT, s.read_exact(&mut h))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(h[1] & 0x80, 0, "a server frame must not be masked");
    let len = match h[1] & 0x7f {
        126 => {
            let mut l = [0u8; 2];
            s.read_exact(&mut l).await.unwrap();
            u16::from_be_bytes(l) as usize
        }
        127 => panic!("unexpected 64-bit length"),
        n => n as usize,
    };
    let mut p = vec![0u8; len];
    s.read_exact(&mut p).await.unwrap();
    (h[0], p)
}

fn masked(first: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [1u8, 2, 3, 4];
    let mut f = vec![first];
    match payload.len() {
        n if n < 126 => f.push(0x80 | n as u8),
        n => {
            f.push(0x80 | 126);
            f.extend((n as u16).to_be_bytes());
        }
    }
    f.extend(mask);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    f
}

async fn expect_close(s: &mut TcpStream, code: u16) {
    let (op, p) = read_frame(s).await;
    assert_eq!(op, 0x88);
    assert_eq!(u16::from_be_bytes([p[0], p[1]]), code);
}

#[tokio::test(flavor = "current_thread")]
async fn protocol_violations_get_their_close_codes() {
    local(async {
        let (addr, shared, ends) = start().await;
        // Unmasked: 1002.
        let mut s = handshake(addr).await;
        s.write_all(&[0x81, 0x02, b'h', b'i']).await.unwrap();
        expect_close(&mut s, 1002).await;
        // Invalid UTF-8: 1007.
        let mut s = handshake(addr).await;
        s.write_all(&masked(0x81, b"ok\xc3\x28")).await.unwrap();
        expect_close(&mut s, 1007).await;
        // Over the message limit (4 KiB buffer less 1 KiB receive space): 1009 from
        // the header alone.
        let mut s = handshake(addr).await;
        let big = masked(0x82, &vec![0u8; CHUNK]);
        s.write_all(&big[..8]).await.unwrap();
        expect_close(&mut s, 1009).await;
        // Ping → pong with the same payload, then an empty close is echoed empty.
        let mut s = handshake(addr).await;
        s.write_all(&masked(0x89, b"are you there")).await.unwrap();
        assert_eq!(read_frame(&mut s).await, (0x8a, b"are you there".to_vec()));
        s.write_all(&masked(0x88, b"")).await.unwrap();
        assert_eq!(read_frame(&mut s).await, (0x88, vec![]));
        let mut rest = Vec::new();
        let n = tokio::time::timeout(OP_TIMEOUT, s.read_to_end(&mut rest))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(n, 0, "the server closes the TCP connection after the close");
        // (In the order they ended: the broken clients above keep their sockets open,
        // so those connections wait out the close deadline.)
        let ends = ended(&ends, 4).await;
        use portico_ws::connection::ProtocolError::*;
        for want in [
            End::Protocol(UnmaskedFrame),
            End::Protocol(InvalidUtf8),
            End::Protocol(MessageTooBig),
            End::Closed(CloseCode::NO_STATUS),
        ] {
            assert!(ends.contains(&want), "{want:?} not in {ends:?}");
        }
        assert_eq!(shared.pool.stats().leased, 0);
    })
    .await
}

#[tokio::test(flavor = "current_thread")]
async fn a_request_that_is_not_an_upgrade_is_told_so() {
    local(async {
        let (addr, _, _) = start().await;
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        let head = read_head(&mut s).await;
        assert!(head.starts_with("HTTP/1.1 426 "), "{head}");
        assert!(head.contains("Upgrade: websocket\r\n"), "{head}");
        assert!(head.contains("Sec-WebSocket-Version: 13\r\n"), "{head}");
        let mut s = TcpStream::connect(addr).await.unwrap();
        let req = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n";
        s.write_all(req.as_bytes()).await.unwrap();
        let head = read_head(&mut s).await;
        assert!(head.starts_with("HTTP/1.1 400 "), "{head}");
    })
    .await
}

#[tokio::test(flavor = "current_thread")]
async fn a_quiet_client_is_pinged_and_closed_when_it_does_not_answer() {
    local(async {
        let ws = WsConfig {
            ping_after: portico::time::Duration::from_millis(50),
            pong_timeout: portico::time::Duration::from_millis(50),
            ..WsConfig::default()
        };
        let (addr, _, ends) = start_with(ws, Rc::new(FeedHub::new())).await;
        // A client that does not answer: a ping, then a close with 1001.
        let mut quiet = handshake(addr).await;
        assert_eq!(read_frame(&mut quiet).await.0, 0x89);
        expect_close(&mut quiet, 1001).await;
        assert_eq!(ended(&ends, 1).await, [End::Unresponsive]);
        // One that answers each ping stays connected, pinged again whenever quiet.
        let mut s = handshake(addr).await;
        for _ in 0..4 {
            let (op, p) = read_frame(&mut s).await;
            assert_eq!(op, 0x89);
            s.write_all(&masked(0x8a, &p)).await.unwrap();
        }
        assert_eq!(ends.borrow().len(), 1);
    })
    .await
}

#[tokio::test(flavor = "current_thread")]
async fn the_application_pushes_unasked_between_the_clients_messages() {
    local(async {
        let hub = Rc::new(FeedHub::new());
        let (addr, shared, _) = start_with(WsConfig::default(), hub.clone()).await;
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
            .await
            .unwrap();
        // A round trip first, so the server side is surely subscribed.
        ws.send(TMessage::text("hi")).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), TMessage::text("hi"));
        hub.publish_json("settings", &7u8).unwrap();
        hub.publish_json("settings", &8u8).unwrap();
        assert_eq!(
            ws.next().await.unwrap().unwrap(),
            TMessage::text("1 settings 7")
        );
        assert_eq!(
            ws.next().await.unwrap().unwrap(),
            TMessage::text("2 settings 8")
        );
        // Pushing needs no pool buffer.
        assert_eq!(shared.pool.stats().high_water, 1);
        ws.send(TMessage::text("still echoing")).await.unwrap();
        assert_eq!(
            ws.next().await.unwrap().unwrap(),
            TMessage::text("still echoing")
        );
    })
    .await
}
