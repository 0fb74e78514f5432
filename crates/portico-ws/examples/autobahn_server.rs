//! Echo server for Autobahn's fuzzing client (run through `kosoku`, see
//! `crates/portico-ws/autobahn/run_server.py`): the server endpoint
//! (`portico_ws::server`) on the host port, echoing every message.
//!
//! Usage: `autobahn_server [127.0.0.1:9002]` — prints the bound address, then serves.
//!
//! Case 9.x sends messages of up to 16 MiB, so the pool's buffers here are 17 MiB (the
//! largest message is a lease less its receive space); a device would use the default
//! 4 KiB buffers and refuse such messages with 1009.

use portico::conn::{Budget, Policy};
use portico::placement::Placement;
use portico::pool::PoolConfig;
use portico::server::{
    Buffers, Env, Exchange, Handler, Reply, ServeError, ServerConfig, Streams, Timeouts, Transport,
};
use portico_tokio::{BufferStrategy, Server, ServerOptions, CONN_STATE_BYTES};
use portico_ws::server::{self, Message, SendError, Sender, WsConfig, WsHandler};

struct Echo;

impl WsHandler for Echo {
    async fn message<T: Transport, E: Env>(
        &mut self,
        msg: Message<'_>,
        out: &mut Sender<'_, T, E>,
    ) -> Result<(), SendError<T::Error>> {
        match msg {
            Message::Text(t) => out.text(t).await,
            Message::Binary(b) => out.binary(b).await,
        }
    }
}

struct App;

impl Handler for App {
    type Upgrade = ();

    async fn handle<T: Transport, E: Env>(
        &self,
        ex: &mut Exchange<'_, T, E>,
    ) -> Result<Reply<()>, ServeError<T::Error>> {
        if server::accept(ex, &[]).await? {
            return Ok(Reply::Upgrade(()));
        }
        Ok(Reply::Done)
    }
}

const WS: WsConfig = WsConfig {
    rx_bytes: 64 * 1024,
    ..WsConfig::const_default()
};

impl Streams<()> for App {
    async fn run<T: Transport, E: Env, B: Buffers>(
        &self,
        _: (),
        io: &mut T,
        env: &E,
        cfg: &ServerConfig,
        buffers: &B,
    ) {
        server::run(&mut Echo, io, env, cfg, buffers, &WS).await;
    }
}

fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9002".into());
    let options = ServerOptions {
        budget: Budget::new(32, 24).unwrap(),
        policy: Policy::default(),
        server: ServerConfig {
            timeouts: Timeouts {
                // 16 MiB in 9.x arrives over several seconds in a debug build.
                body_ms: 30_000,
                send_ms: 30_000,
                ..Timeouts::const_default()
            },
            ..ServerConfig::const_default()
        },
        pool: PoolConfig {
            chunks: 2,
            chunk_size: 17 << 20,
            placement: Placement::PreferInternal,
        },
        internal_ram: 64 << 20,
        psram: 0,
        conn_state_bytes: CONN_STATE_BYTES,
        buffers: BufferStrategy::Pool,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tokio::task::LocalSet::new().block_on(&rt, async move {
        let listener = portico_tokio::listen(addr.parse().unwrap()).unwrap();
        println!("{}", listener.local_addr().unwrap());
        let server = Server::new(options, |_| App);
        server.run(listener).await;
    });
}
