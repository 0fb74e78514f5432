//! A hostile WebSocket server on loopback against the real tokio client
//! (`portico_ws::tokio::Client`): for each attack, the client answers with a masked
//! close frame carrying the right code (RFC 6455 §7.4.1), reports it to its handler, and
//! lets go of the TCP connection even if the server never answers — never a hang.
//!
//!     cargo test --manifest-path fuzz/Cargo.toml -p portico-fuzz-harness --test ws_peer

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use portico::placement::sim::SimHeap;
use portico::placement::{MemoryRegions, Region};
use portico_ws::backoff::Reconnect;
use portico_ws::buffers::BufferSizes;
use portico_ws::tokio::{Client, Config, Control};
use portico_ws::Event;
use sha1::Digest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// An unmasked server frame.
fn frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![b0];
    match payload.len() {
        n if n < 126 => v.push(n as u8),
        n if n <= 0xffff => {
            v.push(126);
            v.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            v.push(127);
            v.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    v.extend_from_slice(payload);
    v
}

/// A frame from the client, as the server saw it.
#[derive(Debug)]
struct ClientFrame {
    opcode: u8,
    masked: bool,
    payload: Vec<u8>,
}

/// What the server saw after its attack.
#[derive(Debug)]
struct Seen {
    frames: Vec<ClientFrame>,
    /// The client closed the TCP connection within the deadline.
    eof: bool,
}

impl Seen {
    fn close_code(&self) -> Option<u16> {
        let f = self.frames.iter().find(|f| f.opcode == 8)?;
        (f.payload.len() >= 2).then(|| u16::from_be_bytes([f.payload[0], f.payload[1]]))
    }
}

async fn read_exact_timeout(s: &mut TcpStream, buf: &mut [u8]) -> bool {
    matches!(
        tokio::time::timeout(Duration::from_secs(4), s.read_exact(buf)).await,
        Ok(Ok(_))
    )
}

/// Accepts one client, completes the handshake, sends `attack`, then records the
/// client's frames until it closes the TCP connection (or 4 s pass). It never answers
/// the client's close: the client must give up on its own.
async fn hostile_server(attack: Vec<u8>) -> (String, tokio::task::JoinHandle<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/feed", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        let mut b = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            assert!(
                read_exact_timeout(&mut s, &mut b).await,
                "handshake request"
            );
            head.push(b[0]);
        }
        let head = String::from_utf8(head).unwrap();
        let key = head
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .expect("key")
            .trim()
            .to_string();
        let digest = sha1::Sha1::digest(format!("{key}{GUID}").as_bytes());
        let accept = base64::engine::general_purpose::STANDARD.encode(digest);
        let resp = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {accept}\r\n\r\n"
        );
        s.write_all(resp.as_bytes()).await.unwrap();
        let _ = s.write_all(&attack).await;
        let mut frames = Vec::new();
        let mut eof = false;
        loop {
            let mut h = [0u8; 2];
            match tokio::time::timeout(Duration::from_secs(4), s.read_exact(&mut h)).await {
                Ok(Ok(_)) => {}
                Ok(Err(_)) => {
                    eof = true;
                    break;
                }
                Err(_) => break,
            }
            let masked = h[1] & 0x80 != 0;
            let mut len = u64::from(h[1] & 0x7f);
            if len == 126 {
                let mut e = [0u8; 2];
                if !read_exact_timeout(&mut s, &mut e).await {
                    break;
                }
                len = u64::from(u16::from_be_bytes(e));
            } else if len == 127 {
                let mut e = [0u8; 8];
                if !read_exact_timeout(&mut s, &mut e).await {
                    break;
                }
                len = u64::from_be_bytes(e);
            }
            let mut mask = [0u8; 4];
            if masked && !read_exact_timeout(&mut s, &mut mask).await {
                break;
            }
            let mut payload = vec![0u8; len as usize];
            if !read_exact_timeout(&mut s, &mut payload).await {
                break;
            }
            for (i, p) in payload.iter_mut().enumerate() {
                *p ^= mask[i % 4];
            }
            frames.push(ClientFrame {
                opcode: h[0] & 0x0f,
                masked,
                payload,
            });
        }
        Seen { frames, eof }
    });
    (url, task)
}

type Log = Arc<Mutex<Vec<String>>>;

/// Runs the client against one attack; returns what the server saw and the handler's log.
async fn attack(wire: Vec<u8>, max_message: usize) -> (Seen, Vec<String>, SimHeap) {
    let (url, server) = hostile_server(wire).await;
    let mut config = Config::new(url);
    config.settings.buffers = BufferSizes {
        rx: 1024,
        tx: 1024,
        message_initial: 256,
        max_message,
    };
    config.settings.reconnect = Reconnect {
        enabled: false,
        min_delay_ms: 1000,
        max_delay_ms: 1000,
    };
    config.settings.ping_interval_ms = None;
    config.settings.close_timeout_ms = 1000;
    let heap = SimHeap::new(256 * 1024, 256 * 1024);
    let log: Log = Default::default();
    let l = log.clone();
    let handle = Client::start(config, heap.clone(), move |ev: Event<'_>, _: &Control| {
        let s = match ev {
            Event::Data {
                opcode,
                fin,
                payload,
            } => {
                format!(
                    "data {opcode:?} fin={fin} {:?}",
                    String::from_utf8_lossy(payload)
                )
            }
            other => format!("{other:?}"),
        };
        l.lock().unwrap().push(s);
    })
    .unwrap();
    let seen = tokio::time::timeout(Duration::from_secs(8), server)
        .await
        .expect("the server task hung")
        .unwrap();
    handle
        .stop_and_wait(Duration::from_secs(3))
        .await
        .expect("client did not stop");
    drop(handle);
    let log = log.lock().unwrap().clone();
    (seen, log, heap)
}

fn all_masked(seen: &Seen) {
    for f in &seen.frames {
        assert!(f.masked, "client sent an unmasked frame: {f:?}");
    }
}

async fn expect_close(name: &str, wire: Vec<u8>, max_message: usize, code: u16) {
    let (seen, log, heap) = attack(wire, max_message).await;
    all_masked(&seen);
    assert_eq!(
        seen.close_code(),
        Some(code),
        "{name}: frames {:?}, log {log:?}",
        seen.frames
    );
    assert!(
        seen.eof,
        "{name}: the client kept the TCP connection after its close"
    );
    assert!(
        log.iter()
            .any(|l| l.contains("Protocol") || l.contains("Disconnected")),
        "{name}: handler not told: {log:?}"
    );
    assert!(
        !log.iter().any(|l| l.starts_with("data ")),
        "{name}: the bad data reached the handler: {log:?}"
    );
    for r in [Region::Internal, Region::External] {
        assert_eq!(heap.stats(r).used, 0, "{name}: {r} not released");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_frame_is_closed_with_1009() {
    // A 2 000-byte binary message against a 1 024-byte cap: refused from the header.
    expect_close("oversize", frame(0x82, &[7u8; 2000]), 1024, 1009).await;
    // A header declaring 2^62 bytes: refused before any payload arrives.
    let mut w = vec![0x82, 127];
    w.extend_from_slice(&(1u64 << 62).to_be_bytes());
    expect_close("2^62 declared", w, 1 << 20, 1009).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_frames_are_closed_with_1002() {
    let mut top_bit = vec![0x82, 127];
    top_bit.extend_from_slice(&(1u64 << 63).to_be_bytes());
    let mut long_ping = vec![0x89, 126];
    long_ping.extend_from_slice(&200u16.to_be_bytes());
    long_ping.extend_from_slice(&[0u8; 200]);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("reserved opcode 0x3", frame(0x83, b"x")),
        ("reserved opcode 0x7", frame(0x87, b"")),
        ("reserved control opcode 0xB", frame(0x8B, b"")),
        ("reserved control opcode 0xF", frame(0x8F, b"")),
        ("RSV1 without an extension", frame(0xC1, b"x")),
        ("RSV3", frame(0x91, b"x")),
        ("64-bit length with the top bit set", top_bit),
        ("ping over 125 bytes", long_ping),
        ("fragmented ping", frame(0x09, b"p")),
        ("continuation with nothing to continue", frame(0x80, b"x")),
        (
            "new message inside a fragmented one",
            [frame(0x01, b"a"), frame(0x81, b"b")].concat(),
        ),
        ("close with a one-byte payload", frame(0x88, b"\x03")),
        (
            "close with code 1005 (local only)",
            frame(0x88, &1005u16.to_be_bytes()),
        ),
        (
            "close with code 1006 (local only)",
            frame(0x88, &1006u16.to_be_bytes()),
        ),
        (
            "close with reserved code 999",
            frame(0x88, &999u16.to_be_bytes()),
        ),
        (
            "close with reserved code 2000",
            frame(0x88, &2000u16.to_be_bytes()),
        ),
    ];
    for (name, wire) in cases {
        expect_close(name, wire, 1 << 16, 1002).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn masked_server_frames_are_refused_but_unmasked_ones_are_fine() {
    // RFC 6455 §5.1: "A client MUST close a connection if it detects a masked frame."
    let mask = [0x11u8, 0x22, 0x33, 0x44];
    let mut masked = vec![0x81, 0x80 | 2];
    masked.extend_from_slice(&mask);
    masked.extend(b"hi".iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    expect_close("masked text", masked, 1 << 16, 1002).await;

    // Unmasked server→client frames are the normal case: delivered, no close.
    let (seen, log, _) = attack(
        [frame(0x81, b"hello"), frame(0x82, &[1, 2, 3])].concat(),
        1 << 16,
    )
    .await;
    all_masked(&seen);
    assert!(
        log.iter().any(|l| l == "data Text fin=true \"hello\""),
        "{log:?}"
    );
    assert!(
        log.iter().any(|l| l.starts_with("data Binary fin=true")),
        "{log:?}"
    );
    // The only close is the one `stop` sends: 1000 or 1001, never an error code.
    if let Some(code) = seen.close_code() {
        assert!(code == 1000 || code == 1001, "closed with {code}: {log:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_is_closed_with_1007() {
    let e_acute = "é".as_bytes(); // C3 A9
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("invalid byte", frame(0x81, b"ok\xff")),
        ("truncated sequence at the end", frame(0x81, b"ok\xc3")),
        ("overlong encoding", frame(0x81, b"\xc0\xae")),
        ("surrogate", frame(0x81, b"\xed\xa0\x80")),
        (
            "bad continuation across fragments",
            [frame(0x01, b"a\xc3"), frame(0x80, b"(")].concat(),
        ),
        (
            "close reason not UTF-8",
            frame(0x88, &[0x03, 0xe8, 0xff, 0xfe]),
        ),
    ];
    for (name, wire) in cases {
        expect_close(name, wire, 1 << 16, 1007).await;
    }
    // A code point split across fragments is valid.
    let (seen, log, _) = attack(
        [
            frame(0x01, &[b'x', e_acute[0]]),
            frame(0x80, &[e_acute[1], b'y']),
        ]
        .concat(),
        1 << 16,
    )
    .await;
    assert!(
        log.iter().any(|l| l == "data Text fin=true \"xéy\""),
        "{log:?}"
    );
    if let Some(code) = seen.close_code() {
        assert!(code == 1000 || code == 1001, "closed with {code}: {log:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_close_is_echoed_and_the_connection_released() {
    let mut payload = 4000u16.to_be_bytes().to_vec();
    payload.extend_from_slice("bye ✓".as_bytes());
    let (seen, log, heap) = attack(frame(0x88, &payload), 1 << 16).await;
    all_masked(&seen);
    assert_eq!(
        seen.close_code(),
        Some(4000),
        "echo the peer's code: {log:?}"
    );
    assert!(seen.eof, "TCP not closed after the close handshake");
    assert!(log.iter().any(|l| l.contains("4000")), "{log:?}");
    for r in [Region::Internal, Region::External] {
        assert_eq!(heap.stats(r).used, 0);
    }
}
