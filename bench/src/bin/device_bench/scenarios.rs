//! What each run measures: page loads per second, the newcomer, the crowd. Every
//! browser has its own address on the TAP's network (as phones on a Wi-Fi would), so a
//! server's per-address rules see one peer per browser.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use portico_bench::browser::{Browser, PageLoad};
use portico_bench::newcomer;
use portico_bench::stats::percentile;

/// Where the browsers come from: `first` + i for browser i.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sources {
    pub(crate) first: Ipv4Addr,
    pub(crate) count: usize,
}

impl Sources {
    fn ip(self, i: usize) -> Option<IpAddr> {
        assert!(
            i < self.count,
            "browser {i}: only {} source addresses",
            self.count
        );
        Some(IpAddr::V4(Ipv4Addr::from(u32::from(self.first) + i as u32)))
    }
}

/// `browsers` browsers with six connections each load the page again and again for
/// `duration`, keeping their connections, as a browser reloading with its cache off.
#[derive(Debug, Clone, Default)]
pub(crate) struct Loads {
    /// Page loads with every file answered 200, per second.
    pub(crate) per_second: f64,
    /// Requests that failed.
    pub(crate) failed: usize,
    pub(crate) errors: Vec<String>,
}

pub(crate) fn page_loads(
    addr: SocketAddr,
    paths: &[String],
    sources: Sources,
    browsers: usize,
    duration: Duration,
) -> Loads {
    let t0 = Instant::now();
    let end = t0 + duration;
    let results: Vec<(usize, PageLoad)> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..browsers)
            .map(|i| {
                s.spawn(move || {
                    let mut b = Browser::new(addr, sources.ip(i), 6);
                    let mut total = PageLoad::default();
                    let mut loaded = 0;
                    while Instant::now() < end {
                        b.preconnect(Duration::from_secs(5));
                        let l = b.load(paths, Instant::now() + Duration::from_secs(5));
                        if l.failed == 0 && l.ok == paths.len() {
                            loaded += 1;
                        }
                        total.add(l);
                    }
                    (loaded, total)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().expect("browser")).collect()
    });
    let elapsed = t0.elapsed().as_secs_f64();
    let mut out = Loads::default();
    let loaded: usize = results.iter().map(|(n, _)| n).sum();
    out.per_second = loaded as f64 / elapsed;
    for (_, l) in results {
        out.failed += l.failed;
        out.errors.extend(l.errors);
    }
    out
}

/// Ten browsers hold six keep-alives each, then an eleventh loads the page
/// (`portico_bench::newcomer`), `reps` times.
#[derive(Debug, Clone, Default)]
pub(crate) struct Newcomers {
    pub(crate) reps: usize,
    pub(crate) loaded: usize,
    pub(crate) errors: Vec<String>,
}

pub(crate) fn newcomers(
    addr: SocketAddr,
    paths: &[String],
    sources: Sources,
    reps: usize,
) -> Newcomers {
    assert!(
        sources.count > 10,
        "the newcomer scenario needs 11 addresses"
    );
    let mut out = Newcomers {
        reps,
        ..Newcomers::default()
    };
    for _ in 0..reps {
        let mut sc = newcomer::Scenario::new(addr, paths.to_vec());
        sc.first_source = sources.first;
        let o = newcomer::run(&sc);
        if o.loaded {
            out.loaded += 1;
        } else {
            out.errors.extend(o.errors);
        }
        // The ten browsers' connections closed: let the server see them go.
        std::thread::sleep(Duration::from_millis(500));
    }
    out
}

/// `browsers` browsers arrive at once, load the page on six connections each, then poll
/// `/api/status` once a second on one of them for `poll` (the behavioural suite's
/// crowd: `provider/tests/behaviour.rs`). A file not in within 10 s of the browser's
/// arrival fails (the suite's clients give up on a connect after 5 s and on a response
/// after 6 s more).
#[derive(Debug, Clone, Default)]
pub(crate) struct Crowd {
    /// Failed requests, page loads and polls together.
    pub(crate) failed: usize,
    pub(crate) requests: usize,
    /// Browsers that got every file of the page with 200.
    pub(crate) loaded: usize,
    /// Page-load time of the pages loaded fully (first connect to the last file),
    /// median and 99th percentile; `None` when no page loaded. A failed load is left
    /// out: a refused connection fails a page fast, which is no better.
    pub(crate) p50: Option<Duration>,
    pub(crate) p99: Option<Duration>,
    pub(crate) errors: Vec<String>,
}

pub(crate) fn crowd(
    addr: SocketAddr,
    paths: &[String],
    sources: Sources,
    browsers: usize,
    poll: Duration,
) -> Crowd {
    let barrier = Barrier::new(browsers);
    let results: Vec<(Duration, bool, PageLoad)> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..browsers)
            .map(|i| {
                let barrier = &barrier;
                s.spawn(move || {
                    let mut b = Browser::new(addr, sources.ip(i), 6);
                    barrier.wait();
                    let t0 = Instant::now();
                    b.preconnect(Duration::from_secs(5));
                    let mut l = b.load(paths, t0 + Duration::from_secs(10));
                    let took = t0.elapsed();
                    let loaded = l.failed == 0 && l.ok == paths.len();
                    let polling = Instant::now();
                    while polling.elapsed() < poll {
                        std::thread::sleep(Duration::from_secs(1));
                        let (r, retries) =
                            b.request(0, "/api/status", Instant::now() + Duration::from_secs(5));
                        l.record("/api/status", r, retries);
                    }
                    (took, loaded, l)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().expect("browser")).collect()
    });
    let times: Vec<Duration> = results
        .iter()
        .filter(|(_, loaded, _)| *loaded)
        .map(|(t, _, _)| *t)
        .collect();
    let mut out = Crowd {
        p50: (!times.is_empty()).then(|| percentile(&times, 0.50)),
        p99: (!times.is_empty()).then(|| percentile(&times, 0.99)),
        ..Crowd::default()
    };
    for (_, loaded, l) in results {
        out.loaded += usize::from(loaded);
        out.failed += l.failed;
        out.requests += l.ok + l.failed;
        out.errors.extend(l.errors);
    }
    out
}
