//! Echo server for Autobahn's fuzzing client (run through `kosoku`, see
//! `crates/portico-ws/autobahn/run_server.py`): the server endpoint
//! (`portico_ws::server`) on the host port, echoing every message.
//!
//! Usage: `autobahn_server [127.0.0.1:9002]` — prints the bound address, then serves.
//!
//! Case 9.x sends messages of up to 16 MiB, so the pool's buffers here are 17 MiB (the
//! largest message is a lease less its receive space); a device would use the default
//! 4 KiB buffers and refuse such messages with 1009.

use portico::server::{ServerConfig, Timeouts};
use portico_tokio::{Server, ServerOptions};
use portico_ws::server::{EchoApp, WsConfig};

const WS: WsConfig = WsConfig {
    rx_bytes: 64 * 1024,
    ..WsConfig::const_default()
};

fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9002".into());
    let options = ServerOptions {
        server: ServerConfig {
            timeouts: Timeouts {
                // 16 MiB in 9.x arrives over several seconds in a debug build.
                body: portico::time::Duration::from_secs(30),
                send: portico::time::Duration::from_secs(30),
                ..Timeouts::const_default()
            },
            ..ServerConfig::const_default()
        },
        ..ServerOptions::with_pool(2, 17 << 20, 64 << 20)
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tokio::task::LocalSet::new().block_on(&rt, async move {
        let listener = portico_tokio::listen(addr.parse().unwrap()).unwrap();
        println!("{}", listener.local_addr().unwrap());
        let server = Server::new(options, |_| EchoApp { ws: WS });
        server.run(listener).await;
    });
}
