//! Echo client for Autobahn's fuzzing server (run through `kosoku`, see
//! `scripts/test-ws.sh`): `getCaseCount`, then `runCase` for each case, then
//! `updateReports` — each a fresh `portico_ws::tokio::Client` with reconnect disabled
//! that echoes every message back from inside its handler.
//!
//! Usage: `autobahn_client [ws://127.0.0.1:9001] [agent]`

use std::sync::{Arc, Mutex};
use std::time::Duration;

use portico::placement::sim::SimHeap;
use portico_ws::tokio::{Client, Config};
use portico_ws::{BufferSizes, Event, Opcode, Reconnect};

fn config(url: String) -> Config {
    let mut c = Config::new(url);
    c.settings.reconnect = Reconnect::disabled();
    c.settings.ping_interval_ms = None;
    c.settings.buffers = BufferSizes {
        rx: 64 * 1024,
        tx: 64 * 1024,
        message_initial: 1024,
        // Case 9.x sends messages up to 16 MiB.
        max_message: 20 * 1024 * 1024,
    };
    c.settings.send_queue = 64;
    // Compress every echo, however short: it exercises the compressor on cases 12.x.1
    // (16-byte messages), and kosoku 0.1.0's cases 12/13 raise on an uncompressed text
    // echo (it hands them `str` where they hash `bytes`), although RFC 7692 allows one.
    c.settings.compression.min_size = 0;
    c.settings.close_timeout_ms = 1_000;
    c
}

/// Runs one connection to completion, echoing messages; returns the last text message.
async fn run(url: String, heap: &SimHeap) -> Option<String> {
    let last = Arc::new(Mutex::new(None));
    let l = last.clone();
    let handle = match Client::start(
        config(url),
        heap.clone(),
        move |ev: Event<'_>, c: &portico_ws::tokio::Control| {
            if let Event::Data {
                opcode, payload, ..
            } = ev
            {
                if opcode == Opcode::Text {
                    *l.lock().unwrap() = Some(String::from_utf8_lossy(payload).into_owned());
                    let _ = c.try_send_text(std::str::from_utf8(payload).unwrap_or(""));
                } else {
                    let _ = c.try_send_binary(payload);
                }
            }
        },
    ) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("start failed: {e}");
            return None;
        }
    };
    // The run ends by itself when the server closes (reconnect is disabled).
    while handle.live_tasks() > 0 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let r = last.lock().unwrap().take();
    r
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let base = args.next().unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let agent = args.next().unwrap_or_else(|| "portico-ws".into());
    let heap = SimHeap::new(64 << 20, 0);
    let count: u32 = run(format!("{base}/getCaseCount"), &heap)
        .await
        .and_then(|s| s.trim().parse().ok())
        .expect("getCaseCount");
    eprintln!("{count} cases");
    for case in 1..=count {
        run(format!("{base}/runCase?case={case}&agent={agent}"), &heap).await;
    }
    run(format!("{base}/updateReports?agent={agent}"), &heap).await;
    eprintln!("done");
}
