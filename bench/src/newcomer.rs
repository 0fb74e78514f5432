//! The newcomer scenario: ten browsers each hold six keep-alive connections (each has
//! fetched one file of the page), then an eleventh browser loads the page.
//!
//! Every browser has its own loopback address (127.0.0.10, .11, …), as ten devices would,
//! so per-address fairness rules see ten peers, not one. A browser opens six connections
//! up front; the newcomer fetches the page on its first one and, once the page is in,
//! every asset in parallel on the others. Failed requests are sent again by the browser's
//! retry rule (`portico_testkit::browser`): once, when a connection that was already open
//! (preconnected or reused) closes before any response byte.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use crate::client::{self, Failure};
use crate::idle::closed_by_server;
use portico_testkit::{retry, Connection};

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

fn browser_ip(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 10 + i as u8))
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
                            client::connect(sc.addr, Some(browser_ip(b)), sc.setup_timeout)
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

    let me = Some(browser_ip(sc.browsers));
    let t0 = Instant::now();
    let deadline = t0 + sc.page_deadline;
    // Preconnect, as browsers do.
    let mut conns: Vec<Option<TcpStream>> = (0..sc.conns)
        .map(|_| client::connect(sc.addr, me, sc.page_deadline).ok())
        .collect();
    let record = |out: &mut Outcome, path: &str, r: Result<u16, Failure>, retries: usize| {
        out.retries += retries;
        match r {
            Ok(200) => out.ok += 1,
            Ok(st) => {
                out.failed += 1;
                out.errors.push(format!("{path}: status {st}"));
            }
            Err(e) => {
                out.failed += 1;
                out.errors.push(format!("{path}: {e}"));
            }
        }
    };
    // The page, on the first connection.
    let (r, retries) = fetch(sc, &mut conns[0], me, &sc.paths[0], deadline);
    record(&mut out, &sc.paths[0], r, retries);
    // Then every asset in parallel on the other connections (round robin when more
    // assets than connections; a single connection serves them all in turn).
    let lanes = sc.conns.saturating_sub(1).max(1);
    let first_lane = if sc.conns > 1 { 1 } else { 0 };
    let assets: Vec<&String> = sc.paths.iter().skip(1).collect();
    if out.failed == 0 && !assets.is_empty() {
        let results: Vec<(String, Result<u16, Failure>, usize)> = std::thread::scope(|s| {
            let hs: Vec<_> = conns
                .iter_mut()
                .skip(first_lane)
                .take(lanes)
                .enumerate()
                .map(|(lane, conn)| {
                    let mine: Vec<&String> =
                        assets.iter().skip(lane).step_by(lanes).copied().collect();
                    s.spawn(move || {
                        mine.into_iter()
                            .map(|p| {
                                let (r, n) = fetch(sc, conn, me, p, deadline);
                                (p.clone(), r, n)
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            hs.into_iter()
                .flat_map(|h| h.join().expect("newcomer thread"))
                .collect()
        });
        for (p, r, n) in results {
            record(&mut out, &p, r, n);
        }
    }
    out.elapsed = t0.elapsed();
    out.loaded = out.failed == 0 && out.ok == sc.paths.len() && Instant::now() <= deadline;
    drop(held);
    out
}

/// One request with the browser's retry rule. Returns the status (or failure) and the
/// number of retries.
fn fetch(
    sc: &Scenario,
    conn: &mut Option<TcpStream>,
    me: Option<IpAddr>,
    path: &str,
    deadline: Instant,
) -> (Result<u16, Failure>, usize) {
    let mut retries = 0;
    loop {
        let connection = if conn.is_some() {
            Connection::Idle
        } else {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return (Err(Failure::Timeout), retries);
            }
            match client::connect(sc.addr, me, left) {
                Ok(c) => *conn = Some(c),
                Err(e) => return (Err(e), retries),
            }
            Connection::Fresh
        };
        let c = conn.as_mut().expect("connected");
        match client::get(c, path, deadline) {
            Ok(r) => {
                if r.closes() {
                    *conn = None;
                }
                return (Ok(r.status), retries);
            }
            Err(e) => {
                *conn = None;
                if retry(
                    e == Failure::ClosedBeforeResponse,
                    connection,
                    retries as u32,
                ) {
                    retries += 1;
                    continue;
                }
                return (Err(e), retries);
            }
        }
    }
}
