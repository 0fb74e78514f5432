//! A `ws://` echo server for tests (feature `ws-echo`): tokio-tungstenite, independent of
//! Portico's client, so a test of that client checks it against another implementation.
//!
//! It echoes every text and binary message; with [`Options::greeting`] it first sends
//! one text message of its own, so a client that only listens still sees traffic. The
//! `wss://` server in [`crate::tls_echo`] runs the same loop over TLS.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;

/// How the echo server is set up.
#[derive(Clone, Debug)]
pub struct Options {
    /// Where it listens; port 0 picks a free one. Loopback by default.
    pub bind: SocketAddr,
    /// A text message sent as soon as the handshake is done, before any echo.
    pub greeting: Option<String>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            greeting: None,
        }
    }
}

/// Starts the server on the current tokio runtime; it runs until the runtime stops.
/// Returns the address it listens on.
pub async fn start(options: Options) -> SocketAddr {
    let listener = TcpListener::bind(options.bind).await.expect("bind");
    let addr = listener.local_addr().expect("local address");
    let greeting = options.greeting;
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            // Each echo goes out at once: the benches time round trips, which Nagle's
            // algorithm against the peer's delayed ACK would stretch.
            let _ = tcp.set_nodelay(true);
            tokio::spawn(echo(tcp, greeting.clone(), Arc::default()));
        }
    });
    addr
}

/// [`start`] on a thread of its own with its own runtime, for tests that do not run on
/// tokio; it runs until the test process ends.
pub fn start_on_thread(options: Options) -> SocketAddr {
    on_thread(start(options))
}

/// Runs `start` (a server's start) on a new thread's runtime, keeps that runtime alive
/// for the rest of the process, and returns what `start` returned.
pub(crate) fn on_thread<T: Send + 'static>(start: impl Future<Output = T> + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let _ = tx.send(start.await);
            std::future::pending::<()>().await
        });
    });
    rx.recv().expect("the server's thread started")
}

/// What an echo server has done, for tests that check the server's side of a link.
#[derive(Debug, Default)]
pub struct EchoStats {
    handshakes: AtomicU64,
    echoed: AtomicU64,
}

impl EchoStats {
    /// WebSocket handshakes completed.
    pub fn handshakes(&self) -> u64 {
        self.handshakes.load(Ordering::Relaxed)
    }

    /// Text and binary messages sent back.
    pub fn echoed(&self) -> u64 {
        self.echoed.load(Ordering::Relaxed)
    }
}

/// The server's side of one connection: the WebSocket handshake over `stream`, the
/// greeting if any, then every data message sent back until either side stops; counted
/// in `stats`.
pub async fn echo<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    greeting: Option<String>,
    stats: Arc<EchoStats>,
) {
    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    stats.handshakes.fetch_add(1, Ordering::Relaxed);
    if let Some(g) = greeting {
        if ws.send(g.into()).await.is_err() {
            return;
        }
    }
    while let Some(Ok(m)) = ws.next().await {
        if m.is_text() || m.is_binary() {
            if ws.send(m).await.is_err() {
                return;
            }
            stats.echoed.fetch_add(1, Ordering::Relaxed);
        }
    }
}
