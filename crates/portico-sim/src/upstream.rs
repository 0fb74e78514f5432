//! An upstream WebSocket server on its own simulated stack, for the device's link
//! (`portico_ws::embassy`): it echoes text and binary messages, answers pings and
//! closes, and can be told to drop every connection or to refuse new ones for a while.
//!
//! The protocol side is `tungstenite`'s server, an implementation independent of the
//! client under test. It is synchronous, so it runs over [`Pipe`], a non-blocking
//! in-memory stream: the connection task moves bytes between the pipe and the
//! embassy-net socket and calls tungstenite again whenever new bytes arrived.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::io;
use std::net::Ipv4Addr;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Poll, Waker};

use embassy_futures::select::{select, Either};
use embassy_net::tcp::TcpSocket;
use embassy_net::{Stack, StackResources};
use embassy_time::{with_timeout, Duration, Instant, Timer};
use tungstenite::handshake::HandshakeError;
use tungstenite::{Message, WebSocket};

use crate::device::static_config;
use crate::executor::Spawner;
use crate::net::Network;

/// Address of the upstream server.
pub const UPSTREAM_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 200);

/// Its port.
pub const UPSTREAM_PORT: u16 = 8080;

/// Starts an embassy-net stack for a node at `ip` (socket table of 16) and its runner.
pub fn spawn_stack(spawner: &Spawner, net: &Network, ip: Ipv4Addr, seed: u64) -> Stack<'static> {
    let slots: &'static mut StackResources<16> = Box::leak(Box::new(StackResources::new()));
    let (stack, mut runner) = embassy_net::new(net.attach(ip), static_config(ip), slots, seed);
    spawner.spawn(async move { runner.run().await });
    stack
}

/// What the server saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpstreamStats {
    /// TCP connections accepted.
    pub accepted: u64,
    /// Of those, upgraded to WebSocket.
    pub upgraded: u64,
    /// Text messages received (each echoed).
    pub text_in: u64,
    /// Binary messages received (each echoed).
    pub binary_in: u64,
    /// Pings answered.
    pub pings: u64,
    /// Close frames received.
    pub closes: u64,
    /// Connections aborted by [`Upstream::drop_all`].
    pub dropped: u64,
    /// Connections accepted while [`Upstream::refuse_for`] was in force and reset at
    /// once (most attempts in that window meet no listener and never count here).
    pub refused: u64,
    /// The request path and `Authorization` header of the last upgrade request.
    pub last_request: Option<(String, Option<String>)>,
}

#[derive(Default)]
struct State {
    stats: UpstreamStats,
    /// Bumped by `drop_all`: connections begun under an older value end.
    drops: u64,
    refuse_until: Option<Instant>,
    /// Bumped by every order; tasks waiting for one are woken.
    orders: u64,
    waiters: Vec<Waker>,
    log: Vec<String>,
}

/// The running server: orders and counters.
#[derive(Clone)]
pub struct Upstream(Rc<RefCell<State>>);

impl Upstream {
    /// Aborts every open connection (the clients see a reset).
    pub fn drop_all(&self) {
        self.order(|s| s.drops += 1);
    }

    /// Refuses new connections for `ms` of virtual time: nothing listens, so a SYN is
    /// answered with a reset. Open connections stay.
    pub fn refuse_for(&self, ms: u64) {
        let until = Instant::now() + Duration::from_millis(ms);
        self.order(|s| s.refuse_until = Some(until));
    }

    /// Counters so far.
    pub fn stats(&self) -> UpstreamStats {
        self.0.borrow().stats.clone()
    }

    /// What happened, one line each, with virtual times.
    pub fn log(&self) -> Vec<String> {
        self.0.borrow().log.clone()
    }

    fn order(&self, f: impl FnOnce(&mut State)) {
        let waiters = {
            let mut s = self.0.borrow_mut();
            f(&mut s);
            s.orders += 1;
            std::mem::take(&mut s.waiters)
        };
        waiters.into_iter().for_each(Waker::wake);
    }

    /// Resolves at the next order after `seen`.
    async fn next_order(&self, seen: u64) {
        poll_fn(|cx| {
            let mut s = self.0.borrow_mut();
            if s.orders != seen {
                return Poll::Ready(());
            }
            if !s.waiters.iter().any(|w| w.will_wake(cx.waker())) {
                s.waiters.push(cx.waker().clone());
            }
            Poll::Pending
        })
        .await
    }

    fn refusing(&self) -> Option<Instant> {
        self.0.borrow().refuse_until.filter(|t| *t > Instant::now())
    }

    fn note(&self, line: impl FnOnce(&mut UpstreamStats) -> String) {
        let mut s = self.0.borrow_mut();
        let text = line(&mut s.stats);
        let at = Instant::now().as_millis();
        s.log.push(format!("{at:>7} ms {text}"));
    }
}

/// Starts the server at `ip`:[`UPSTREAM_PORT`] with `listeners` sockets (connections
/// served at once).
pub fn spawn_upstream(
    spawner: &Spawner,
    net: &Network,
    ip: Ipv4Addr,
    listeners: usize,
    seed: u64,
) -> Upstream {
    spawn(spawner, net, ip, listeners, seed, None)
}

/// The same server behind TLS (`wss://`): `rustls` with `tls` (its certificate and
/// versions), then the WebSocket server over the decrypted stream.
pub fn spawn_upstream_tls(
    spawner: &Spawner,
    net: &Network,
    ip: Ipv4Addr,
    listeners: usize,
    seed: u64,
    tls: Arc<rustls::ServerConfig>,
) -> Upstream {
    spawn(spawner, net, ip, listeners, seed, Some(tls))
}

/// A private CA and a `rustls` server configuration whose certificate it signed, for
/// [`spawn_upstream_tls`]: the test kit's, shared with the host and device-stack tests.
pub use portico_testkit::tls::TestPki;

fn spawn(
    spawner: &Spawner,
    net: &Network,
    ip: Ipv4Addr,
    listeners: usize,
    seed: u64,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> Upstream {
    let stack = spawn_stack(spawner, net, ip, seed);
    let up = Upstream(Rc::default());
    for id in 0..listeners {
        let up = up.clone();
        let tls = tls.clone();
        spawner.spawn(async move { listen(stack, id, up, tls).await });
    }
    up
}

fn leak(size: usize) -> &'static mut [u8] {
    Box::leak(vec![0; size].into_boxed_slice())
}

/// One listening socket, forever: accept, serve, close, again.
async fn listen(
    stack: Stack<'static>,
    id: usize,
    up: Upstream,
    tls: Option<Arc<rustls::ServerConfig>>,
) {
    let mut sock = TcpSocket::new(stack, leak(8192), leak(8192));
    sock.set_nagle_enabled(false);
    loop {
        while let Some(until) = up.refusing() {
            Timer::at(until).await;
        }
        let seen = up.0.borrow().orders;
        match select(sock.accept(UPSTREAM_PORT), up.next_order(seen)).await {
            Either::First(Ok(())) => {}
            Either::First(Err(_)) => {
                sock.abort();
                Timer::after_millis(10).await;
                continue;
            }
            // An order: if it is a refusal, stop listening now.
            Either::Second(()) => {
                sock.abort();
                continue;
            }
        }
        if up.refusing().is_some() {
            up.note(|s| {
                s.refused += 1;
                format!("#{id} refused")
            });
            sock.abort();
            let _ = with_timeout(Duration::from_millis(100), sock.flush()).await;
            continue;
        }
        up.note(|s| {
            s.accepted += 1;
            format!("#{id} accepted")
        });
        let pipe = Pipe::default();
        let end = match &tls {
            None => serve(&mut sock, id, &up, &pipe, pipe.clone()).await,
            Some(cfg) => match rustls::ServerConnection::new(cfg.clone()) {
                Ok(session) => {
                    let stream = rustls::StreamOwned::new(session, pipe.clone());
                    serve(&mut sock, id, &up, &pipe, stream).await
                }
                Err(_) => "TLS setup failed",
            },
        };
        up.note(|_| format!("#{id} ended: {end}"));
        if end == "dropped" {
            sock.abort();
        } else {
            sock.close();
        }
        // Let the FIN (or the reset) go out before the socket listens again.
        let _ = with_timeout(Duration::from_secs(1), sock.flush()).await;
        sock.abort();
    }
}

/// Bytes between tungstenite and the socket.
#[derive(Default)]
struct PipeState {
    input: VecDeque<u8>,
    output: Vec<u8>,
    eof: bool,
}

/// A non-blocking in-memory stream for tungstenite: reads what the socket delivered
/// (`WouldBlock` when there is nothing yet), writes into a buffer the connection task
/// sends.
#[derive(Clone, Default)]
pub struct Pipe(Rc<RefCell<PipeState>>);

impl io::Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut p = self.0.borrow_mut();
        if p.input.is_empty() {
            return if p.eof {
                Ok(0)
            } else {
                Err(io::ErrorKind::WouldBlock.into())
            };
        }
        let n = buf.len().min(p.input.len());
        for (dst, src) in buf.iter_mut().zip(p.input.drain(..n)) {
            *dst = src;
        }
        Ok(n)
    }
}

impl io::Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().output.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Serves one connection over `stream` (the pipe itself, or TLS on it); returns how it
/// ended.
async fn serve<S: io::Read + io::Write>(
    sock: &mut TcpSocket<'static>,
    id: usize,
    up: &Upstream,
    pipe: &Pipe,
    stream: S,
) -> &'static str {
    let drops = up.0.borrow().drops;
    let seen = up.clone();
    // The error type is tungstenite's (its `Callback` trait), not ours to shrink.
    #[allow(clippy::result_large_err)]
    let record = move |req: &tungstenite::handshake::server::Request,
                       res: tungstenite::handshake::server::Response| {
        let auth = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        seen.0.borrow_mut().stats.last_request = Some((req.uri().path().to_owned(), auth));
        Ok(res)
    };
    let mut handshake = tungstenite::accept_hdr(stream, record);
    let mut ws: WebSocket<S> = loop {
        match handshake {
            Ok(ws) => break ws,
            Err(HandshakeError::Interrupted(mid)) => {
                if let Err(end) = pump(sock, pipe, up, drops).await {
                    return end;
                }
                handshake = mid.handshake();
            }
            Err(HandshakeError::Failure(_)) => {
                let _ = send_output(sock, pipe).await;
                return "handshake failed";
            }
        }
    };
    up.note(|s| {
        s.upgraded += 1;
        format!("#{id} upgraded")
    });
    loop {
        loop {
            match ws.read() {
                Ok(m @ (Message::Text(_) | Message::Binary(_))) => {
                    let text = m.is_text();
                    up.note(|s| {
                        *(if text {
                            &mut s.text_in
                        } else {
                            &mut s.binary_in
                        }) += 1;
                        let kind = if text { "text" } else { "binary" };
                        format!("#{id} {kind} {} bytes", m.len())
                    });
                    let _ = ws.send(m);
                }
                // tungstenite queues the pong and the close reply itself.
                Ok(Message::Ping(_)) => up.0.borrow_mut().stats.pings += 1,
                Ok(Message::Close(_)) => up.note(|s| {
                    s.closes += 1;
                    format!("#{id} close received")
                }),
                Ok(_) => {}
                Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => {
                    let _ = ws.flush();
                    let _ = send_output(sock, pipe).await;
                    return "closed";
                }
            }
        }
        let _ = ws.flush();
        if let Err(end) = pump(sock, pipe, up, drops).await {
            return end;
        }
    }
}

/// Sends what tungstenite wrote, then waits for more input (or an order to drop).
async fn pump(
    sock: &mut TcpSocket<'static>,
    pipe: &Pipe,
    up: &Upstream,
    drops: u64,
) -> Result<(), &'static str> {
    send_output(sock, pipe).await?;
    if pipe.0.borrow().eof {
        return Ok(());
    }
    let mut buf = [0u8; 2048];
    loop {
        let seen = {
            let mut s = up.0.borrow_mut();
            if s.drops != drops {
                s.stats.dropped += 1;
                return Err("dropped");
            }
            s.orders
        };
        match select(sock.read(&mut buf), up.next_order(seen)).await {
            Either::First(Ok(0)) => {
                pipe.0.borrow_mut().eof = true;
                return Ok(());
            }
            Either::First(Ok(n)) => {
                pipe.0.borrow_mut().input.extend(&buf[..n]);
                return Ok(());
            }
            Either::First(Err(_)) => return Err("reset by client"),
            Either::Second(()) => {}
        }
    }
}

async fn send_output(sock: &mut TcpSocket<'static>, pipe: &Pipe) -> Result<(), &'static str> {
    let out = std::mem::take(&mut pipe.0.borrow_mut().output);
    embedded_io_async::Write::write_all(sock, &out)
        .await
        .map_err(|_| "reset by client")
}
