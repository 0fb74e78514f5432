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
    pub fn start(args: &[&str]) -> Provider {
        // The older tests speak with short made-up names (`Host: a`, `device.local`):
        // they are allowed here so those tests keep testing what they test. The Host
        // allowlist itself is tested in `security.rs`, which passes its own.
        let names: &[&str] = if args.contains(&"--allowed-host") {
            &[]
        } else {
            &["--allowed-host", "a", "--allowed-host", "device.local"]
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_provider"))
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

/// A parsed response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Why a request failed.
#[derive(Debug, PartialEq, Eq)]
pub enum Failure {
    /// The connection ended before any byte of a response: a browser retries these.
    ClosedBeforeResponse,
    /// Anything else: a timeout, or a broken response.
    Broken(String),
}

/// Reads one response from a keep-alive connection.
pub fn read_response(
    r: &mut BufReader<TcpStream>,
    head_request: bool,
) -> Result<Response, Failure> {
    let mut status_line = String::new();
    match r.read_line(&mut status_line) {
        Ok(0) => return Err(Failure::ClosedBeforeResponse),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
            ) =>
        {
            return Err(Failure::ClosedBeforeResponse)
        }
        Err(e) => return Err(Failure::Broken(format!("reading status: {e}"))),
        Ok(_) => {}
    }
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Failure::Broken(format!("bad status line {status_line:?}")))?;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line)
            .map_err(|e| Failure::Broken(e.to_string()))?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (n, v) = line
            .split_once(':')
            .ok_or_else(|| Failure::Broken(line.into()))?;
        headers.push((n.trim().to_string(), v.trim().to_string()));
    }
    let mut resp = Response {
        status,
        headers,
        body: Vec::new(),
    };
    if head_request || status == 304 || status == 204 || status < 200 {
        return Ok(resp);
    }
    if let Some(len) = resp.header("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| Failure::Broken("bad length".into()))?;
        resp.body.resize(len, 0);
        r.read_exact(&mut resp.body)
            .map_err(|e| Failure::Broken(format!("body: {e}")))?;
    } else if resp
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        loop {
            let mut size = String::new();
            r.read_line(&mut size)
                .map_err(|e| Failure::Broken(e.to_string()))?;
            let n = usize::from_str_radix(size.trim(), 16)
                .map_err(|_| Failure::Broken(format!("chunk {size:?}")))?;
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk)
                .map_err(|e| Failure::Broken(e.to_string()))?;
            if n == 0 {
                break;
            }
            resp.body.extend_from_slice(&chunk[..n]);
        }
    } else {
        r.read_to_end(&mut resp.body)
            .map_err(|e| Failure::Broken(e.to_string()))?;
    }
    Ok(resp)
}

/// A keep-alive connection.
pub struct Conn {
    pub reader: BufReader<TcpStream>,
}

impl Conn {
    pub fn open(addr: SocketAddr) -> std::io::Result<Conn> {
        let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        s.set_read_timeout(Some(Duration::from_secs(6)))?;
        s.set_nodelay(true)?;
        Ok(Conn {
            reader: BufReader::new(s),
        })
    }

    pub fn get(&mut self, path: &str, extra: &str) -> Result<Response, Failure> {
        let req = format!("GET {path} HTTP/1.1\r\nHost: device.local\r\n{extra}\r\n");
        if let Err(e) = self.reader.get_mut().write_all(req.as_bytes()) {
            return Err(
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
                ) {
                    Failure::ClosedBeforeResponse
                } else {
                    Failure::Broken(e.to_string())
                },
            );
        }
        read_response(&mut self.reader, false)
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

/// The paths a browser fetches for the dashboard: the page, every asset it names, and
/// the first API call.
pub fn page_paths(addr: SocketAddr) -> Vec<String> {
    let index = get(addr, "/").expect("index").text();
    let mut paths = vec!["/".to_string()];
    for attr in ["src=\"", "href=\""] {
        for piece in index.split(attr).skip(1) {
            let p = piece.split('"').next().unwrap_or("");
            if p.starts_with('/') && !paths.iter().any(|x| x == p) {
                paths.push(p.to_string());
            }
        }
    }
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

/// A browser: up to `conns` keep-alive connections, requests spread over them, a
/// request that dies before any response byte on a *reused* connection is retried once
/// on a new connection (as browsers do); a fresh connection gets no second chance.
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
        for attempt in 0..2 {
            let reused = self.conns[i].as_ref().is_some_and(|(_, used)| *used > 0);
            if self.conns[i].is_none() {
                match Conn::open(self.addr) {
                    Ok(c) => self.conns[i] = Some((c, 0)),
                    Err(e) => {
                        load.failed += 1;
                        load.errors.push(format!("connect: {e}"));
                        return None;
                    }
                }
            }
            let (conn, used) = self.conns[i].as_mut().unwrap();
            match conn.get(path, "Accept-Encoding: gzip\r\n") {
                Ok(r) => {
                    *used += 1;
                    if r.header("connection")
                        .is_some_and(|v| v.eq_ignore_ascii_case("close"))
                    {
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
                Err(Failure::ClosedBeforeResponse) if reused && attempt == 0 => {
                    load.retries += 1;
                    self.conns[i] = None;
                }
                Err(e) => {
                    self.conns[i] = None;
                    load.failed += 1;
                    load.errors.push(format!("{path}: {e:?} (reused={reused})"));
                    return None;
                }
            }
        }
        None
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

pub fn json(addr: SocketAddr, path: &str) -> serde_json::Value {
    let r = get(addr, path).unwrap_or_else(|e| panic!("{path}: {e:?}"));
    assert_eq!(r.status, 200, "{path}");
    serde_json::from_slice(&r.body).unwrap()
}

pub fn percentile(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    if v.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[idx]
}
