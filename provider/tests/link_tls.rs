//! `--upstream wss://… --upstream-ca FILE`: the host link against a local TLS echo
//! server whose certificate comes from a CA made here (loopback only).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{json, Provider};
use futures_util::{SinkExt, StreamExt};
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// Starts a TLS WebSocket server for `localhost` on its own thread; returns its port and
/// the CA's PEM.
fn tls_upstream() -> (u16, String) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(l.local_addr().unwrap().port()).unwrap();
            loop {
                let (s, _) = l.accept().await.unwrap();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(s).await else {
                        return;
                    };
                    let Ok(mut ws) = tokio_tungstenite::accept_async(tls).await else {
                        return;
                    };
                    let _ = ws.send("hello device".into()).await;
                    while let Some(Ok(m)) = ws.next().await {
                        if m.is_text() || m.is_binary() {
                            let _ = ws.send(m).await;
                        }
                    }
                });
            }
        });
    });
    (rx.recv().unwrap(), ca.pem())
}

/// A file of its own under the temporary directory, removed on drop.
struct TempFile(std::path::PathBuf);

impl TempFile {
    fn new(name: &str, contents: &str) -> TempFile {
        let path = std::env::temp_dir().join(format!("portico-{}-{name}", std::process::id()));
        std::fs::write(&path, contents).unwrap();
        TempFile(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn wait_for(
    addr: std::net::SocketAddr,
    f: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let t0 = Instant::now();
    loop {
        let v = json(addr, "/api/link");
        if f(&v) || t0.elapsed() > Duration::from_secs(10) {
            return v;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn wss_upstream_with_its_ca_connects() {
    let (port, ca) = tls_upstream();
    let ca = TempFile::new("ca.pem", &ca);
    let url = format!("wss://localhost:{port}/device");
    let p = Provider::start(&["--upstream", &url, "--upstream-ca", ca.path()]);
    let v = wait_for(p.addr, |v| {
        v["state"] == "connected" && v["messages_in"].as_u64() >= Some(1)
    });
    assert_eq!(v["state"], "connected", "{v}");
    assert_eq!(v["url"], url.as_str());
    assert_eq!(v["connects"], 1, "{v}");
}

#[test]
fn wss_upstream_without_its_ca_is_refused() {
    let (port, _) = tls_upstream();
    let url = format!("wss://localhost:{port}/device");
    let p = Provider::start(&["--upstream", &url]);
    let v = wait_for(p.addr, |v| v["last_error"].is_string());
    assert_ne!(v["state"], "connected", "{v}");
    assert_eq!(v["connects"], 0, "{v}");
    let err = v["last_error"].as_str().unwrap();
    assert!(err.contains("TLS"), "{v}");
}

#[test]
fn a_bad_upstream_ca_file_is_refused_at_start() {
    let not_pem = TempFile::new("not-a-ca.pem", "hello\n");
    for (file, says) in [
        ("/nonexistent/ca.pem", "cannot read"),
        (not_pem.path(), "PEM"),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_provider"))
            .args(["--bind", "127.0.0.1:0", "--upstream", "wss://localhost:1/x"])
            .args(["--upstream-ca", file])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "{stderr}");
        assert!(
            stderr.contains("--upstream-ca") && stderr.contains(says),
            "{stderr}"
        );
    }
}
