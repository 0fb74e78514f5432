//! Echo benchmark: portico-ws vs tokio-tungstenite against the same local echo server
//! (tokio-tungstenite's server side, in this process), in the same run.
//!
//! Reports round trips per second and MB/s (payload bytes echoed per second) for 64 B
//! and 16 KiB binary messages, and the RAM the portico client holds while connected.
//!
//! Usage: `cargo run --release -p portico-ws --example ws_bench [-- ITERATIONS]`

mod bench;

use std::time::Instant;

use bench::{Echoing, Payload};
use futures_util::{SinkExt, StreamExt};
use portico_testkit::ws_echo;
use portico_ws::tokio::Config;
use portico_ws::BufferSizes;
use tokio_tungstenite::tungstenite::Message;

/// tokio-tungstenite's server side, echoing (the test kit's, shared with the tests).
async fn echo_server() -> String {
    format!(
        "ws://{}/",
        ws_echo::start(ws_echo::Options::default()).await
    )
}

struct Run {
    secs: f64,
    ram: usize,
}

async fn portico(url: &str, size: usize, n: usize) -> Run {
    let mut c = Config::new(url);
    // Big enough for a 16 KiB message in one frame each way.
    c.settings.buffers = BufferSizes {
        rx: 17 * 1024,
        tx: 17 * 1024,
        message_initial: 1024,
        max_message: 64 * 1024,
    };
    let client = Echoing::connect(c).await;
    let payload = vec![0x5Au8; size];
    let secs = client.round_trips(Payload::Binary(&payload), n).await;
    let ram = client.handle.memory_report().iter().map(|b| b.bytes).sum();
    client.stop().await;
    Run { secs, ram }
}

async fn tungstenite(url: &str, size: usize, n: usize) -> Run {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let payload = vec![0x5Au8; size];
    let t0 = Instant::now();
    for _ in 0..n {
        ws.send(Message::binary(payload.clone())).await.unwrap();
        loop {
            match ws.next().await.unwrap().unwrap() {
                Message::Binary(_) => break,
                _ => continue,
            }
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    Run { secs, ram: 0 }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let url = echo_server().await;
    println!("echo round trips on loopback, {n} per row (same server, same run)\n");
    println!("| message | client | round trips/s | MB/s | ratio (portico / tungstenite) |");
    println!("|---|---|---:|---:|---:|");
    let mut ram = 0;
    for size in [64usize, 16 * 1024] {
        // Warm up both paths once.
        portico(&url, size, 200).await;
        tungstenite(&url, size, 200).await;
        let p = portico(&url, size, n).await;
        let t = tungstenite(&url, size, n).await;
        ram = ram.max(p.ram);
        let rate = |r: &Run| n as f64 / r.secs;
        let mbs = |r: &Run| (n * size) as f64 / r.secs / 1e6;
        let label = if size == 64 {
            "64 B".to_string()
        } else {
            format!("{} KiB", size / 1024)
        };
        println!(
            "| {label} | portico-ws | {:.0} | {:.1} | {:.2} |",
            rate(&p),
            mbs(&p),
            rate(&p) / rate(&t)
        );
        println!(
            "| {label} | tokio-tungstenite | {:.0} | {:.1} | 1.00 |",
            rate(&t),
            mbs(&t)
        );
    }
    println!("\nportico-ws RAM while connected (rx + tx + message + task future): {ram} bytes");
    println!(
        "tokio-tungstenite defaults for comparison: 128 KiB read buffer, 128 KiB write buffer limit"
    );
}
