//! A private PKI and a TLS WebSocket echo server, for the `wss://` tests: the host link
//! (`provider/tests/link_tls.rs`) and the PC device stack's (`provider/tests/
//! device_link.rs`, inside the test's network namespace) use the same one.
//!
//! The server certificate carries the name as a DNS name *and* as the common name, with
//! a fresh P-256 key, and the chain it sends holds the CA too: what the device's TLS
//! client (embedded-tls, ECDSA P-256, host name matched against DNS names) can check.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// The first text message the echo server sends on every connection.
pub const GREETING: &str = "hello device";

/// A CA and a server configuration whose certificate it signed.
pub struct TestPki {
    /// The CA certificate, DER.
    pub ca_der: Vec<u8>,
    /// The CA certificate, PEM: what `--upstream-ca FILE` takes.
    pub ca_pem: String,
    /// The server's configuration (chain: its certificate, then the CA's; its key).
    pub server: Arc<rustls::ServerConfig>,
}

impl TestPki {
    /// A CA named `ca_name` and a certificate for `name` signed by it.
    pub fn new(name: &str, ca_name: &str) -> TestPki {
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, ca_name);
        let ca = ca_params.self_signed(&ca_key).expect("CA certificate");
        let key = KeyPair::generate().expect("server key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.subject_alt_names = vec![SanType::DnsName(name.try_into().expect("a DNS name"))];
        let cert = params
            .signed_by(&key, &ca, &ca_key)
            .expect("server certificate");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone(), ca.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .expect("server configuration");
        TestPki {
            ca_der: ca.der().to_vec(),
            ca_pem: ca.pem(),
            server: Arc::new(server),
        }
    }
}

/// A running echo server: its address and what it has seen.
#[derive(Clone)]
pub struct EchoServer {
    /// Where it listens.
    pub addr: SocketAddr,
    stats: Arc<EchoStats>,
}

#[derive(Default)]
struct EchoStats {
    handshakes: AtomicU64,
    echoed: AtomicU64,
}

impl EchoServer {
    /// WebSocket handshakes completed over TLS.
    pub fn handshakes(&self) -> u64 {
        self.stats.handshakes.load(Ordering::Relaxed)
    }

    /// Text and binary messages sent back.
    pub fn echoed(&self) -> u64 {
        self.stats.echoed.load(Ordering::Relaxed)
    }
}

/// Serves TLS WebSockets on `bind` (port 0: any) on a thread of its own, for the life of
/// the process: each connection gets [`GREETING`], then every text or binary message
/// back.
pub fn spawn_echo(bind: SocketAddr, server: Arc<rustls::ServerConfig>) -> EchoServer {
    let acceptor = tokio_rustls::TlsAcceptor::from(server);
    let stats = Arc::new(EchoStats::default());
    let counters = stats.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        rt.block_on(async move {
            let l = tokio::net::TcpListener::bind(bind).await.expect("bind");
            tx.send(l.local_addr().expect("address"))
                .expect("the caller waits");
            loop {
                let Ok((s, _)) = l.accept().await else {
                    continue;
                };
                let (acceptor, stats) = (acceptor.clone(), counters.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(s).await else {
                        return;
                    };
                    let Ok(mut ws) = tokio_tungstenite::accept_async(tls).await else {
                        return;
                    };
                    stats.handshakes.fetch_add(1, Ordering::Relaxed);
                    let _ = ws.send(GREETING.into()).await;
                    while let Some(Ok(m)) = ws.next().await {
                        if (m.is_text() || m.is_binary()) && ws.send(m).await.is_ok() {
                            stats.echoed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
        });
    });
    EchoServer {
        addr: rx.recv().expect("the server thread started"),
        stats,
    }
}
