//! `wss://` end to end: the test kit's TLS echo server (tokio-rustls +
//! tokio-tungstenite) with a certificate from a private CA made at start. Verification is on: the client connects
//! only when it is given that CA.

mod common;

use std::time::Duration;

use common::{debug, eventually, has, start_logged, Log};
use portico::placement::sim::SimHeap;
use portico_testkit::tls_echo;
use portico_ws::tokio::{Config, TlsConfig};
use portico_ws::{ConnectError, ErrorKind, Event, Reconnect, State};

/// Starts the echo server for `localhost`; returns its port and the CA's PEM.
async fn tls_echo_server() -> (u16, String) {
    let echo = tls_echo::start(tls_echo::Options::default()).await;
    (echo.port(), echo.ca_pem)
}

fn start(url: String, tls: TlsConfig) -> (portico_ws::tokio::Handle, Log) {
    let mut c = Config::new(url);
    c.tls = tls;
    c.settings.reconnect = Reconnect::disabled();
    start_logged(c, SimHeap::new(1 << 20, 0), debug)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_with_a_private_ca_connects_and_echoes() {
    let (port, ca) = tls_echo_server().await;
    let tls = TlsConfig {
        webpki_roots: true,
        extra_ca_pem: Some(ca.into_bytes()),
    };
    let (h, log) = start(format!("wss://localhost:{port}/"), tls);
    assert!(
        eventually(10, || h.state() == State::Connected).await,
        "{:?}",
        log.lock().unwrap()
    );
    h.send_text("over tls").await.unwrap();
    let want = format!("{:?}", "over tls".as_bytes());
    assert!(eventually(10, || has(&log, &want)).await);
    h.stop_and_wait(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_without_the_ca_is_refused() {
    let (port, _) = tls_echo_server().await;
    let (h, log) = start(format!("wss://localhost:{port}/"), TlsConfig::default());
    let refused = format!("{:?}", Event::Error(ErrorKind::Connect(ConnectError::Tls)));
    assert!(
        eventually(10, || log.lock().unwrap().contains(&refused)).await,
        "{:?}",
        log.lock().unwrap()
    );
    assert!(eventually(10, || h.live_tasks() == 0).await);
    assert_eq!(h.stats().connects, 0);
    assert!(h.stats().last_error.unwrap().contains("TLS"));
}

#[test]
fn malformed_extra_ca_is_a_typed_error() {
    let tls = TlsConfig {
        webpki_roots: false,
        extra_ca_pem: Some(b"not a pem".to_vec()),
    };
    assert!(tls.build().is_err());
}
