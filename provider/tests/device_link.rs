//! `provider --stack device --upstream wss://… --upstream-ca FILE` (issue 19): the
//! device's own link — the embassy client with embedded-tls, as on the firmware — against
//! a TLS WebSocket echo server on the TAP's network.
//!
//! Needs the TAP, so `scripts/test-device-stack.sh` runs it inside the network namespace
//! it creates, with `PORTICO_DEVICE_TAP` (the TAP), `PORTICO_DEVICE_ADDR` (the device's
//! address) and `PORTICO_UPSTREAM_ADDR` (this side's address, where the echo server
//! listens). Without them (a plain `cargo test`) it says so and passes: it never sends
//! outside a namespace of its own.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use portico_testkit::read_response;
use portico_testkit::tls_cert::TestPki;
use portico_testkit::tls_echo::{self, TlsEcho as EchoServer};

/// The first text message the echo server sends on every connection.
const GREETING: &str = "hello device";
use serde_json::Value;

struct Net {
    tap: String,
    device: String,
    upstream: String,
}

fn net() -> Option<Net> {
    let var = |n| std::env::var(n).ok().filter(|v: &String| !v.is_empty());
    Some(Net {
        tap: var("PORTICO_DEVICE_TAP")?,
        device: var("PORTICO_DEVICE_ADDR")?,
        upstream: var("PORTICO_UPSTREAM_ADDR")?,
    })
}

/// The device stack, stopped on drop (the TAP serves one at a time).
struct Device {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Device {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Device {
    fn start(net: &Net, profile: &str, url: &str, ca: &std::path::Path) -> Device {
        let child = Command::new(env!("CARGO_BIN_EXE_provider"))
            .args(["--stack", "device", "--tap", &net.tap, "--profile", profile])
            .args(["--device-addr", &format!("{}/24", net.device)])
            .args(["--upstream", url, "--upstream-ca", ca.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the provider");
        let d = Device {
            child,
            addr: SocketAddr::new(net.device.parse().unwrap(), 80),
        };
        let t0 = Instant::now();
        while d.get("/api/status").is_none() {
            assert!(
                t0.elapsed() < Duration::from_secs(15),
                "the device stack never answered"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        d
    }

    fn get(&self, path: &str) -> Option<Value> {
        let mut s = TcpStream::connect_timeout(&self.addr, Duration::from_secs(2)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        let ip = self.addr.ip();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {ip}\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let r = read_response(&mut s, &mut Vec::new(), false).ok()?;
        (r.status == 200).then(|| serde_json::from_slice(&r.body).ok())?
    }

    /// `/api/link` once `done` holds, or the last one seen after `limit`.
    fn link_when(&self, limit: Duration, done: impl Fn(&Value) -> bool) -> Value {
        let t0 = Instant::now();
        loop {
            let v = self.get("/api/link").unwrap_or(Value::Null);
            if done(&v) || t0.elapsed() > limit {
                return v;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

fn pem_file(name: &str, pem: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("portico-device-link-{}-{name}", std::process::id()));
    std::fs::write(&p, pem).unwrap();
    p
}

/// Connected, the greeting and an echoed heartbeat in, and every block — the client's,
/// its socket's and the TLS session's — listed with a region.
fn assert_connected_and_echoing(
    d: &Device,
    echo: &EchoServer,
    url: &str,
    region: &str,
) -> Vec<(String, String)> {
    let echoed = echo.stats.echoed();
    // The greeting, then the heartbeat (every 5 s) coming back.
    let v = d.link_when(Duration::from_secs(20), |v| {
        v["state"] == "connected" && v["messages_in"].as_u64() >= Some(2)
    });
    assert_eq!(v["state"], "connected", "{v}");
    assert_eq!(v["url"], url);
    assert!(v["last_error"].is_null(), "{v}");
    assert!(
        v["messages_in"].as_u64() >= Some(2),
        "greeting and an echo: {v}"
    );
    assert!(echo.stats.echoed() > echoed, "the server echoed nothing");
    let blocks: Vec<(String, String)> = v["memory"]
        .as_array()
        .expect("memory blocks")
        .iter()
        .map(|b| {
            (
                b["block"].as_str().unwrap().to_string(),
                b["region"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for name in [
        "socket_rx",
        "socket_tx",
        "rx",
        "tx",
        "tls_rx",
        "tls_tx",
        "tls_session",
    ] {
        let found = blocks.iter().find(|(b, _)| b == name);
        let (_, r) = found.unwrap_or_else(|| panic!("no {name} block in {v}"));
        let want = if name == "tls_session" {
            "heap"
        } else {
            region
        };
        assert_eq!(r, want, "{name}: {v}");
    }
    blocks
}

#[test]
fn the_device_link_runs_wss_with_the_given_ca_and_refuses_another() {
    let Some(net) = net() else {
        eprintln!(
            "device_link: not in the device-stack namespace (scripts/test-device-stack.sh runs it)"
        );
        return;
    };
    let pki = TestPki::new(&net.upstream);
    let stranger = TestPki::with_ca_name(&net.upstream, "another CA");
    let echo = tls_echo::serve_on_thread(
        SocketAddr::new(net.upstream.parse().unwrap(), 0),
        pki.server.clone(),
        Some(GREETING.to_string()),
    );
    let url = format!("wss://{}:{}/device", net.upstream, echo.addr.port());
    let right = pem_file("right.pem", &pki.ca_pem);
    let wrong = pem_file("wrong.pem", &stranger.ca_pem);
    // A bundle whose right CA is second: the verifier must try past the first.
    let bundle = pem_file("bundle.pem", &format!("{}{}", stranger.ca_pem, pki.ca_pem));

    // With PSRAM (esp32s3): every placed block external.
    {
        let d = Device::start(&net, "esp32s3", &url, &right);
        let blocks = assert_connected_and_echoing(&d, &echo, &url, "external");
        println!("esp32s3, the CA alone: connected and echoing; blocks {blocks:?}");
    }
    // Without (esp32c3), trusting the bundle: every placed block internal.
    {
        let d = Device::start(&net, "esp32c3", &url, &bundle);
        let blocks = assert_connected_and_echoing(&d, &echo, &url, "internal");
        println!("esp32c3, the CA second in a bundle: connected and echoing; blocks {blocks:?}");
    }
    // Another CA: refused, said so, and nothing of the session kept.
    {
        let handshakes = echo.stats.handshakes();
        let d = Device::start(&net, "esp32s3", &url, &wrong);
        let v = d.link_when(Duration::from_secs(20), |v| v["last_error"].is_string());
        let err = v["last_error"]
            .as_str()
            .unwrap_or_else(|| panic!("no last_error: {v}"));
        assert!(err.contains("certificate refused"), "{v}");
        assert_ne!(v["state"], "connected", "{v}");
        assert_eq!(
            echo.stats.handshakes(),
            handshakes,
            "a WebSocket handshake over a refused TLS session"
        );
        let tls_blocks = v["memory"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["block"].as_str().is_some_and(|n| n.starts_with("tls")));
        assert_eq!(tls_blocks.count(), 0, "TLS memory held while down: {v}");
        println!("another CA: refused, last_error {err:?}");
    }
    for f in [right, wrong, bundle] {
        let _ = std::fs::remove_file(f);
    }
}
