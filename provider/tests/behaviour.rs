//! One behavioural suite for both ports: browsers, a newcomer, a crowd and drippers,
//! asserted on behaviour (every request answered), never on timings.
//!
//! By default each test starts the host provider (`--stack host`) on loopback. With
//! `PORTICO_TARGET=ADDR:PORT` the same tests run against a server already running there
//! instead — `scripts/test-device-stack.sh` runs them inside a network namespace against
//! `provider --stack device` (the device port on embassy-net over a TAP), once per
//! profile and once over the emulated Wi-Fi link. `PORTICO_CROWD` sets the crowd's size
//! (default 50: the host's and the ESP32-S3 profile's; 20 for the ESP32-C3 profile).

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::{json, page_paths, ten_browsers_apart, Browser, Load, Provider};
use portico_testkit::percentile;

/// The server under test: a host provider this test started, or `PORTICO_TARGET`.
struct Target {
    addr: SocketAddr,
    _host: Option<Provider>,
}

impl Target {
    fn start() -> Target {
        match std::env::var("PORTICO_TARGET") {
            Ok(t) => Target {
                addr: t
                    .parse()
                    .unwrap_or_else(|e| panic!("PORTICO_TARGET={t:?}: {e}")),
                _host: None,
            },
            Err(_) => {
                let p = Provider::start(&[]);
                Target {
                    addr: p.addr,
                    _host: Some(p),
                }
            }
        }
    }

    /// True when the test started the server itself (a fresh one, nobody else on it).
    fn is_fresh(&self) -> bool {
        self._host.is_some()
    }
}

fn counter(c: &serde_json::Value, name: &str) -> u64 {
    c["counters"][name].as_u64().unwrap_or(0)
}

#[test]
fn a_browser_loads_the_page_twice_and_every_api_document() {
    let t = Target::start();
    let paths = page_paths(t.addr);
    let mut browser = Browser::new(t.addr, 6);
    let first = browser.load(&paths);
    let again = browser.load(&paths);
    assert_eq!(
        first.failed + again.failed,
        0,
        "{:?} {:?}",
        first.errors,
        again.errors
    );
    assert_eq!(first.ok + again.ok, 2 * paths.len());
    for doc in ["status", "connections", "pool", "memory", "link"] {
        let v = json(t.addr, &format!("/api/{doc}"));
        assert!(v.is_object(), "/api/{doc}: {v}");
    }
    let status = json(t.addr, "/api/status");
    println!(
        "platform {}; page {:?}, reload {:?}",
        status["platform"], first.elapsed, again.elapsed
    );
}

#[test]
fn eleventh_browser_loads_while_ten_hold_idle_keep_alives() {
    let t = Target::start();
    let paths = page_paths(t.addr);
    assert!(paths.len() >= 4, "page and assets: {paths:?}");
    let before = json(t.addr, "/api/connections");
    // 300 ms apart, as the device simulation's burst: arriving all at once is the
    // crowd test's matter.
    let (_browsers, loads) = ten_browsers_apart(t.addr, &paths, Duration::from_millis(300));
    let ten_failed: usize = loads.iter().map(|l| l.failed).sum();
    let errors: Vec<String> = loads.iter().flat_map(|l| l.errors.clone()).collect();
    assert_eq!(ten_failed, 0, "ten browsers: {errors:?}");
    let c = json(t.addr, "/api/connections");
    let cap = c["cap"].as_u64().unwrap();
    assert!(c["open"].as_u64().unwrap() <= cap, "{c}");
    let mut newcomer = Browser::new(t.addr, 6);
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
    let c = json(t.addr, "/api/connections");
    let evicted =
        |c: &serde_json::Value| counter(c, "evicted_idle") + counter(c, "evicted_peer_cap");
    assert!(
        evicted(&c) > evicted(&before),
        "60 connections on {cap} sockets must evict: {c}"
    );
    assert_eq!(
        counter(&c, "refused_503"),
        counter(&before, "refused_503"),
        "{c}"
    );
}

#[test]
fn a_crowd_arriving_at_once_and_polling_for_ten_seconds_is_all_served() {
    let t = Target::start();
    let crowd: usize = std::env::var("PORTICO_CROWD")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(50);
    let paths = page_paths(t.addr);
    let addr = t.addr;
    let results: Vec<(Load, Load)> = thread::scope(|s| {
        let hs: Vec<_> = (0..crowd)
            .map(|_| {
                let paths = &paths;
                s.spawn(move || {
                    let mut b = Browser::new(addr, 6);
                    let load = b.load(paths);
                    // Then poll /api/status every second for 10 s on one connection.
                    let mut poll = Load::default();
                    let t0 = Instant::now();
                    while t0.elapsed() < Duration::from_secs(10) {
                        thread::sleep(Duration::from_secs(1));
                        b.request(0, "/api/status", &mut poll);
                    }
                    (load, poll)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let failed: usize = results.iter().map(|(l, p)| l.failed + p.failed).sum();
    let retries: usize = results.iter().map(|(l, p)| l.retries + p.retries).sum();
    let polls: usize = results.iter().map(|(_, p)| p.ok).sum();
    let loads = || results.iter().map(|(l, _)| l.elapsed).collect::<Vec<_>>();
    println!(
        "crowd of {crowd}: page-load p50 {:?} p99 {:?}; {polls} polls; {retries} retries; {failed} failed",
        percentile(&loads(), 0.50),
        percentile(&loads(), 0.99)
    );
    let errors: Vec<String> = results
        .iter()
        .flat_map(|(l, p)| l.errors.iter().chain(&p.errors).cloned())
        .collect();
    assert_eq!(failed, 0, "{:?}", &errors[..errors.len().min(10)]);
    assert!(polls >= crowd, "every browser polled: {polls}");
}

/// Forty connections drip a request head a byte every 200 ms from the browser's own
/// address, and reconnect when cut. The browser on that address must load the page
/// twice, every request answered: each connection is judged by its own behaviour.
#[test]
fn forty_drippers_on_the_browsers_own_address_and_the_browser_is_served() {
    let t = Target::start();
    let addr = t.addr;
    let paths = page_paths(addr);
    let stop = Arc::new(AtomicBool::new(false));
    let cuts = Arc::new(AtomicUsize::new(0));
    let drip = {
        let (stop, cuts) = (stop.clone(), cuts.clone());
        thread::spawn(move || {
            const HEAD: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\nX-Slow: ";
            let open = || -> Option<(TcpStream, usize)> {
                let s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
                s.set_nonblocking(true).ok()?;
                Some((s, 0))
            };
            let mut conns: Vec<Option<(TcpStream, usize)>> = (0..40).map(|_| open()).collect();
            while !stop.load(Ordering::Relaxed) {
                for slot in conns.iter_mut() {
                    let alive = slot.as_mut().is_some_and(|(s, at)| {
                        let mut sink = [0u8; 512];
                        let cut = match s.read(&mut sink) {
                            Ok(_) => true, // an answer (408, 503) or EOF: cut
                            Err(e) => e.kind() != ErrorKind::WouldBlock,
                        };
                        let b = HEAD.get(*at).copied().unwrap_or(b'a');
                        !cut && s.write(&[b]).is_ok() && {
                            *at += 1;
                            true
                        }
                    });
                    if !alive {
                        if slot.is_some() {
                            cuts.fetch_add(1, Ordering::Relaxed);
                        }
                        *slot = open();
                    }
                }
                thread::sleep(Duration::from_millis(200));
            }
        })
    };
    // Let the drippers take their sockets first.
    thread::sleep(Duration::from_millis(1500));
    let mut browser = Browser::new(addr, 6);
    let load = browser.load(&paths);
    let reload = browser.load(&paths);
    stop.store(true, Ordering::Relaxed);
    drip.join().unwrap();
    println!(
        "40 drippers on the browser's address: page {} ok / {} failed, reload {} ok / {} failed, {} cuts; {}",
        load.ok,
        load.failed,
        reload.ok,
        reload.failed,
        cuts.load(Ordering::Relaxed),
        json(addr, "/api/connections")["counters"]
    );
    assert_eq!(load.failed, 0, "page: {:?}", load.errors);
    assert_eq!(reload.failed, 0, "reload: {:?}", reload.errors);
    assert_eq!(load.ok + reload.ok, 2 * paths.len());
    if t.is_fresh() {
        assert!(cuts.load(Ordering::Relaxed) > 0, "drippers must be cut");
    }
}
