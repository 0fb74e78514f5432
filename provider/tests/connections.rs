//! The connection manager end to end: many browsers on few sockets, on real loopback
//! sockets against the real binary. Assertions are about behaviour, never timings. The
//! newcomer and the crowd are in `behaviour.rs`, which also runs against the device
//! stack.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{json, page_paths, ten_browsers, Browser, Conn, Failure, Provider};

#[test]
fn without_lru_purge_the_newcomer_cannot_load() {
    // ESP-IDF's defaults: 7 sockets, no purge, and no idle timeout to speak of.
    let p = Provider::start(&[
        "--max-sockets",
        "7",
        "--no-lru-purge",
        "--idle-timeout-ms",
        "60000",
    ]);
    let paths = page_paths(p.addr);
    let (_browsers, _) = ten_browsers(p.addr, &paths);
    let mut newcomer = Browser::new(p.addr, 6);
    let l = newcomer.load(&paths);
    println!(
        "no purge: newcomer {} ok, {} failed: {:?}",
        l.ok, l.failed, l.errors
    );
    assert!(
        l.failed > 0,
        "the old behaviour must show: newcomer loaded everything"
    );
}

#[test]
fn slow_header_drip_is_cut_at_the_head_deadline_while_others_are_served() {
    let p = Provider::start(&["--head-timeout-ms", "2000"]);
    let addr = p.addr;
    let dripper = std::thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let t0 = Instant::now();
        for b in b"GET / HTTP/1.1\r\nHost: slow\r\nX-Drip: aaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n" {
            if s.write_all(&[*b]).is_err() {
                break;
            }
            let mut buf = [0u8; 256];
            match s.read(&mut buf) {
                Ok(0) => return (t0.elapsed(), String::new()),
                Ok(n) => {
                    return (
                        t0.elapsed(),
                        String::from_utf8_lossy(&buf[..n]).into_owned(),
                    )
                }
                Err(_) => {}
            }
            std::thread::sleep(Duration::from_millis(800));
        }
        (t0.elapsed(), "never cut".to_string())
    });
    // Meanwhile a normal client is served.
    std::thread::sleep(Duration::from_millis(500));
    for _ in 0..5 {
        assert_eq!(common::get(addr, "/api/status").unwrap().status, 200);
    }
    let (elapsed, answer) = dripper.join().unwrap();
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    assert!(elapsed < Duration::from_secs(20), "cut after {elapsed:?}");
    let c = json(addr, "/api/connections");
    assert!(c["counters"]["timeout_head"].as_u64().unwrap() >= 1, "{c}");
}

#[test]
fn idle_keep_alive_times_out_and_is_advertised() {
    let p = Provider::start(&["--idle-timeout-ms", "1000"]);
    let mut c = Conn::open(p.addr).unwrap();
    let r = c.get("/api/status", "").unwrap();
    assert_eq!(r.header("keep-alive"), Some("timeout=1"));
    std::thread::sleep(Duration::from_millis(1800));
    assert_eq!(
        c.get("/api/status", "").unwrap_err(),
        Failure::ClosedBeforeResponse
    );
    let c = json(p.addr, "/api/connections");
    assert!(c["counters"]["timeout_idle"].as_u64().unwrap() >= 1, "{c}");
}

#[test]
fn live_event_stream_is_not_evicted_by_a_crowd_of_idle_connections() {
    let p = Provider::start(&[]);
    let mut stream = TcpStream::connect(p.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream
        .write_all(b"GET /api/events HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 8192];
    let n = stream.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).contains("text/event-stream"));
    // 40 newcomers, each doing one request and staying idle: the table overflows.
    let mut idle = Vec::new();
    for _ in 0..40 {
        let mut c = Conn::open(p.addr).unwrap();
        assert_eq!(c.get("/api/status", "").unwrap().status, 200);
        idle.push(c);
    }
    // The stream still delivers events.
    let mut got = 0;
    let t0 = Instant::now();
    while got < 2 && t0.elapsed() < Duration::from_secs(6) {
        if let Ok(n) = stream.read(&mut buf) {
            assert!(n > 0, "stream was closed");
            got += String::from_utf8_lossy(&buf[..n])
                .matches("event: snapshot")
                .count();
        }
    }
    assert!(got >= 2, "stream starved or evicted");
    let c = json(p.addr, "/api/connections");
    assert_eq!(c["counters"]["evicted_stream"], 0);
    assert!(c["streams"].as_u64().unwrap() >= 1, "{c}");
}

#[test]
fn invalid_budgets_are_refused_at_start_up() {
    for (args, want) in [
        (&["--max-sockets", "31"][..], "overcommitted"),
        (&["--max-sockets", "0"][..], "at least 1"),
        (
            &["--stack-sockets", "8", "--max-sockets", "7"][..],
            "overcommitted",
        ),
        (&["--pool-buffers", "0"][..], "--pool-buffers"),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_provider"))
            .args(["--bind", "127.0.0.1:0"])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
    }
}

#[test]
fn no_victim_means_a_short_wait_then_503_with_retry_after() {
    // Two sockets, both held by live event streams (never evicted by default).
    let p = Provider::start(&["--max-sockets", "2", "--queue-timeout-ms", "300"]);
    let mut streams = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(p.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(b"GET /api/events HTTP/1.1\r\nHost: a\r\n\r\n")
            .unwrap();
        let mut buf = [0u8; 4096];
        assert!(s.read(&mut buf).unwrap() > 0);
        streams.push(s);
    }
    let t0 = Instant::now();
    let r = common::get(p.addr, "/api/status").unwrap();
    assert_eq!(r.status, 503);
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(
        t0.elapsed() >= Duration::from_millis(250),
        "it waited first"
    );
    drop(streams);
    // The streams' sockets are freed: the next request is served.
    let t0 = Instant::now();
    loop {
        match common::get(p.addr, "/api/status") {
            Ok(r) if r.status == 200 => break,
            _ if t0.elapsed() < Duration::from_secs(5) => {
                std::thread::sleep(Duration::from_millis(100))
            }
            other => panic!("not served after the streams left: {other:?}"),
        }
    }
    let c = json(p.addr, "/api/connections");
    assert!(c["counters"]["refused_503"].as_u64().unwrap() >= 1, "{c}");
}
