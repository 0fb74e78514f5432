//! permessage-deflate benchmark: bytes on the wire, round trips per second and memory,
//! with and without compression, for a status document and 16 KiB of text.
//!
//! Peers, both on loopback: tokio-tungstenite's server side in this process
//! (uncompressed: it has no permessage-deflate), and Python `websockets`
//! (`tests/ws_server.py`, zlib, context takeover) run with the interpreter in
//! `$WS_PYTHON` (the venv `scripts/test-ws.sh` creates). Each client sends a text
//! message and waits for its echo before the next. Wire bytes are counted by a TCP
//! relay in this process on a separate pass (so the relay's hops do not slow the timed
//! one), both directions, frame headers included, handshake excluded. A Python
//! `websockets` client against the same Python server gives zlib's own figures.
//!
//! Usage: `WS_PYTHON=… cargo run --release -p portico-ws --example ws_deflate_bench
//!         [-- ITERATIONS [STATUS_JSON]]`

mod bench;

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bench::{Echoing, Payload};
use futures_util::{SinkExt, StreamExt};
use portico_testkit::{spawn_announcing, ws_echo};
use portico_ws::tokio::Config;
use portico_ws::{BufferSizes, CompressionMode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;

/// tokio-tungstenite's server side, echoing (the test kit's, shared with the tests).
async fn tungstenite_server() -> String {
    format!(
        "ws://{}/",
        ws_echo::start(ws_echo::Options::default()).await
    )
}

struct Python(Child);

impl Drop for Python {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn python_server() -> (Python, String) {
    let py = std::env::var("WS_PYTHON").expect("WS_PYTHON: a Python with `websockets`");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ws_server.py");
    // Its stderr is dropped: it logs every connection the benchmark ends with `stop()`
    // (no closing handshake).
    let (child, line) =
        spawn_announcing(Command::new(py).arg(script).stderr(Stdio::null())).unwrap();
    let port: u16 = line.strip_prefix("PORT ").unwrap().parse().unwrap();
    (Python(child), format!("ws://127.0.0.1:{port}/echo"))
}

/// A TCP relay in front of `url` that counts the bytes crossing it after the first
/// `\r\n\r\n` each way (the handshake). Returns the relay's URL and the counter.
async fn counting_relay(url: &str) -> (String, Arc<AtomicUsize>) {
    let target = url
        .trim_start_matches("ws://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let path = url.trim_start_matches("ws://")[target.len()..].to_string();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let relay = format!("ws://{}{}", listener.local_addr().unwrap(), path);
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    tokio::spawn(async move {
        while let Ok((a, _)) = listener.accept().await {
            let b = TcpStream::connect(&target).await.unwrap();
            a.set_nodelay(true).unwrap();
            b.set_nodelay(true).unwrap();
            let (ar, aw) = a.into_split();
            let (br, bw) = b.into_split();
            tokio::spawn(pump(ar, bw, c.clone()));
            tokio::spawn(pump(br, aw, c.clone()));
        }
    });
    (relay, count)
}

async fn pump(
    mut r: tokio::net::tcp::OwnedReadHalf,
    mut w: tokio::net::tcp::OwnedWriteHalf,
    count: Arc<AtomicUsize>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut head = Vec::new();
    let mut in_head = true;
    loop {
        let n = match r.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let mut counted = n;
        if in_head {
            head.extend_from_slice(&buf[..n]);
            if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                in_head = false;
                counted = head.len() - (end + 4);
            } else {
                counted = 0;
            }
        }
        count.fetch_add(counted, Ordering::Relaxed);
        if w.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Deflate {
    Off,
    Cap(usize),
    /// With client context takeover.
    Takeover(usize),
}

struct Run {
    per_sec: f64,
    /// Bytes of memory the client holds (placed blocks + the decompressor's state).
    ram: usize,
    compression_ram: usize,
}

async fn portico(url: &str, deflate: Deflate, msg: &str, n: usize) -> Run {
    let mut c = Config::new(url);
    c.settings.buffers = BufferSizes {
        rx: 4096,
        tx: 4096,
        message_initial: 1024,
        max_message: 64 * 1024,
    };
    match deflate {
        Deflate::Off => c.settings.compression.mode = CompressionMode::Off,
        Deflate::Cap(cap) | Deflate::Takeover(cap) => {
            c.settings.compression.mode = CompressionMode::Require;
            c.settings.compression.max_memory = cap;
            c.settings.compression.client_takeover = matches!(deflate, Deflate::Takeover(_));
        }
    }
    let client = Echoing::connect(c).await;
    let secs = client.round_trips(Payload::Text(msg), n).await;
    let report = client.handle.memory_report();
    let ram = report
        .iter()
        .filter(|b| b.block != "task")
        .map(|b| b.bytes)
        .sum();
    let compression_ram = report
        .iter()
        .filter(|b| b.block.contains("flate"))
        .map(|b| b.bytes)
        .sum();
    client.stop().await;
    Run {
        per_sec: n as f64 / secs,
        ram,
        compression_ram,
    }
}

async fn tungstenite(url: &str, msg: &str, n: usize) -> Run {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let t0 = Instant::now();
    for _ in 0..n {
        ws.send(Message::text(msg)).await.unwrap();
        loop {
            match ws.next().await.unwrap().unwrap() {
                Message::Text(_) => break,
                _ => continue,
            }
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    Run {
        per_sec: n as f64 / secs,
        ram: 0,
        compression_ram: 0,
    }
}

/// Python `websockets` as the client (`tests/ws_bench_client.py`), compressing with
/// zlib's defaults: the reference for what a full zlib gets.
async fn python_client(url: &str, msg: &str, n: usize) -> Run {
    let py = std::env::var("WS_PYTHON").expect("WS_PYTHON");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ws_bench_client.py");
    let file = std::env::temp_dir().join(format!("ws_deflate_bench_{}.txt", std::process::id()));
    std::fs::write(&file, msg).unwrap();
    let (url, f) = (url.to_string(), file.clone());
    let out = tokio::task::spawn_blocking(move || {
        Command::new(py)
            .arg(script)
            .arg(url)
            .arg(n.to_string())
            .arg(f)
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    let _ = std::fs::remove_file(&file);
    let per_sec = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0.0);
    Run {
        per_sec,
        ram: 0,
        compression_ram: 0,
    }
}

#[derive(Clone, Copy)]
enum Who {
    Portico(Deflate),
    Tungstenite,
    Python,
}

/// Wire bytes per round trip (both directions) for `n` echoes through the relay.
async fn wire_bytes(url: &str, who: Who, msg: &str, n: usize) -> f64 {
    let (relay, count) = counting_relay(url).await;
    match who {
        Who::Portico(d) => {
            portico(&relay, d, msg, n).await;
        }
        Who::Tungstenite => {
            tungstenite(&relay, msg, n).await;
        }
        Who::Python => {
            python_client(&relay, msg, n).await;
        }
    }
    // The close frames crossed too; they are a few bytes in n round trips.
    count.load(Ordering::Relaxed) as f64 / n as f64
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let status = match args.next() {
        Some(p) => std::fs::read_to_string(p).unwrap(),
        None => include_str!("data/status.json").trim().to_string(),
    };
    // 16 KiB of English prose and tables: this crate's README, from the start.
    let readme = include_str!("../README.md");
    let text: String = readme.chars().cycle().take(16 * 1024).collect();
    let tung = tungstenite_server().await;
    let (_py, py) = python_server();
    println!(
        "echo round trips on loopback, {n} per row; wire = bytes per round trip, both \
         directions, headers included\n"
    );
    println!(
        "| message | client | peer | compression | wire B/round trip | round trips/s | \
         client RAM (B) | of which compression |"
    );
    println!("|---|---|---|---|---:|---:|---:|---:|");
    for (label, msg) in [
        (format!("status ({} B)", status.len()), status.as_str()),
        (format!("text ({} B)", text.len()), text.as_str()),
    ] {
        // Warm up.
        portico(&py, Deflate::Cap(40 * 1024), msg, 50).await;
        tungstenite(&tung, msg, 50).await;
        let wire_n = n.min(200);
        let t = tungstenite(&tung, msg, n).await;
        let tw = wire_bytes(&tung, Who::Tungstenite, msg, wire_n).await;
        println!(
            "| {label} | tokio-tungstenite | tokio-tungstenite | none | {tw:.0} | {:.0} | — | — |",
            t.per_sec
        );
        let p = python_client(&py, msg, n).await;
        let pw = wire_bytes(&py, Who::Python, msg, wire_n).await;
        println!(
            "| {label} | Python websockets | Python websockets | deflate (zlib defaults) | {pw:.0} | {:.0} | — | — |",
            p.per_sec
        );
        for (peer, url) in [("tokio-tungstenite", &tung), ("Python websockets", &py)] {
            let modes: &[Deflate] = if url == &tung {
                &[Deflate::Off]
            } else {
                &[
                    Deflate::Off,
                    Deflate::Cap(40 * 1024),
                    Deflate::Cap(4096),
                    Deflate::Takeover(40 * 1024),
                    Deflate::Takeover(4096),
                ]
            };
            for &d in modes {
                let r = portico(url, d, msg, n).await;
                let w = wire_bytes(url, Who::Portico(d), msg, wire_n).await;
                let mode = match d {
                    Deflate::Off => "none".to_string(),
                    Deflate::Cap(c) => format!("deflate, {} KiB cap", c / 1024),
                    Deflate::Takeover(c) => {
                        format!("deflate + client takeover, {} KiB cap", c / 1024)
                    }
                };
                println!(
                    "| {label} | portico-ws | {peer} | {mode} | {w:.0} | {:.0} | {} | {} |",
                    r.per_sec, r.ram, r.compression_ram
                );
            }
        }
    }
}
