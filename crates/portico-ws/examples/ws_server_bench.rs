//! Echo benchmark of the server endpoint: portico-ws's server (`portico_ws::server` on the
//! host port, portico-tokio) vs tokio-tungstenite's server side, both in this process,
//! driven by the same tokio-tungstenite client, alternately, in the same run.
//!
//! Reports round trips per second for 64 B and 16 KiB binary messages and the ratio.
//!
//! Usage: `cargo run --release -p portico-ws --example ws_server_bench [-- ITERATIONS [ROUNDS]]`

use std::net::SocketAddr;
use std::time::Instant;

use futures_util::{SinkExt, StreamExt};
use portico_tokio::{Server, ServerOptions};
use portico_ws::server::{EchoApp, WsConfig};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message as TMessage;

/// A 16 KiB message arrives in one read and fits the reassembly space.
const WS: WsConfig = WsConfig {
    rx_bytes: 17 * 1024,
    ..WsConfig::const_default()
};

fn portico_server() -> SocketAddr {
    let options = ServerOptions::with_pool(4, 34 * 1024, 4 << 20);
    let listener = portico_tokio::listen("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::task::spawn_local(Server::new(options, |_| EchoApp { ws: WS }).run(listener));
    addr
}

async fn tungstenite_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::task::spawn_local(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tcp.set_nodelay(true).unwrap();
            tokio::task::spawn_local(async move {
                let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
                while let Some(Ok(m)) = ws.next().await {
                    if m.is_binary() || m.is_text() {
                        ws.send(m).await.unwrap();
                    }
                }
            });
        }
    });
    addr
}

/// Round trips per second of one client against `addr`.
async fn round_trips(addr: SocketAddr, size: usize, n: usize) -> f64 {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/"))
        .await
        .unwrap();
    let payload = vec![0x5au8; size];
    let t0 = Instant::now();
    for _ in 0..n {
        ws.send(TMessage::binary(payload.clone())).await.unwrap();
        match ws.next().await {
            Some(Ok(TMessage::Binary(b))) => assert_eq!(b.len(), size),
            other => panic!("{other:?}"),
        }
    }
    let rate = n as f64 / t0.elapsed().as_secs_f64();
    let _ = ws.close(None).await;
    rate
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tokio::task::LocalSet::new().block_on(&rt, async move {
        let (p, t) = (portico_server(), tungstenite_server().await);
        println!(
            "| message | round | portico-ws server rt/s | tokio-tungstenite server rt/s | ratio |"
        );
        println!("|---|---:|---:|---:|---:|");
        for size in [64, 16 * 1024] {
            for round in 1..=rounds {
                // Alternate which goes first.
                let (a, b) = if round % 2 == 1 {
                    let a = round_trips(p, size, n).await;
                    (a, round_trips(t, size, n).await)
                } else {
                    let b = round_trips(t, size, n).await;
                    (round_trips(p, size, n).await, b)
                };
                println!("| {size} B | {round} | {a:.0} | {b:.0} | {:.2} |", a / b);
            }
        }
    });
}
