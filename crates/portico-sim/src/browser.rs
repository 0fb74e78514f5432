//! A simulated browser: six keep-alive connections per origin, the page first, then its
//! assets in parallel, then the connections held idle until the server closes them.
//!
//! Failure semantics follow what browsers do (`portico_testkit::browser`): a request that
//! fails on a *reused* keep-alive connection (closed before any response byte) is
//! retried once on a fresh connection; a fresh connection that is reset or times out
//! fails its resource.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use embassy_net::tcp::{ConnectError, TcpSocket};
use embassy_net::{IpEndpoint, Stack};
use embassy_time::{with_timeout, Duration, Instant};
use embedded_io_async::Write;

use portico_testkit::{parse_response, retry, Connection, Framing, Parsed};

use crate::executor::Spawner;

/// What a browser experienced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrowserLog {
    /// Resources answered 200.
    pub ok: u32,
    /// Resources that failed for good.
    pub failed: u32,
    /// Connection attempts answered with a reset.
    pub connect_resets: u32,
    /// Connection attempts that timed out.
    pub connect_timeouts: u32,
    /// Established connections reset by the server.
    pub resets: u32,
    /// Requests retried after a reused connection was closed under them.
    pub retries: u32,
    /// `503` answers.
    pub unavailable: u32,
    /// When every resource of the page had an answer (ms of virtual time).
    pub finished_ms: Option<u64>,
    /// When the page started (ms of virtual time).
    pub started_ms: u64,
    /// Longest single request, ms.
    pub slowest_ms: u64,
}

impl BrowserLog {
    /// Whether the whole page loaded.
    pub fn page_loaded(&self) -> bool {
        self.finished_ms.is_some() && self.failed == 0
    }
}

/// Browser settings.
#[derive(Debug, Clone)]
pub struct BrowserConfig {
    /// Connections per origin (browsers use 6).
    pub connections: usize,
    /// The page, then the assets it references.
    pub resources: Vec<&'static str>,
    /// How long one request may take before the browser gives up on it.
    pub request_timeout_ms: u64,
    /// Open every connection once the page has arrived, even with fewer assets left
    /// than connections (browsers preconnect; a dashboard's later API calls use them).
    pub preconnect: bool,
}

struct Shared {
    queue: VecDeque<(&'static str, u8)>,
    outstanding: usize,
}

/// Starts a browser on `stack` loading from `server`; returns its log.
pub fn spawn_browser(
    spawner: &Spawner,
    stack: Stack<'static>,
    server: IpEndpoint,
    config: BrowserConfig,
) -> Rc<RefCell<BrowserLog>> {
    let log = Rc::new(RefCell::new(BrowserLog {
        started_ms: Instant::now().as_millis(),
        ..BrowserLog::default()
    }));
    let shared = Rc::new(RefCell::new(Shared {
        queue: VecDeque::new(),
        outstanding: config.resources.len(),
    }));
    let (page, assets) = config
        .resources
        .split_first()
        .map(|(p, a)| (*p, a.to_vec()))
        .unwrap_or(("/", Vec::new()));
    let sp = spawner.clone();
    let out = log.clone();
    spawner.spawn(async move {
        // The page first, on one connection; the assets once it has arrived.
        shared.borrow_mut().queue.push_back((page, 0));
        let worker = || {
            Worker::new(
                stack,
                server,
                shared.clone(),
                out.clone(),
                config.request_timeout_ms,
            )
        };
        let first = worker().run_one().await;
        shared
            .borrow_mut()
            .queue
            .extend(assets.iter().map(|a| (*a, 0)));
        for _ in 1..config.connections {
            let w = worker();
            let eager = config.preconnect;
            sp.spawn(async move {
                let mut w = w;
                if eager {
                    let _ = w.connect().await;
                }
                w.run_all().await;
            });
        }
        first.run_all().await;
    });
    log
}

struct Worker {
    stack: Stack<'static>,
    server: IpEndpoint,
    shared: Rc<RefCell<Shared>>,
    log: Rc<RefCell<BrowserLog>>,
    timeout: Duration,
    socket: Option<TcpSocket<'static>>,
}

enum Fetch {
    Status(u16),
    /// Closed before any byte of a response.
    ClosedEarly,
    Reset,
    Timeout,
}

impl Worker {
    fn new(
        stack: Stack<'static>,
        server: IpEndpoint,
        shared: Rc<RefCell<Shared>>,
        log: Rc<RefCell<BrowserLog>>,
        timeout_ms: u64,
    ) -> Self {
        Worker {
            stack,
            server,
            shared,
            log,
            timeout: Duration::from_millis(timeout_ms),
            socket: None,
        }
    }

    /// Serves one queued resource and returns itself (connection kept) for more.
    async fn run_one(mut self) -> Self {
        let next = self.shared.borrow_mut().queue.pop_front();
        if let Some(job) = next {
            self.fetch_job(job).await;
        }
        self
    }

    /// Takes resources until none are left, then holds the connection idle until the
    /// server closes it, and closes its own side as a browser does.
    async fn run_all(mut self) {
        loop {
            let next = self.shared.borrow_mut().queue.pop_front();
            match next {
                Some(job) => self.fetch_job(job).await,
                None => break,
            }
        }
        if let Some(mut sock) = self.socket.take() {
            let mut buf = [0u8; 256];
            loop {
                match sock.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
            sock.close();
            let _ = with_timeout(Duration::from_secs(2), sock.flush()).await;
            if !matches!(
                sock.state(),
                embassy_net::tcp::State::Closed | embassy_net::tcp::State::TimeWait
            ) {
                sock.abort();
                let _ = with_timeout(Duration::from_secs(1), sock.flush()).await;
            }
        }
    }

    async fn fetch_job(&mut self, (path, tries): (&'static str, u8)) {
        let t0 = Instant::now();
        let connection = if self.socket.is_some() {
            Connection::Idle
        } else {
            Connection::Fresh
        };
        let r = self.fetch(path).await;
        let took = t0.elapsed().as_millis();
        let mut s = self.shared.borrow_mut();
        let mut log = self.log.borrow_mut();
        log.slowest_ms = log.slowest_ms.max(took);
        let done = match r {
            Fetch::Status(200) => {
                log.ok += 1;
                true
            }
            Fetch::Status(503) => {
                log.unavailable += 1;
                log.failed += 1;
                true
            }
            Fetch::Status(_) => {
                log.failed += 1;
                true
            }
            Fetch::ClosedEarly if retry(true, connection, tries.into()) => {
                log.retries += 1;
                s.queue.push_front((path, tries + 1));
                false
            }
            Fetch::ClosedEarly | Fetch::Reset | Fetch::Timeout => {
                log.failed += 1;
                true
            }
        };
        if done {
            s.outstanding -= 1;
            if s.outstanding == 0 {
                log.finished_ms = Some(Instant::now().as_millis());
            }
        }
    }

    async fn connect(&mut self) -> Result<(), Fetch> {
        let rx = Box::leak(vec![0u8; 8192].into_boxed_slice());
        let tx = Box::leak(vec![0u8; 1024].into_boxed_slice());
        let mut sock = TcpSocket::new(self.stack, rx, tx);
        sock.set_timeout(Some(self.timeout));
        match with_timeout(self.timeout, sock.connect(self.server)).await {
            Ok(Ok(())) => {
                self.socket = Some(sock);
                Ok(())
            }
            Ok(Err(ConnectError::ConnectionReset)) => {
                self.log.borrow_mut().connect_resets += 1;
                Err(Fetch::Reset)
            }
            Ok(Err(_)) | Err(_) => {
                self.log.borrow_mut().connect_timeouts += 1;
                sock.abort();
                Err(Fetch::Timeout)
            }
        }
    }

    async fn fetch(&mut self, path: &str) -> Fetch {
        if self.socket.is_none() {
            if let Err(e) = self.connect().await {
                return e;
            }
        }
        let timeout = self.timeout;
        let Some(sock) = self.socket.as_mut() else {
            return Fetch::Reset;
        };
        let r = with_timeout(timeout, exchange(sock, path)).await;
        let r = match r {
            Ok(r) => r,
            Err(_) => Fetch::Timeout,
        };
        match r {
            Fetch::Status(_) if !sock.may_send() || !sock.may_recv() => self.drop_socket(),
            Fetch::Status(_) => {}
            Fetch::Reset => {
                self.log.borrow_mut().resets += 1;
                self.drop_socket();
            }
            _ => self.drop_socket(),
        }
        r
    }

    fn drop_socket(&mut self) {
        if let Some(mut s) = self.socket.take() {
            // Sockets are dropped only after they are closed; abort leaves nothing behind
            // that the server would see except a reset on a connection it already closed.
            if !matches!(
                s.state(),
                embassy_net::tcp::State::Closed | embassy_net::tcp::State::TimeWait
            ) {
                s.close();
            }
            // Keep the socket alive in the stack until its FIN goes out: hand it to a
            // reaper task would be nicer; a leaked socket costs nothing in a test.
            std::mem::forget(s);
        }
    }
}

/// One request/response on an open connection.
async fn exchange(sock: &mut TcpSocket<'static>, path: &str) -> Fetch {
    let req = format!("GET {path} HTTP/1.1\r\nHost: portico.local\r\nAccept: */*\r\n\r\n");
    if sock.write_all(req.as_bytes()).await.is_err() {
        return Fetch::ClosedEarly;
    }
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match parse_response(&data, Framing::default()) {
            Ok(Parsed::Complete(r, _)) => {
                if r.closes() {
                    sock.close();
                }
                return Fetch::Status(r.status);
            }
            Ok(Parsed::Incomplete) => {}
            Err(_) => return Fetch::Reset,
        }
        match sock.read(&mut buf).await {
            Ok(0) | Err(_) if data.is_empty() => return Fetch::ClosedEarly,
            Ok(0) | Err(_) => return Fetch::Reset,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
}
