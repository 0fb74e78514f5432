//! Helpers for end-to-end tests: start the real `provider` binary, talk raw HTTP/1.1.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running provider, killed on drop.
pub struct Provider {
    pub addr: SocketAddr,
    child: Child,
}

impl Provider {
    /// Starts the provider built with these tests, or the binary named by `PROVIDER_BIN`
    /// (to run a bench against another build, A/B).
    pub fn start(args: &[&str]) -> Provider {
        // The older tests speak with short made-up names (`Host: a`, `device.local`):
        // they are allowed here so those tests keep testing what they test. The Host
        // allowlist itself is tested in `security.rs`, which passes its own.
        let names: &[&str] = if args.contains(&"--allowed-host") {
            &[]
        } else {
            &["--allowed-host", "a", "--allowed-host", "device.local"]
        };
        let bin = std::env::var_os("PROVIDER_BIN")
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_provider").into());
        let mut child = Command::new(bin)
            .args(["--bind", "127.0.0.1:0"])
            .args(names)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn provider");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        let url = line
            .split("http://")
            .nth(1)
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"));
        let addr = url.trim().trim_end_matches('/').parse().unwrap();
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = String::new();
            while out.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
                sink.clear();
            }
        });
        Provider { addr, child }
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

use portico_testkit::{read_response, retry, Connection};
pub use portico_testkit::{Failure, Response};

/// A keep-alive connection.
pub struct Conn {
    stream: TcpStream,
    /// Bytes read past the last response.
    buf: Vec<u8>,
}

impl Conn {
    pub fn open(addr: SocketAddr) -> std::io::Result<Conn> {
        let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        s.set_read_timeout(Some(Duration::from_secs(6)))?;
        s.set_nodelay(true)?;
        Ok(Conn {
            stream: s,
            buf: Vec::new(),
        })
    }

    /// The client's end of the connection (its `peer` in `/api/connections`).
    pub fn local_addr(&self) -> SocketAddr {
        self.stream.local_addr().unwrap()
    }

    /// `GET path`, named by the address it was sent to, as a browser does for an
    /// address typed in (an IP literal: every stack answers it).
    pub fn get(&mut self, path: &str, extra: &str) -> Result<Response, Failure> {
        let host = self
            .stream
            .peer_addr()
            .map_err(|e| Failure::from_io(&e, false))?;
        let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n");
        self.stream
            .write_all(req.as_bytes())
            .map_err(|e| Failure::from_io(&e, false))?;
        read_response(&mut self.stream, &mut self.buf, false)
    }
}

/// One request on a fresh connection.
pub fn get(addr: SocketAddr, path: &str) -> Result<Response, Failure> {
    Conn::open(addr)
        .map_err(|e| Failure::Broken(e.to_string()))?
        .get(path, "Connection: close\r\n")
}

/// Sends raw bytes, returns everything the server sends until it closes (or 5 s pass).
pub fn raw(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = s.write_all(bytes);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The paths a browser fetches for the dashboard: the page and every asset it names
/// (`portico_testkit::page_paths`, in document order), then the page's first API call.
pub fn page_paths(addr: SocketAddr) -> Vec<String> {
    let index = get(addr, "/").expect("index").text();
    let mut paths = portico_testkit::page_paths(&index);
    paths.push("/api/status".to_string());
    paths
}

/// Outcome of one simulated page load.
#[derive(Debug, Default, Clone)]
pub struct Load {
    pub ok: usize,
    pub failed: usize,
    pub retries: usize,
    pub elapsed: Duration,
    pub errors: Vec<String>,
}

/// A browser: up to `conns` keep-alive connections, requests spread over them, failed
/// requests sent again by the browser's retry rule (`portico_testkit::browser`).
pub struct Browser {
    pub addr: SocketAddr,
    pub conns: Vec<Option<(Conn, usize)>>,
}

impl Browser {
    pub fn new(addr: SocketAddr, conns: usize) -> Browser {
        Browser {
            addr,
            conns: (0..conns).map(|_| None).collect(),
        }
    }

    /// Sends one request on connection slot `i`, with the browser's retry rule.
    pub fn request(&mut self, i: usize, path: &str, load: &mut Load) -> Option<Response> {
        let mut retries = 0;
        loop {
            let connection = if self.conns[i].is_some() {
                Connection::Idle
            } else {
                match Conn::open(self.addr) {
                    Ok(c) => self.conns[i] = Some((c, 0)),
                    Err(e) => {
                        load.failed += 1;
                        load.errors.push(format!("connect: {e}"));
                        return None;
                    }
                }
                Connection::Fresh
            };
            let (conn, used) = self.conns[i].as_mut().unwrap();
            match conn.get(path, "Accept-Encoding: gzip\r\n") {
                Ok(r) => {
                    *used += 1;
                    if r.closes() {
                        self.conns[i] = None;
                    }
                    if r.status == 200 {
                        load.ok += 1;
                    } else {
                        load.failed += 1;
                        load.errors.push(format!("{path}: status {}", r.status));
                    }
                    return Some(r);
                }
                Err(e) => {
                    self.conns[i] = None;
                    if retry(e == Failure::ClosedBeforeResponse, connection, retries) {
                        retries += 1;
                        load.retries += 1;
                        continue;
                    }
                    load.failed += 1;
                    load.errors.push(format!("{path}: {e} ({connection:?})"));
                    return None;
                }
            }
        }
    }

    /// Loads the page: connection `k` fetches paths `k, k+n, k+2n, …` in parallel.
    pub fn load(&mut self, paths: &[String]) -> Load {
        let t0 = Instant::now();
        let n = self.conns.len();
        let mut slots: Vec<Browser> = Vec::new();
        for i in 0..n {
            let mut b = Browser::new(self.addr, 1);
            b.conns[0] = self.conns[i].take();
            slots.push(b);
        }
        let results: Vec<(Browser, Load)> = std::thread::scope(|s| {
            let handles: Vec<_> = slots
                .into_iter()
                .enumerate()
                .map(|(k, mut b)| {
                    s.spawn(move || {
                        let mut l = Load::default();
                        // Browsers open their connections up front (preconnect), whether
                        // or not each one gets a request.
                        if b.conns[0].is_none() {
                            if let Ok(c) = Conn::open(b.addr) {
                                b.conns[0] = Some((c, 0));
                            }
                        }
                        for p in paths.iter().skip(k).step_by(n) {
                            b.request(0, p, &mut l);
                        }
                        (b, l)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut total = Load::default();
        for (i, (mut b, l)) in results.into_iter().enumerate() {
            self.conns[i] = b.conns[0].take();
            total.ok += l.ok;
            total.failed += l.failed;
            total.retries += l.retries;
            total.errors.extend(l.errors);
        }
        total.elapsed = t0.elapsed();
        total
    }
}

/// Ten browsers load the page at once, each on six keep-alive connections it keeps.
pub fn ten_browsers(addr: SocketAddr, paths: &[String]) -> (Vec<Browser>, Vec<Load>) {
    ten_browsers_apart(addr, paths, Duration::ZERO)
}

/// Ten browsers arrive `gap` apart, each loading the page on six keep-alive connections
/// it keeps (the burst of the device simulation: 300 ms apart).
pub fn ten_browsers_apart(
    addr: SocketAddr,
    paths: &[String],
    gap: Duration,
) -> (Vec<Browser>, Vec<Load>) {
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..10u32)
            .map(|i| {
                s.spawn(move || {
                    std::thread::sleep(gap * i);
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

pub fn json(addr: SocketAddr, path: &str) -> serde_json::Value {
    let r = get(addr, path).unwrap_or_else(|e| panic!("{path}: {e:?}"));
    assert_eq!(r.status, 200, "{path}");
    serde_json::from_slice(&r.body).unwrap()
}

/// `/api/link` once `done` holds for it, or as it stands after ten seconds (the caller's
/// asserts then say what was missing).
pub fn link_when(addr: SocketAddr, done: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let t0 = Instant::now();
    loop {
        let v = json(addr, "/api/link");
        if done(&v) || t0.elapsed() > Duration::from_secs(10) {
            return v;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
