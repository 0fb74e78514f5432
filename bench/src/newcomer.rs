//! The newcomer scenario: ten browsers each hold six keep-alive connections (each has
//! fetched one file of the page), then an eleventh browser loads the page.
//!
//! Every browser has its own address (127.0.0.10, .11, … on loopback;
//! [`Scenario::first_source`] on the device bench), as ten devices would, so per-address
//! fairness rules see ten peers, not one. The newcomer loads the page as
//! [`Browser::load`] does: six connections opened up front, the page on the first, then
//! every asset in parallel on the others, failed requests sent again by the browser's
//! retry rule (`portico_testkit::browser`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use crate::browser::Browser;
use crate::client;
use crate::idle::closed_by_server;

/// What to run.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The server.
    pub addr: SocketAddr,
    /// The page first, then its assets.
    pub paths: Vec<String>,
    /// Browsers holding keep-alives before the newcomer comes.
    pub browsers: usize,
    /// Connections per browser.
    pub conns: usize,
    /// How long the ten browsers wait for their responses before the newcomer starts
    /// (connections still waiting stay open, as a browser's would).
    pub setup_timeout: Duration,
    /// Pause between the ten and the newcomer, so the server sees them idle.
    pub settle: Duration,
    /// The newcomer's page counts as failed when not loaded within this.
    pub page_deadline: Duration,
    /// The first browser's address; browser `i` has this + `i`, the newcomer comes last.
    pub first_source: Ipv4Addr,
}

impl Scenario {
    /// Ten browsers × six connections, 2 s for them, a 5 s deadline for the page.
    pub fn new(addr: SocketAddr, paths: Vec<String>) -> Self {
        Scenario {
            addr,
            paths,
            browsers: 10,
            conns: 6,
            setup_timeout: Duration::from_secs(2),
            settle: Duration::from_millis(100),
            page_deadline: Duration::from_secs(5),
            first_source: Ipv4Addr::new(127, 0, 0, 10),
        }
    }
}

/// What happened in one repetition.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Requests of the ten browsers answered with 200.
    pub ten_ok: usize,
    /// Requests of the ten browsers.
    pub ten_total: usize,
    /// Their connections still open (not closed by the server) when the newcomer came.
    pub ten_open: usize,
    /// Whether the newcomer got every file with 200 within the deadline.
    pub loaded: bool,
    /// Newcomer: from its first connect until its last response (or its failure).
    pub elapsed: Duration,
    /// Newcomer files answered with 200.
    pub ok: usize,
    /// Newcomer files that failed.
    pub failed: usize,
    /// Newcomer requests retried on a new connection.
    pub retries: usize,
    /// Newcomer failures, one line each.
    pub errors: Vec<String>,
}

/// Browser `i`'s address: `first_source` + `i`.
fn browser_ip(sc: &Scenario, i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(u32::from(sc.first_source) + i as u32))
}

/// Runs the scenario once. All its connections are closed when it returns.
pub fn run(sc: &Scenario) -> Outcome {
    assert!(sc.browsers < 200 && sc.conns > 0 && !sc.paths.is_empty());
    let barrier = Barrier::new(sc.browsers);
    let t_setup = Instant::now();
    let held: Vec<(Vec<TcpStream>, usize)> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..sc.browsers)
            .map(|b| {
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    let deadline = t_setup + sc.setup_timeout;
                    let mut conns = Vec::new();
                    for _ in 0..sc.conns {
                        if let Ok(c) =
                            client::connect(sc.addr, Some(browser_ip(sc, b)), sc.setup_timeout)
                        {
                            conns.push(c);
                        }
                    }
                    for (k, c) in conns.iter_mut().enumerate() {
                        let _ = client::send_get(c, &sc.paths[k % sc.paths.len()]);
                    }
                    let mut ok = 0;
                    for c in conns.iter_mut() {
                        if matches!(client::read_response(c, deadline), Ok(r) if r.status == 200) {
                            ok += 1;
                        }
                    }
                    (conns, ok)
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().expect("browser thread"))
            .collect()
    });
    std::thread::sleep(sc.settle);
    let mut out = Outcome {
        ten_ok: held.iter().map(|(_, ok)| ok).sum(),
        ten_total: sc.browsers * sc.conns,
        ..Outcome::default()
    };
    out.ten_open = held
        .iter()
        .map(|(c, _)| c.len() - closed_by_server(c))
        .sum();

    let me = Some(browser_ip(sc, sc.browsers));
    let t0 = Instant::now();
    let deadline = t0 + sc.page_deadline;
    // Preconnect, as browsers do.
    let mut newcomer = Browser::new(sc.addr, me, sc.conns);
    newcomer.preconnect(sc.page_deadline);
    let load = newcomer.load(&sc.paths, deadline);
    out.ok = load.ok;
    out.failed = load.failed;
    out.retries = load.retries;
    out.errors = load.errors;
    out.elapsed = t0.elapsed();
    out.loaded = out.failed == 0 && out.ok == sc.paths.len() && Instant::now() <= deadline;
    drop(held);
    out
}
