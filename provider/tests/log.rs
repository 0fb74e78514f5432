//! The provider's log, as an operator reads it: an eviction says whom and why, a missed
//! deadline says its phase, the link's state changes are there; `RUST_LOG` filters.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Runs the provider with `args` and `RUST_LOG=rust_log`, calls `poke` with its address,
/// and returns what it wrote on stderr within `wait` after that.
fn log_of(
    args: &[&str],
    rust_log: &str,
    poke: impl FnOnce(std::net::SocketAddr),
    wait: Duration,
) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_provider"))
        .args(["--bind", "127.0.0.1:0", "--allowed-host", "a"])
        .args(args)
        .env("RUST_LOG", rust_log)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut line).unwrap();
    // Keep draining stdout so the provider never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let addr = line
        .split("http://")
        .nth(1)
        .unwrap()
        .trim()
        .trim_end_matches('/');
    let addr = addr.parse().unwrap();
    let mut err = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = err.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    poke(addr);
    let mut out = Vec::new();
    let end = Instant::now() + wait;
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(b) => out.extend(b),
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    String::from_utf8_lossy(&out).into_owned()
}

fn get(s: &mut TcpStream) {
    s.write_all(b"GET /api/pool HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 4096];
    let _ = s.read(&mut buf).unwrap();
}

#[test]
fn evictions_and_deadlines_are_logged_with_why() {
    let log = log_of(
        &[
            "--max-sockets",
            "2",
            "--stack-sockets",
            "4",
            "--head-timeout-ms",
            "300",
        ],
        "info",
        |addr| {
            // Two idle keep-alives fill the table; a third client evicts the older.
            let mut a = TcpStream::connect(addr).unwrap();
            get(&mut a);
            std::thread::sleep(Duration::from_millis(50));
            let mut b = TcpStream::connect(addr).unwrap();
            get(&mut b);
            let mut c = TcpStream::connect(addr).unwrap();
            get(&mut c);
            // A client that sends half a head and stops: the head deadline.
            let mut d = TcpStream::connect(addr).unwrap();
            d.write_all(b"GET / HTTP/1.1\r\n").unwrap();
            std::thread::sleep(Duration::from_millis(800));
            drop((a, b, c, d));
        },
        Duration::from_millis(300),
    );
    assert!(
        log.contains("evicted connection 0.1 from 127.0.0.1:") && log.contains(": lru_idle"),
        "{log}"
    );
    assert!(log.contains("deadline passed: head"), "{log}");
}

#[test]
fn rust_log_filters() {
    let log = log_of(
        &["--max-sockets", "1", "--stack-sockets", "3"],
        "warn",
        |addr| {
            let mut a = TcpStream::connect(addr).unwrap();
            get(&mut a);
            let mut b = TcpStream::connect(addr).unwrap();
            get(&mut b);
        },
        Duration::from_millis(300),
    );
    assert!(
        !log.contains("evicted connection"),
        "info lines under RUST_LOG=warn: {log}"
    );
}

#[test]
fn the_link_says_what_it_does() {
    // Nothing listens on this port: the link fails, says why, and backs off.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("ws://127.0.0.1:{port}/x");
    let log = log_of(
        &["--upstream", &url],
        "info",
        |_| {},
        Duration::from_millis(1500),
    );
    assert!(log.contains("link stopped -> connecting"), "{log}");
    assert!(log.contains("link error:"), "{log}");
    assert!(log.contains("-> backoff"), "{log}");
}
