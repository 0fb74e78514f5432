//! `--upstream wss://… --upstream-ca FILE`: the host link against a local TLS echo
//! server whose certificate comes from a CA made here (loopback only).

mod common;

use common::{link_when, Provider};
use portico_testkit::tls_cert::TestPki;
use portico_testkit::tls_echo;

/// Starts the TLS echo server for `localhost` on its own thread; it greets each client
/// so the link counts a message in. Returns its port, the CA's PEM and another CA's PEM.
fn tls_upstream() -> (u16, String, String) {
    let pki = TestPki::new("localhost");
    let echo = tls_echo::serve_on_thread(
        "127.0.0.1:0".parse().unwrap(),
        pki.server.clone(),
        Some("hello device".to_string()),
    );
    let stranger = TestPki::with_ca_name("localhost", "another CA");
    (echo.port(), pki.ca_pem, stranger.ca_pem)
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

#[test]
fn wss_upstream_with_its_ca_connects() {
    let (port, ca, _) = tls_upstream();
    let ca = TempFile::new("ca.pem", &ca);
    let url = format!("wss://localhost:{port}/device");
    let p = Provider::start(&["--upstream", &url, "--upstream-ca", ca.path()]);
    let v = link_when(p.addr, |v| {
        v["state"] == "connected" && v["messages_in"].as_u64() >= Some(1)
    });
    assert_eq!(v["state"], "connected", "{v}");
    assert_eq!(v["url"], url.as_str());
    assert_eq!(v["connects"], 1, "{v}");
}

#[test]
fn wss_upstream_without_its_ca_is_refused() {
    let (port, _, _) = tls_upstream();
    let url = format!("wss://localhost:{port}/device");
    let p = Provider::start(&["--upstream", &url]);
    let v = link_when(p.addr, |v| v["last_error"].is_string());
    assert_ne!(v["state"], "connected", "{v}");
    assert_eq!(v["connects"], 0, "{v}");
    let err = v["last_error"].as_str().unwrap();
    assert!(err.contains("TLS"), "{v}");
}

#[test]
fn wss_upstream_with_its_ca_second_in_a_bundle_connects() {
    let (port, ca, other) = tls_upstream();
    let bundle = TempFile::new("bundle.pem", &format!("{other}{ca}"));
    let url = format!("wss://localhost:{port}/device");
    let p = Provider::start(&["--upstream", &url, "--upstream-ca", bundle.path()]);
    let v = link_when(p.addr, |v| v["state"] == "connected");
    assert_eq!(v["state"], "connected", "{v}");
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
