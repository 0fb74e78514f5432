//! The connection manager end to end: many browsers on few sockets, on real loopback
//! sockets against the real binary. Assertions are about behaviour, never timings.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{json, page_paths, Browser, Conn, Failure, Load, Provider};
use portico_testkit::percentile;

fn ten_browsers(addr: std::net::SocketAddr, paths: &[String]) -> (Vec<Browser>, Vec<Load>) {
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..10)
            .map(|_| {
                s.spawn(move || {
                    let mut b = Browser::new(addr, 6);
                    // Every connection is opened: a browser opens ~6 for a page.
                    let l = b.load(paths);
                    (b, l)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).unzip()
    })
}

#[test]
fn eleventh_browser_loads_while_ten_hold_idle_keep_alives() {
    let p = Provider::start(&[]);
    let paths = page_paths(p.addr);
    assert!(paths.len() >= 4, "page and assets: {paths:?}");
    let (_browsers, loads) = ten_browsers(p.addr, &paths);
    let ten_failed: usize = loads.iter().map(|l| l.failed).sum();
    let c = json(p.addr, "/api/connections");
    println!(
        "after ten: {}\npool: {}\nmemory: {}",
        c["counters"],
        json(p.addr, "/api/pool"),
        json(p.addr, "/api/memory")
    );
    assert!(c["open"].as_u64().unwrap() <= 24, "{c}");
    let mut newcomer = Browser::new(p.addr, 6);
    let l = newcomer.load(&paths);
    println!(
        "ten browsers: {} ok, {} failed, {} retries; newcomer: {} ok, {} failed, {} retries, {:?}",
        loads.iter().map(|l| l.ok).sum::<usize>(),
        ten_failed,
        loads.iter().map(|l| l.retries).sum::<usize>(),
        l.ok,
        l.failed,
        l.retries,
        l.elapsed
    );
    assert_eq!(l.failed, 0, "newcomer failed: {:?}", l.errors);
    assert_eq!(l.ok, paths.len());
    assert_eq!(
        ten_failed,
        0,
        "{:?}",
        loads
            .iter()
            .flat_map(|l| l.errors.clone())
            .collect::<Vec<_>>()
    );
    let c = json(p.addr, "/api/connections");
    let evicted = c["counters"]["evicted_idle"].as_u64().unwrap()
        + c["counters"]["evicted_peer_cap"].as_u64().unwrap();
    assert!(evicted > 0, "60 connections on 24 sockets must evict: {c}");
    assert_eq!(c["counters"]["refused_503"], 0, "{c}");
}

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
fn a_crowd_of_fifty_browsers_all_served() {
    let p = Provider::start(&[]);
    let paths = page_paths(p.addr);
    let addr = p.addr;
    let results: Vec<(Load, usize, usize, usize)> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..50)
            .map(|_| {
                let paths = &paths;
                s.spawn(move || {
                    let mut b = Browser::new(addr, 6);
                    let load = b.load(paths);
                    // Then poll /api/status every second for 10 s on one connection.
                    let mut poll = Load::default();
                    let t0 = Instant::now();
                    while t0.elapsed() < Duration::from_secs(10) {
                        std::thread::sleep(Duration::from_secs(1));
                        b.request(0, "/api/status", &mut poll);
                    }
                    (load, poll.ok, poll.failed, poll.retries)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let failed: usize = results.iter().map(|r| r.0.failed + r.2).sum();
    let retries: usize = results.iter().map(|r| r.0.retries + r.3).sum();
    let polls: usize = results.iter().map(|r| r.1).sum();
    let times: Vec<Duration> = results.iter().map(|r| r.0.elapsed).collect();
    let p99 = percentile(&times, 0.99);
    let p50 = percentile(&times, 0.50);
    println!("crowd of 50: page-load p50 {p50:?} p99 {p99:?}; {polls} polls; {retries} retries; {failed} failed");
    let errors: Vec<String> = results.iter().flat_map(|r| r.0.errors.clone()).collect();
    assert_eq!(failed, 0, "{:?}", &errors[..errors.len().min(10)]);
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
