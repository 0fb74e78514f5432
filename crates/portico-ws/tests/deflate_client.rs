//! permessage-deflate negotiation end to end on loopback, against a scripted server that
//! answers each upgrade with the `Sec-WebSocket-Extensions` line a test chooses: a
//! server that agrees inside the cap, one that insists on a 32 KiB window against a
//! 4 KiB cap, one that declines, one that answers with parameters we did not offer —
//! under `Prefer` (fall back to no compression) and `Require` (a clear error).

mod common;

use std::sync::{Arc, Mutex};

use common::{eventually, has, Log};
use portico::placement::sim::SimHeap;
use portico_ws::compression::CompressionMode;
use portico_ws::deflate::{Inflater, TAIL};
use portico_ws::frame::{decode_header_with, Decoded};
use portico_ws::mask::apply_mask;
use portico_ws::tokio::{Client, Config, Control, Handle};
use portico_ws::{BufferSizes, Event, Reconnect, State};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

/// What the server saw and what it got back from the client.
#[derive(Default)]
struct Seen {
    requests: Vec<String>,
    /// Text the client sent after a compressed "Hello" (inflated if RSV1 was set), with
    /// whether it was compressed.
    echoes: Vec<(bool, String)>,
}

/// A server that answers the n-th upgrade with `answers[n]` (the last one repeats) as
/// its extension line (`None`: no line), then sends RFC 7692 §7.2.3.1's compressed
/// "Hello" if it agreed to compression (plain "Hello" otherwise) and reads one frame.
async fn scripted(answers: Vec<Option<&'static str>>) -> (String, Arc<Mutex<Seen>>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", l.local_addr().unwrap());
    let seen: Arc<Mutex<Seen>> = Default::default();
    let s = seen.clone();
    tokio::spawn(async move {
        let mut n = 0;
        loop {
            let Ok((sock, _)) = l.accept().await else {
                return;
            };
            let answer = answers[n.min(answers.len() - 1)];
            n += 1;
            tokio::spawn(serve(sock, answer, s.clone()));
        }
    });
    (url, seen)
}

async fn serve(mut sock: TcpStream, answer: Option<&'static str>, seen: Arc<Mutex<Seen>>) {
    let mut buf = Vec::new();
    let mut b = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let Ok(n) = sock.read(&mut b).await else {
            return;
        };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&b[..n]);
    }
    let req = String::from_utf8_lossy(&buf).into_owned();
    let key = req
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .unwrap()
        .trim()
        .to_string();
    seen.lock().unwrap().requests.push(req);
    let mut resp = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n",
        derive_accept_key(key.as_bytes())
    );
    if let Some(a) = answer {
        resp.push_str(&format!("Sec-WebSocket-Extensions: {a}\r\n"));
    }
    resp.push_str("\r\n");
    let hello: &[u8] = if answer.is_some() {
        &[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]
    } else {
        b"\x81\x05Hello"
    };
    if sock.write_all(resp.as_bytes()).await.is_err() || sock.write_all(hello).await.is_err() {
        return;
    }
    // One frame back from the client (its echo).
    let mut buf = Vec::new();
    let (h, start) = loop {
        let Ok(n) = sock.read(&mut b).await else {
            return;
        };
        if n == 0 {
            return; // the client refused the answer and hung up
        }
        buf.extend_from_slice(&b[..n]);
        if let Ok(Decoded::Complete { value, consumed }) = decode_header_with(&buf, true) {
            if buf.len() >= consumed + value.payload_len as usize {
                break (value, consumed);
            }
        }
    };
    let mut payload = buf[start..start + h.payload_len as usize].to_vec();
    apply_mask(&mut payload, h.mask.unwrap(), 0);
    let text = if h.rsv1 {
        let mut inf = Inflater::new(false);
        let mut window = vec![0u8; 1 << 15];
        inf.begin_message();
        payload.extend_from_slice(&TAIL);
        let s = inf.step(&payload, &mut window);
        assert!(!s.failed);
        window[s.output].to_vec()
    } else {
        payload
    };
    seen.lock()
        .unwrap()
        .echoes
        .push((h.rsv1, String::from_utf8(text).unwrap()));
    // Keep the connection open until the client goes.
    let _ = sock.read(&mut b).await;
}

fn start(url: &str, mode: CompressionMode, cap: usize) -> (Handle, Log) {
    let mut c = Config::new(url);
    c.settings.reconnect = Reconnect {
        enabled: true,
        min_delay_ms: 10,
        max_delay_ms: 20,
    };
    c.settings.ping_interval_ms = None;
    c.settings.buffers = BufferSizes {
        rx: 1024,
        tx: 1024,
        message_initial: 256,
        max_message: 1 << 16,
    };
    c.settings.compression.mode = mode;
    c.settings.compression.max_memory = cap;
    c.settings.compression.min_size = 0;
    let log: Log = Default::default();
    let l = log.clone();
    let h = Client::start(
        c,
        SimHeap::new(1 << 20, 0),
        move |ev: Event<'_>, ctl: &Control| {
            if let Event::Data { payload, .. } = ev {
                let _ = ctl.try_send_binary(payload);
            }
            l.lock().unwrap().push(format!("{ev:?}"));
        },
    )
    .unwrap();
    (h, log)
}

fn blocks(h: &Handle) -> Vec<(&'static str, usize)> {
    h.memory_report()
        .iter()
        .map(|b| (b.block, b.bytes))
        .collect()
}

const OFFER_4K: &str = "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; \
                        client_max_window_bits; server_max_window_bits=11\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_agreeing_inside_a_4k_cap_gets_compression_in_4k() {
    let (url, seen) = scripted(vec![Some("permessage-deflate; server_max_window_bits=11")]).await;
    let (h, _) = start(&url, CompressionMode::Prefer, 4096);
    assert!(eventually(5, || !seen.lock().unwrap().echoes.is_empty()).await);
    let s = seen.lock().unwrap();
    assert!(s.requests[0].contains(OFFER_4K), "{}", s.requests[0]);
    assert_eq!(s.echoes, vec![(true, "Hello".to_string())]);
    let b = blocks(&h);
    assert!(
        b.contains(&("inflate_window", 2048)) && b.contains(&("deflate_hash", 2048)),
        "{b:?}"
    );
    let placed: usize = b
        .iter()
        .filter(|(n, _)| n.starts_with("inflate_w") || n.starts_with("deflate"))
        .map(|(_, n)| n)
        .sum();
    assert!(placed <= 4096);
    h.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_insisting_on_32k_against_a_4k_cap_gets_no_compression() {
    // No server_max_window_bits in the answer means a 32 KiB window; so does =15.
    for answer in [
        "permessage-deflate",
        "permessage-deflate; server_max_window_bits=15",
    ] {
        let (url, seen) = scripted(vec![Some(answer), None]).await;
        let (h, _) = start(&url, CompressionMode::Prefer, 4096);
        assert!(
            eventually(5, || !seen.lock().unwrap().echoes.is_empty()).await,
            "{answer}"
        );
        let s = seen.lock().unwrap();
        // Refused, then at once again without the offer: uncompressed, no codec blocks.
        assert!(s.requests[0].contains(OFFER_4K));
        assert!(
            !s.requests[1].contains("Sec-WebSocket-Extensions"),
            "{}",
            s.requests[1]
        );
        assert_eq!(s.echoes, vec![(false, "Hello".to_string())]);
        assert!(
            !blocks(&h).iter().any(|(n, _)| n.contains("flate")),
            "{:?}",
            blocks(&h)
        );
        h.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_rfc_7692_forbids_fail_the_handshake() {
    for answer in [
        "permessage-deflate; server_max_window_bits=11; x-unknown",
        "permessage-deflate; server_max_window_bits=11; server_max_window_bits=11",
        "permessage-deflate; server_max_window_bits=11, permessage-deflate; server_max_window_bits=11",
        "x-webkit-deflate-frame",
        "permessage-deflate; server_max_window_bits=7",
    ] {
        // Required: the attempt fails with the reason, and no data ever flows.
        let (url, seen) = scripted(vec![Some(answer)]).await;
        let (h, log) = start(&url, CompressionMode::Require, 4096);
        assert!(eventually(5, || seen.lock().unwrap().requests.len() >= 2).await);
        assert!(h.state() != State::Connected);
        assert!(seen.lock().unwrap().echoes.is_empty(), "{answer}");
        let errors = log.lock().unwrap().iter().filter(|l| l.contains("Handshake(Extension")).count();
        assert!(errors >= 1, "{answer}: {:?}", log.lock().unwrap());
        h.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_declining_is_fine_unless_compression_is_required() {
    let (url, seen) = scripted(vec![None]).await;
    let (h, _) = start(&url, CompressionMode::Prefer, 4096);
    assert!(eventually(5, || !seen.lock().unwrap().echoes.is_empty()).await);
    assert_eq!(
        seen.lock().unwrap().echoes,
        vec![(false, "Hello".to_string())]
    );
    assert_eq!(seen.lock().unwrap().requests.len(), 1);
    h.stop();

    let (url, seen) = scripted(vec![None]).await;
    let (h, log) = start(&url, CompressionMode::Require, 4096);
    assert!(eventually(5, || has(&log, "CompressionRequired")).await);
    assert!(seen.lock().unwrap().echoes.is_empty());
    h.stop();

    // A cap too small for any window cannot offer: required fails before any request.
    let (url, seen) = scripted(vec![None]).await;
    let (h, log) = start(&url, CompressionMode::Require, 512);
    assert!(eventually(5, || has(&log, "CompressionRequired")).await);
    assert!(seen.lock().unwrap().requests.is_empty());
    h.stop();
}
