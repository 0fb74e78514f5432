//! A browser loading the page: a few keep-alive connections opened up front
//! (preconnect), the page on the first, then every asset in parallel on the others,
//! each request sent again by the browser's retry rule (`portico_testkit::browser`):
//! once, when a connection that was already open closes before any response byte.
//!
//! The newcomer (`crate::newcomer`) and the device-stack bench (`device-bench`: page
//! loads per second, the crowd) all load the page this way.

use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::client::{self, Failure};
use portico_testkit::{retry, Connection};

/// A browser: its address and its connections (`None` = not open).
#[derive(Debug)]
pub struct Browser {
    /// The server.
    pub addr: SocketAddr,
    /// The browser's own address (`None`: the kernel's choice).
    pub source: Option<IpAddr>,
    /// Its connections, kept between loads as a browser keeps them.
    pub conns: Vec<Option<TcpStream>>,
}

/// What one page load (or a series of requests) met.
#[derive(Debug, Clone, Default)]
pub struct PageLoad {
    /// Files answered with 200.
    pub ok: usize,
    /// Files that failed (another status, a refused or reset connection, the deadline).
    pub failed: usize,
    /// Requests sent again on a new connection.
    pub retries: usize,
    /// Failures, one line each.
    pub errors: Vec<String>,
}

impl PageLoad {
    /// Counts one request's result.
    pub fn record(&mut self, path: &str, result: Result<u16, Failure>, retries: usize) {
        self.retries += retries;
        match result {
            Ok(200) => self.ok += 1,
            Ok(status) => {
                self.failed += 1;
                self.errors.push(format!("{path}: status {status}"));
            }
            Err(e) => {
                self.failed += 1;
                self.errors.push(format!("{path}: {e}"));
            }
        }
    }

    /// Adds another load's counts to these.
    pub fn add(&mut self, other: PageLoad) {
        self.ok += other.ok;
        self.failed += other.failed;
        self.retries += other.retries;
        self.errors.extend(other.errors);
    }
}

impl Browser {
    /// A browser with `conns` connection slots, none open yet.
    pub fn new(addr: SocketAddr, source: Option<IpAddr>, conns: usize) -> Browser {
        assert!(conns > 0, "a browser needs a connection");
        Browser {
            addr,
            source,
            conns: (0..conns).map(|_| None).collect(),
        }
    }

    /// Opens every slot that is not open, all at once as a browser does (a failed
    /// connect leaves it closed: the request that needs it connects again).
    pub fn preconnect(&mut self, timeout: Duration) {
        let (addr, source) = (self.addr, self.source);
        std::thread::scope(|s| {
            for c in self.conns.iter_mut().filter(|c| c.is_none()) {
                s.spawn(move || *c = client::connect(addr, source, timeout).ok());
            }
        });
    }

    /// Loads the page: `paths[0]` on the first connection, then, once it is in, the rest
    /// in parallel over the other connections (round robin when there are more files
    /// than connections; a browser with one connection fetches them all in turn).
    /// Everything not answered by `deadline` fails.
    pub fn load(&mut self, paths: &[String], deadline: Instant) -> PageLoad {
        let mut load = PageLoad::default();
        let Some((page, assets)) = paths.split_first() else {
            return load;
        };
        let (r, retries) = self.request(0, page, deadline);
        load.record(page, r, retries);
        if load.failed > 0 || assets.is_empty() {
            return load;
        }
        let (addr, source) = (self.addr, self.source);
        let lanes: &mut [Option<TcpStream>] = if self.conns.len() > 1 {
            &mut self.conns[1..]
        } else {
            &mut self.conns[..]
        };
        let n = lanes.len();
        let results: Vec<PageLoad> = std::thread::scope(|s| {
            let hs: Vec<_> = lanes
                .iter_mut()
                .enumerate()
                .map(|(lane, conn)| {
                    s.spawn(move || {
                        let mut l = PageLoad::default();
                        for p in assets.iter().skip(lane).step_by(n) {
                            let (r, retries) = fetch(addr, source, conn, p, deadline);
                            l.record(p, r, retries);
                        }
                        l
                    })
                })
                .collect();
            hs.into_iter()
                .map(|h| h.join().expect("browser lane"))
                .collect()
        });
        results.into_iter().for_each(|l| load.add(l));
        load
    }

    /// `GET path` on connection slot `i` (opening it when closed), with the retry rule.
    /// Returns the status (or the failure) and how often it was sent again.
    pub fn request(
        &mut self,
        i: usize,
        path: &str,
        deadline: Instant,
    ) -> (Result<u16, Failure>, usize) {
        fetch(self.addr, self.source, &mut self.conns[i], path, deadline)
    }
}

/// One request on `conn` with the browser's retry rule.
fn fetch(
    addr: SocketAddr,
    source: Option<IpAddr>,
    conn: &mut Option<TcpStream>,
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
            match client::connect(addr, source, left) {
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
