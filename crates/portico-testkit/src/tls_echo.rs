//! A `wss://` echo server for tests (feature `tls-echo`): tokio-rustls and
//! tokio-tungstenite, both independent of Portico, with a certificate from
//! [`TestPki`]: signed by a private CA made at start.
//!
//! Verification stays on in the tests that use it: a client connects only when it is
//! given [`TlsEcho::ca_pem`], which is how a test tells "TLS works" from "TLS was
//! switched off". Over TLS it runs [`crate::ws_echo`]'s loop: every text and binary
//! message echoed, after an optional greeting.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::tls_cert::TestPki;
use crate::ws_echo::{echo, on_thread, EchoStats};

/// How the echo server is set up.
#[derive(Clone, Debug)]
pub struct Options {
    /// Where it listens; port 0 picks a free one. Loopback by default.
    pub bind: SocketAddr,
    /// The name in the server certificate (see [`TestPki::new`]).
    pub name: String,
    /// A text message sent as soon as the handshake is done, before any echo.
    pub greeting: Option<String>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            name: "localhost".to_string(),
            greeting: None,
        }
    }
}

/// A running echo server.
#[derive(Clone, Debug)]
pub struct TlsEcho {
    /// The address it listens on (the real port when [`Options::bind`] asked for 0).
    pub addr: SocketAddr,
    /// The CA that signed the server certificate, in PEM: what a client must trust.
    pub ca_pem: String,
    /// What it has done (handshakes, messages echoed).
    pub stats: Arc<EchoStats>,
}

impl TlsEcho {
    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }
}

/// Starts the server on the current tokio runtime; it runs until the runtime stops.
pub async fn start(options: Options) -> TlsEcho {
    let pki = TestPki::new(&options.name);
    let mut echo = serve(options.bind, pki.server, options.greeting).await;
    echo.ca_pem = pki.ca_pem;
    echo
}

/// [`start`] on a thread of its own with its own runtime, for tests that do not run on
/// tokio; it runs until the test process ends.
pub fn start_on_thread(options: Options) -> TlsEcho {
    on_thread(start(options))
}

/// Serves with a configuration the test made (a [`TestPki`] it also uses otherwise:
/// its CA written to a file, a second CA for a bundle). `ca_pem` is left empty: the
/// test holds the PKI.
pub async fn serve(
    bind: SocketAddr,
    server: Arc<rustls::ServerConfig>,
    greeting: Option<String>,
) -> TlsEcho {
    let listener = TcpListener::bind(bind).await.expect("bind");
    let addr = listener.local_addr().expect("local address");
    let acceptor = TlsAcceptor::from(server);
    let stats = Arc::new(EchoStats::default());
    let counters = stats.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let _ = tcp.set_nodelay(true);
            let (acceptor, greeting, stats) =
                (acceptor.clone(), greeting.clone(), counters.clone());
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(tcp).await {
                    echo(tls, greeting, stats).await;
                }
            });
        }
    });
    TlsEcho {
        addr,
        ca_pem: String::new(),
        stats,
    }
}

/// [`serve`] on a thread of its own.
pub fn serve_on_thread(
    bind: SocketAddr,
    server: Arc<rustls::ServerConfig>,
    greeting: Option<String>,
) -> TlsEcho {
    on_thread(serve(bind, server, greeting))
}
