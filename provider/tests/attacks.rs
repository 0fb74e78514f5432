//! Attacks on the real provider over loopback, each bounded in time and in count:
//! slowloris, a connection flood, request smuggling, path traversal, oversized requests.
//!
//!     cargo test -p provider --test attacks
//!
//! Statuses follow RFC 9112 / RFC 9110:
//! - anything that makes the body length ambiguous is 400 and the connection closes
//!   (§6.3: CL with TE, conflicting or malformed CL, a TE list whose final coding is not
//!   `chunked`; §5.1/§5.2: whitespace before the colon, obsolete line folding; §2.2: bare
//!   LF/CR line endings) — and nothing sent behind such a head is ever answered;
//! - a transfer coding the server does not implement, in front of a final `chunked`, is
//!   501 (§6.1: "SHOULD respond with 501"); when `chunked` is not final §6.3 makes it a
//!   400 (MUST), whatever the other codings are;
//! - 414 for a long target, 431 for a large head (RFC 6585), 413 for a declared body
//!   over the limit.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::{get, json, page_paths, Browser, Provider};

/// A request pipelined behind an attack: it must never be answered.
const SMUGGLED: &[u8] = b"GET /api/link HTTP/1.1\r\nHost: a\r\n\r\n";

/// Sends `bytes`, reads until the server closes; fails if it does not close in 5 s.
fn exchange(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = s.write_all(bytes);
    let t0 = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => panic!(
                "connection not closed after {:?} ({e}); got {:?}",
                t0.elapsed(),
                String::from_utf8_lossy(&out)
            ),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The status codes of the responses in `out`, in order.
fn statuses(out: &str) -> Vec<u16> {
    out.match_indices("HTTP/1.1 ")
        .filter_map(|(i, _)| out.get(i + 9..i + 12)?.parse().ok())
        .collect()
}

fn memory_used(addr: SocketAddr, region: &str) -> u64 {
    let m = json(addr, "/api/memory");
    m["regions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == region)
        .unwrap()["used"]
        .as_u64()
        .unwrap()
}

/// Internal RAM in use that is not the pool's cached buffers: connection state only.
/// Read on a connection of its own, which is itself one admitted connection.
fn state_bytes(addr: SocketAddr) -> (u64, u64) {
    let used = memory_used(addr, "internal");
    let pool = json(addr, "/api/pool");
    let cached = pool["in_internal"].as_u64().unwrap() * pool["chunk_size"].as_u64().unwrap();
    (used - cached, pool["allocated"].as_u64().unwrap())
}

fn wait_until(deadline: Duration, mut f: impl FnMut() -> bool) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < deadline {
        if f() {
            return true;
        }
        thread::sleep(Duration::from_millis(100));
    }
    f()
}

fn open_connections(addr: SocketAddr) -> u64 {
    json(addr, "/api/connections")["open"].as_u64().unwrap()
}

/// A small runtime for the socket options std lacks (bind before connect, SO_LINGER).
fn io_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Connects from another loopback address, as an attacker on another host would.
fn connect_from(
    rt: &tokio::runtime::Runtime,
    ip: Ipv4Addr,
    to: SocketAddr,
) -> std::io::Result<TcpStream> {
    rt.block_on(async {
        let sock = tokio::net::TcpSocket::new_v4()?;
        sock.bind(SocketAddr::V4(SocketAddrV4::new(ip, 0)))?;
        let s = tokio::time::timeout(Duration::from_secs(2), sock.connect(to))
            .await
            .map_err(|_| std::io::Error::from(ErrorKind::TimedOut))??;
        let s = s.into_std()?;
        s.set_nonblocking(false)?;
        Ok(s)
    })
}

/// Closes with a reset (SO_LINGER 0) instead of a FIN.
fn reset(rt: &tokio::runtime::Runtime, s: TcpStream) {
    rt.block_on(async {
        if s.set_nonblocking(true).is_ok() {
            if let Ok(t) = tokio::net::TcpStream::from_std(s) {
                let _ = t.set_zero_linger();
            }
        }
    });
}

// ---------------------------------------------------------------------------------------
// Slowloris

/// 100 connections from one attacker drip a never-ending request head, a byte at a
/// time, and reconnect whenever they are cut: more than the socket budget. A browser on
/// another address must still load the whole page, twice.
#[test]
fn slowloris_100_dripping_connections_do_not_lock_out_a_browser() {
    slowloris(100, Ipv4Addr::new(127, 0, 0, 2));
}

/// 40 dripping connections from the browser's own address (one NAT, one host): the
/// server judges each connection by what it does, so the browser is served like any
/// other and only the drippers are cut.
#[test]
fn slowloris_from_the_browsers_own_address_does_not_lock_it_out() {
    slowloris(40, Ipv4Addr::LOCALHOST);
}

/// Twelve dripping connections: half the socket budget, but more than the ten pool
/// buffers. Each holds a buffer while its head trickles in; the browser must still get
/// buffers for its requests.
#[test]
fn slowloris_12_dripping_connections_do_not_starve_the_buffer_pool() {
    slowloris(12, Ipv4Addr::new(127, 0, 0, 2));
}

fn slowloris(drippers: usize, attacker: Ipv4Addr) {
    let p = Provider::start(&[]);
    let addr = p.addr;
    let paths = page_paths(addr);
    if connect_from(&io_runtime(), attacker, addr).is_err() {
        eprintln!("127.0.0.2 not usable here; the attack comes from 127.0.0.1");
    }
    let stop = Arc::new(AtomicBool::new(false));
    let cuts = Arc::new(AtomicUsize::new(0));
    let drip = {
        let (stop, cuts) = (stop.clone(), cuts.clone());
        thread::spawn(move || {
            let rt = io_runtime();
            const HEAD: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\nX-Slow: ";
            let open = |i: usize| -> Option<(TcpStream, usize)> {
                let s = connect_from(&rt, attacker, addr)
                    .or_else(|_| TcpStream::connect(addr))
                    .ok()?;
                s.set_nonblocking(true).ok()?;
                let _ = i;
                Some((s, 0))
            };
            let mut conns: Vec<Option<(TcpStream, usize)>> = (0..drippers).map(open).collect();
            let mut sent = 0usize;
            while !stop.load(Ordering::Relaxed) {
                for (i, slot) in conns.iter_mut().enumerate() {
                    let alive = match slot {
                        Some((s, at)) => {
                            let b = if *at < HEAD.len() { HEAD[*at] } else { b'a' };
                            let mut sink = [0u8; 512];
                            let cut = match s.read(&mut sink) {
                                Ok(_) => true, // an answer (408) or EOF: cut
                                Err(e) => e.kind() != ErrorKind::WouldBlock,
                            };
                            if !cut && s.write(&[b]).is_ok() {
                                *at += 1;
                                sent += 1;
                                true
                            } else {
                                false
                            }
                        }
                        None => false,
                    };
                    if !alive {
                        if slot.is_some() {
                            cuts.fetch_add(1, Ordering::Relaxed);
                        }
                        *slot = open(i);
                    }
                }
                thread::sleep(Duration::from_millis(200));
            }
            sent
        })
    };
    // Let the attack fill every socket first.
    thread::sleep(Duration::from_millis(1500));
    let t0 = Instant::now();
    let mut browser = Browser::new(addr, 6);
    let load = browser.load(&paths);
    let second = browser.load(&paths);
    let elapsed = t0.elapsed();
    stop.store(true, Ordering::Relaxed);
    let bytes = drip.join().unwrap();
    let conns = json(addr, "/api/connections");
    eprintln!(
        "slowloris with {drippers}: page {} ok / {} failed in {:?}, reload {} ok / {} failed; {} drip bytes, {} cuts; counters {}",
        load.ok,
        load.failed,
        load.elapsed,
        second.ok,
        second.failed,
        bytes,
        cuts.load(Ordering::Relaxed),
        conns["counters"]
    );
    assert_eq!(
        load.failed, 0,
        "page load under slowloris: {:?}",
        load.errors
    );
    assert_eq!(load.ok, paths.len());
    assert_eq!(
        second.failed, 0,
        "reload under slowloris: {:?}",
        second.errors
    );
    assert!(
        elapsed < Duration::from_secs(15),
        "page loads took {elapsed:?}"
    );
    // And after the attack the server is itself again.
    assert_eq!(get(addr, "/api/status").unwrap().status, 200);
}

// ---------------------------------------------------------------------------------------
// Connection flood

/// 2 000 connections opened and closed as fast as four threads can: bare connects, half
/// a request then FIN, half a request then RST, a whole request never read. Afterwards
/// every connection's state is released (internal RAM back to its baseline, give or take
/// the pool's cached buffers) and the server answers.
#[test]
fn connection_flood_2000_leaves_memory_at_baseline_and_the_server_answering() {
    let p = Provider::start(&["--head-timeout-ms", "1500"]);
    let addr = p.addr;
    // Warm up, then the baseline: one admitted connection (the one asking).
    assert_eq!(get(addr, "/api/status").unwrap().status, 200);
    let (baseline, chunks_before) = state_bytes(addr);
    let t0 = Instant::now();
    let failures = AtomicUsize::new(0);
    thread::scope(|s| {
        for t in 0..4 {
            let failures = &failures;
            s.spawn(move || {
                let rt = io_runtime();
                for i in 0..500 {
                    let Ok(mut c) = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
                    else {
                        failures.fetch_add(1, Ordering::Relaxed);
                        continue;
                    };
                    match (i + t) % 4 {
                        0 => {}
                        1 => {
                            let _ = c.write_all(b"GET /api/status HTTP/1.1\r\nHo");
                        }
                        2 => {
                            let _ =
                                c.write_all(b"POST /api/status HTTP/1.1\r\nHost: a\r\nContent-Le");
                            reset(&rt, c);
                            continue;
                        }
                        _ => {
                            let _ = c.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
                        }
                    }
                    drop(c);
                }
            });
        }
    });
    let flood = t0.elapsed();
    // Every flooded connection is closed server-side within the head deadline.
    let drained = wait_until(Duration::from_secs(20), || open_connections(addr) <= 1);
    let c = json(addr, "/api/connections");
    assert!(drained, "connections still open after the flood: {c}");
    let (after, chunks_after) = state_bytes(addr);
    eprintln!(
        "flood: 2000 connects in {flood:?}, {} connect failures; state bytes {baseline} -> {after}, \
         pool chunks {chunks_before} -> {chunks_after}; counters {}",
        failures.load(Ordering::Relaxed),
        c["counters"]
    );
    assert_eq!(
        after, baseline,
        "connection state not released after the flood"
    );
    let m = json(addr, "/api/memory");
    for r in m["regions"].as_array().unwrap() {
        assert!(r["used"].as_u64().unwrap() <= r["capacity"].as_u64().unwrap());
    }
    // Still serving, and serving normally.
    for _ in 0..5 {
        assert_eq!(get(addr, "/api/status").unwrap().status, 200);
    }
    assert_eq!(get(addr, "/").unwrap().status, 200);
}

// ---------------------------------------------------------------------------------------
// Request smuggling

/// Framing attacks: each is answered with its status and `Connection: close`, the
/// connection is closed, and the request pipelined behind it is never answered.
#[test]
fn smuggling_variants_are_refused_and_what_follows_is_never_served() {
    let p = Provider::start(&[]);
    let cl =
        |v: &str| format!("POST /api/status HTTP/1.1\r\nHost: a\r\nContent-Length: {v}\r\n\r\n");
    let te = |v: &str| {
        format!("POST /api/status HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: {v}\r\n\r\n0\r\n\r\n")
    };
    let cases: Vec<(&str, String, u16)> = vec![
        ("CL + TE", "POST /api/status HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".into(), 400),
        ("TE + CL", "POST /api/status HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n".into(), 400),
        ("CL + TE with odd casing", "POST /api/status HTTP/1.1\r\nHost: a\r\ncontent-length: 5\r\nTRANSFER-ENCODING: Chunked\r\n\r\n0\r\n\r\n".into(), 400),
        ("two different CL", "POST /api/status HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n".into(), 400),
        ("CL list with two values", cl("5, 6"), 400),
        ("CL with a plus sign", cl("+5"), 400),
        ("CL negative", cl("-5"), 400),
        ("CL in hex", cl("0x5"), 400),
        ("CL with a decimal point", cl("5.0"), 400),
        ("CL with inner space", cl("5 5"), 400),
        ("CL empty", cl(""), 400),
        // Syntactically a length (1*DIGIT), past u64: too large, like any over the limit.
        ("CL overflowing u64", cl("99999999999999999999999"), 413),
        ("CL with a comma only", cl(","), 400),
        ("whitespace before the colon (CL)", "POST /api/status HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\n".into(), 400),
        ("whitespace before the colon (TE)", "POST /api/status HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n".into(), 400),
        ("tab before the colon (TE)", "POST /api/status HTTP/1.1\r\nHost: a\r\nTransfer-Encoding\t: chunked\r\n\r\n0\r\n\r\n".into(), 400),
        ("obsolete line folding", "GET /api/status HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n".into(), 400),
        ("TE folded onto the next line", "POST /api/status HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n chunked\r\n\r\n0\r\n\r\n".into(), 400),
        ("header line starting with a space", "POST /api/status HTTP/1.1\r\n Transfer-Encoding: chunked\r\nHost: a\r\n\r\n0\r\n\r\n".into(), 400),
        ("bare LF after the request line", "GET /api/status HTTP/1.1\nHost: a\r\n\r\n".into(), 400),
        ("bare LF everywhere", "GET /api/status HTTP/1.1\nHost: a\n\n".into(), 400),
        ("bare LF ending the head", "GET /api/status HTTP/1.1\r\nHost: a\r\n\n".into(), 400),
        ("bare CR inside a header", "GET /api/status HTTP/1.1\r\nHost: a\rX-B: c\r\n\r\n".into(), 400),
        ("NUL in a header value", "GET /api/status HTTP/1.1\r\nHost: a\r\nX-B: c\0d\r\n\r\n".into(), 400),
        ("vertical tab before chunked", te("\x0bchunked"), 400),
        ("chunked, identity", te("chunked, identity"), 400),
        ("chunked twice in one list", te("chunked, chunked"), 400),
        ("chunked twice in two lines", "POST /api/status HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".into(), 400),
        ("chunked on HTTP/1.0", "POST /api/status HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".into(), 400),
        ("two Host headers", "GET /api/status HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n".into(), 400),
        ("unknown coding before chunked", te("gzip, chunked"), 501),
        ("identity before chunked", te("identity, chunked"), 501),
    ];
    let mut wrong = Vec::new();
    for (name, head, want) in &cases {
        let mut bytes = head.clone().into_bytes();
        bytes.extend_from_slice(SMUGGLED);
        let out = exchange(p.addr, &bytes);
        let got = statuses(&out);
        let status_ok = got == [*want];
        if !status_ok || !out.contains("Connection: close\r\n") {
            wrong.push(format!(
                "{name}: want [{want}] + close, got {got:?}: {:?}",
                out.lines().next()
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} cases wrong:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
    assert_eq!(get(p.addr, "/api/status").unwrap().status, 200);
}

/// RFC 9112 §6.3: "If a Transfer-Encoding header field is present in a request and the
/// chunked transfer coding is not the final encoding, the message body length cannot be
/// determined reliably; the server MUST respond with the 400 (Bad Request) status code
/// and then close the connection." That holds whether or not the server knows the other
/// codings (§6.1's 501 is a SHOULD for codings it does not understand).
#[test]
fn te_whose_final_coding_is_not_chunked_is_400() {
    let p = Provider::start(&[]);
    let mut wrong = Vec::new();
    for coding in [
        "identity",
        "gzip",
        "xchunked",
        "chunkedx",
        "gzip, identity",
        "\"chunked\"",
    ] {
        let mut bytes = format!(
            "POST /api/status HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: {coding}\r\n\r\n0\r\n\r\n"
        )
        .into_bytes();
        bytes.extend_from_slice(SMUGGLED);
        let out = exchange(p.addr, &bytes);
        let got = statuses(&out);
        assert_eq!(got.len(), 1, "{coding}: {out:?}");
        assert!(out.contains("Connection: close\r\n"));
        if got != [400] {
            wrong.push(format!("Transfer-Encoding: {coding} -> {}", got[0]));
        }
    }
    assert!(
        wrong.is_empty(),
        "RFC 9112 §6.3 requires 400:\n{}",
        wrong.join("\n")
    );
}

/// Broken chunked framing after the response has gone out: the connection closes and
/// the request behind the body is not answered (the body reader never resynchronises
/// on attacker-chosen bytes).
#[test]
fn broken_chunked_bodies_close_the_connection_before_anything_behind_them() {
    let p = Provider::start(&[]);
    let bodies: &[(&str, &[u8])] = &[
        ("bare LF after the size", b"3\nabc\r\n0\r\n\r\n"),
        ("bare LF in an extension", b"3;a\nabc\r\n0\r\n\r\n"),
        ("data longer than the size", b"3\r\nabcd\r\n0\r\n\r\n"),
        ("size in hex with 0x", b"0x3\r\nabc\r\n0\r\n\r\n"),
        ("negative size", b"-3\r\nabc\r\n0\r\n\r\n"),
        ("size overflowing 64 bits", b"fffffffffffffffff\r\n"),
        ("leading space in the size", b" 3\r\nabc\r\n0\r\n\r\n"),
        ("bare LF in a trailer", b"0\r\nX-T: y\n\r\n"),
        ("no CRLF after the data", b"3\r\nabc0\r\n\r\n"),
        ("over the body limit", b"10001\r\n"),
    ];
    let mut wrong = Vec::new();
    for (name, body) in bodies {
        let mut bytes =
            b"GET /api/status HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        bytes.extend_from_slice(body);
        bytes.extend_from_slice(SMUGGLED);
        let out = exchange(p.addr, &bytes);
        let got = statuses(&out);
        // The route answers before reading the body; the drain then finds the fault and
        // closes: the pipelined /api/link is never answered.
        if got != [200] || out.contains("\"configured\"") {
            wrong.push(format!("{name}: {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // Legal variants are served normally, with what follows them.
    let ok: &[&[u8]] = &[
        b"GET /api/status HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        b"GET /api/status HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked \r\n\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n",
        b"GET /api/status HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc",
        b"GET /api/status HTTP/1.1\r\nHost: a\r\nContent-Length: 003\r\n\r\nabc",
    ];
    for head in ok {
        let mut bytes = head.to_vec();
        bytes.extend_from_slice(b"GET /api/link HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        let out = exchange(p.addr, &bytes);
        assert_eq!(
            statuses(&out),
            [200, 200],
            "{:?}: {out}",
            String::from_utf8_lossy(head)
        );
    }
}

// ---------------------------------------------------------------------------------------
// Path traversal

/// Whatever the encoding, a path can only reach the embedded set: 404, the index page
/// (client-side routes), or 400 for a target the parser refuses — never a file on disk.
#[test]
fn path_traversal_never_leaves_the_embedded_assets() {
    let p = Provider::start(&[]);
    let index = get(p.addr, "/").unwrap();
    assert_eq!(index.status, 200);
    let evil: &[&[u8]] = &[
        b"/../Cargo.toml",
        b"/../../../../../../etc/passwd",
        b"/..",
        b"/./Cargo.toml",
        b"//etc/passwd",
        b"/%2e%2e/%2e%2e/etc/passwd",
        b"/%2E%2E/Cargo.toml",
        b"/..%2fCargo.toml",
        b"/..%2F..%2Fetc%2Fpasswd",
        b"/%2e%2e%2f%2e%2e%2fCargo.toml",
        b"/%252e%252e/%252e%252e/Cargo.toml",
        b"/%25%32%65%25%32%65/Cargo.toml",
        b"/..\\..\\Cargo.toml",
        b"/..%5c..%5cCargo.toml",
        b"/%5c..%5c..%5cwin.ini",
        b"/%c0%ae%c0%ae/Cargo.toml",
        b"/%c0%ae%c0%ae%c0%afCargo.toml",
        b"/%e0%80%ae%e0%80%ae/Cargo.toml",
        b"/\xc0\xae\xc0\xae/Cargo.toml",
        b"/\xe0\x80\xae\xe0\x80\xae/etc/passwd",
        b"/assets/../../provider/build.rs",
        b"/assets/..;/Cargo.toml",
        b"/index.html/../../Cargo.toml",
        b"/index.html%00.js",
        b"/%00",
        b"/Cargo.toml",
        b"/build.rs",
        b"/src/main.rs",
        b"/.git/config",
        b"/assets/",
        b"/assets",
        b"http://device.local/../Cargo.toml",
        b"/api/../Cargo.toml",
        b"/api/..%2f..%2fCargo.toml",
    ];
    let mut wrong = Vec::new();
    for path in evil {
        let mut req = b"GET ".to_vec();
        req.extend_from_slice(path);
        req.extend_from_slice(b" HTTP/1.1\r\nHost: device.local\r\nConnection: close\r\n\r\n");
        let out = exchange(p.addr, &req);
        let status = statuses(&out).first().copied().unwrap_or(0);
        let body = out.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        let leaked = [
            "[package]",
            "[workspace]",
            "root:",
            "fn main",
            "[core]",
            "[boot loader]",
        ]
        .iter()
        .any(|m| body.contains(m));
        let ok = match status {
            400 | 404 => true,
            200 => body.as_bytes() == index.body.as_slice(),
            _ => false,
        };
        if !ok || leaked {
            wrong.push(format!(
                "{}: {status}, {} body bytes",
                String::from_utf8_lossy(path),
                body.len()
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "escaped the asset set:\n{}",
        wrong.join("\n")
    );
}

// ---------------------------------------------------------------------------------------
// Oversized requests

#[test]
fn oversized_head_uri_and_body_get_431_414_413() {
    let p = Provider::start(&[]);
    let mut many = String::from("GET /api/status HTTP/1.1\r\nHost: a\r\n");
    for i in 0..60 {
        many.push_str(&format!("X-{i}: v\r\n"));
    }
    many.push_str("\r\n");
    let mut big = String::from("GET /api/status HTTP/1.1\r\nHost: a\r\n");
    while big.len() < 16 * 1024 {
        big.push_str("X-Filler: 0123456789012345678901234567890123456789\r\n");
    }
    big.push_str("\r\n");
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("16 KiB head", big.into_bytes(), 431),
        (
            "one 3.5 KB header line",
            format!(
                "GET / HTTP/1.1\r\nHost: a\r\nX-Big: {}\r\n\r\n",
                "b".repeat(3500)
            )
            .into_bytes(),
            431,
        ),
        ("60 headers", many.into_bytes(), 431),
        (
            "2 KB target",
            format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(2000)).into_bytes(),
            414,
        ),
        (
            "100 KB target, no end",
            format!("GET /{}", "a".repeat(100_000)).into_bytes(),
            414,
        ),
        (
            "long query",
            format!(
                "GET /api/status?{} HTTP/1.1\r\nHost: a\r\n\r\n",
                "q=1&".repeat(400)
            )
            .into_bytes(),
            414,
        ),
        (
            "declared 100 MB body",
            b"POST /api/status HTTP/1.1\r\nHost: a\r\nContent-Length: 100000000\r\n\r\n".to_vec(),
            413,
        ),
        (
            "declared 64 KiB + 1 body",
            b"POST /api/status HTTP/1.1\r\nHost: a\r\nContent-Length: 65537\r\n\r\n".to_vec(),
            413,
        ),
        (
            "declared 19-digit body",
            b"POST /api/status HTTP/1.1\r\nHost: a\r\nContent-Length: 9999999999999999999\r\n\r\n"
                .to_vec(),
            413,
        ),
    ];
    let mut wrong = Vec::new();
    for (name, bytes, want) in &cases {
        let t0 = Instant::now();
        let out = exchange(p.addr, bytes);
        let got = statuses(&out);
        if got != [*want] || !out.contains("Connection: close\r\n") {
            wrong.push(format!(
                "{name}: want [{want}], got {got:?} after {:?}",
                t0.elapsed()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // A target right at the limit is not refused: looked up, and not found.
    let at_limit = format!("/{}", "a".repeat(1023));
    assert_eq!(
        get(p.addr, &at_limit).unwrap().status,
        404,
        "1024-byte target"
    );
    assert_eq!(get(p.addr, "/api/status").unwrap().status, 200);
}
