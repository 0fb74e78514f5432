//! The connection engine: one admitted connection's life, the same on every port.
//!
//! A port accepts, asks the connection table for admission, and then hands the
//! connection to [`Engine::drive`], which
//! 1. waits for the peer to speak while holding **no buffer** ([`Transport::readable`]),
//! 2. leases a buffer with a deadline — past it the client gets `503` with
//!    `Retry-After` ([`refuse`]), never a silent close,
//! 3. runs the request loop ([`serve`]) until the connection is idle again, and gives
//!    the buffer back,
//! 4. goes idle (waits again, or returns [`End::Park`] so the port can keep the socket
//!    without a task), or runs the stream the handler upgraded to.
//!
//! What differs between ports stays in the port: sockets, the clock (through [`Env`]),
//! where buffers come from ([`Buffers`]), and how an eviction reaches a running
//! connection (the port drops or cancels the `drive` future; nothing in it outlives a
//! cancellation but the lease, which returns itself).

use core::future::{poll_fn, Future};
use core::ops::DerefMut;
use core::pin::pin;
use core::task::Poll;

use super::{serve, Env, Handler, Outcome, ServerConfig, Transport};
use crate::conn::{ConnState, TimeoutPhase};
use crate::http::{HeadWriter, Status};
use crate::time::Duration;

/// Where a connection's request buffer comes from.
#[allow(async_fn_in_trait)] // See `Env`.
pub trait Buffers {
    /// A buffer held for one request loop; it goes back when dropped.
    type Lease<'a>: DerefMut<Target = [u8]>
    where
        Self: 'a;

    /// Waits for a buffer; `None` when none can be had at all (out of memory, queue
    /// full). The engine bounds the wait with the queue deadline.
    async fn acquire(&self) -> Option<Self::Lease<'_>>;

    /// Whether an acquisition now would have to wait. The engine then asks the port to
    /// shed a connection still dripping its head ([`Env::shed_slow_head`]).
    fn exhausted(&self) -> bool {
        false
    }
}

impl<M, R, const N: usize, const W: usize> Buffers for crate::pool::Pool<M, R, N, W>
where
    M: crate::placement::MemoryRegions,
    R: embassy_sync::blocking_mutex::raw::RawMutex,
{
    type Lease<'a>
        = crate::pool::Lease<'a, M, R, N, W>
    where
        Self: 'a;

    async fn acquire(&self) -> Option<Self::Lease<'_>> {
        crate::pool::Pool::acquire(self).await.ok()
    }

    fn exhausted(&self) -> bool {
        crate::pool::Pool::exhausted(self)
    }
}

/// Drives the long-lived streams (server-sent events, WebSocket) a handler upgraded to.
///
/// Implemented once by the application; both ports run it through [`Engine::drive`]. The port
/// ends a stream by dropping the future (an eviction), so a stream keeps no state that
/// must survive one.
#[allow(async_fn_in_trait)] // See `Env`.
pub trait Streams<U> {
    /// Runs the stream on `io` until it ends. The table sees the connection as
    /// [`ConnState::Stream`]; writes count as activity. A stream holds no request
    /// buffer at rest: it leases one from `buffers` (the port's pool) for each write
    /// that needs one.
    async fn run<T: Transport, E: Env, B: Buffers>(
        &self,
        upgrade: U,
        io: &mut T,
        env: &E,
        cfg: &ServerConfig,
        buffers: &B,
    );
}

/// For applications without streams: an upgrade just closes.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoStreams;

impl<U> Streams<U> for NoStreams {
    async fn run<T: Transport, E: Env, B: Buffers>(
        &self,
        _: U,
        _: &mut T,
        _: &E,
        _: &ServerConfig,
        _: &B,
    ) {
    }
}

/// How a connection comes to [`Engine::drive`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Just admitted: its first request is due within the head deadline.
    Fresh,
    /// A kept-alive connection coming back from idle: the idle timeout applies.
    Resumed,
}

/// How [`Engine::drive`] left the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Idle with nothing buffered and nothing held: the port may keep the socket without
    /// a task and call [`Engine::drive`] with [`Start::Resumed`] when it turns readable.
    Park,
    /// Close it.
    Close,
}

/// What serves a connection: the application (its handler and its stream driver) and
/// where request buffers come from. Both ports run each admitted connection through
/// [`Engine::drive`].
#[derive(Debug)]
pub struct Engine<'a, H, S, B> {
    /// The application.
    pub handler: &'a H,
    /// Stream driver for upgrades ([`NoStreams`] without any).
    pub streams: &'a S,
    /// Request buffers (the core's pool, on both ports).
    pub buffers: &'a B,
}

impl<H, S, B> Clone for Engine<'_, H, S, B> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<H, S, B> Copy for Engine<'_, H, S, B> {}

impl<H, S, B> Engine<'_, H, S, B>
where
    H: Handler,
    S: Streams<H::Upgrade>,
    B: Buffers,
{
    /// Serves one admitted connection until it closes or (with `park_after`) goes idle.
    ///
    /// `park_after`: after a response, how long to wait for the next request before
    /// returning [`End::Park`]. A port that keeps a task per socket anyway (the device)
    /// passes `None` and the connection waits in place, up to the idle timeout.
    pub async fn drive<T: Transport, E: Env>(
        &self,
        io: &mut T,
        env: &E,
        cfg: &ServerConfig,
        start: Start,
        park_after: Option<Duration>,
    ) -> End {
        let t = &cfg.timeouts;
        let mut served = false;
        loop {
            // Wait for the request holding no buffer. A busy client's next request
            // usually arrives within `park_after`; serving it here is cheaper than
            // parking.
            let (wait, phase) = match (served, start, park_after) {
                (true, _, Some(linger)) => (linger, None),
                (false, Start::Fresh, _) => (t.head, Some(TimeoutPhase::Head)),
                _ => (t.idle, Some(TimeoutPhase::Idle)),
            };
            match env.timeout(wait, io.readable()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return End::Close,
                Err(_) => match phase {
                    None => return End::Park,
                    Some(p) => {
                        env.timed_out(p);
                        return End::Close;
                    }
                },
            }
            // Evicted in the same instant? The table is the arbiter.
            if !env.is_live() {
                return End::Close;
            }
            // Readable: a request is coming (or the peer closed, which `serve` sees as a
            // zero-byte read). No longer idle, so no longer evictable.
            env.state(ConnState::Head);
            let Ok(Some(mut lease)) = env.timeout(t.queue, lease(self.buffers, env)).await else {
                env.refused();
                let _ = env.timeout(t.send, refuse(io, cfg)).await;
                return End::Close;
            };
            let mut filled = 0;
            let outcome = serve(io, &mut lease, &mut filled, self.handler, env, cfg).await;
            drop(lease);
            match outcome {
                Ok(Outcome::Idle) => {
                    // Idle only once the response has left: on the device the last of it
                    // may still sit unacknowledged in the socket, and an idle connection
                    // may be evicted — a reset then would cut the response short. (On the
                    // host the kernel owns it; `flush` returns at once.)
                    match env.timeout(t.send, io.flush()).await {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) => return End::Close,
                        Err(_) => {
                            env.timed_out(TimeoutPhase::Send);
                            return End::Close;
                        }
                    }
                    env.state(ConnState::Idle);
                    served = true;
                }
                Ok(Outcome::Upgrade(u)) => {
                    env.state(ConnState::Stream);
                    self.streams.run(u, io, env, cfg, self.buffers).await;
                    return End::Close;
                }
                Ok(Outcome::Close) | Err(_) => return End::Close,
            }
        }
    }
}

/// How often a connection waiting for a buffer looks again for a dripping head to shed.
const SHED_TICK: Duration = Duration::from_millis(100);

/// Waits for a buffer in the pool's FIFO queue. While every buffer is taken, a head still
/// dripping in past the grace period gives its buffer up — at once and then every
/// [`SHED_TICK`] (a dripper's grace ends with no event), so a slowloris cannot starve
/// real requests. The queue position is kept throughout.
async fn lease<'b, B: Buffers, E: Env>(buffers: &'b B, env: &E) -> Option<B::Lease<'b>> {
    let mut acquire = pin!(buffers.acquire());
    loop {
        if buffers.exhausted() {
            env.shed_slow_head();
        }
        let mut tick = pin!(env.sleep(SHED_TICK));
        let got = poll_fn(|cx| {
            if let Poll::Ready(l) = acquire.as_mut().poll(cx) {
                return Poll::Ready(Some(l));
            }
            tick.as_mut().poll(cx).map(|()| None)
        })
        .await;
        if let Some(l) = got {
            return l;
        }
    }
}

/// Answers `503 Service Unavailable` with `Retry-After` and `Connection: close`, without
/// reading the request: for a newcomer that waited past its deadline for a socket or a
/// buffer. Written from the stack (no buffer is to be had), in one write, with the
/// configured headers and `Date` like every other response.
pub async fn refuse<T: Transport>(io: &mut T, cfg: &ServerConfig) -> Result<(), T::Error> {
    const BODY: &str = "server busy, retry shortly\n";
    // The status line and fixed headers take 131 bytes, `Date` 37, the application's
    // two security headers 64.
    let mut buf = [0u8; 320];
    let head = HeadWriter::new(&mut buf, Status::SERVICE_UNAVAILABLE).and_then(|mut w| {
        w.header_fmt(
            "Retry-After",
            format_args!("{}", cfg.retry_after.as_secs_ceil()),
        )?
        .header("Content-Type", "text/plain; charset=utf-8")?
        .header_fmt("Content-Length", format_args!("{}", BODY.len()))?
        .header("Connection", "close")?;
        super::stamp::stamp(&mut w, cfg)?;
        w.finish()
    });
    // Headers too long for the stack buffer: close without a word rather than send half
    // a head (a configuration fault the tests of each port would show).
    let Ok(len) = head else { return Ok(()) };
    io.write_all_vectored(&[&buf[..len], BODY.as_bytes()])
        .await?;
    io.flush().await
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use core::cell::{Cell, RefCell};
    use core::future::Future;
    use core::pin::pin;
    use core::task::{Context, Poll, Waker};
    use std::string::String;
    use std::vec::Vec;

    use super::*;
    use crate::server::{Exchange, Reply, ServeError, TimedOut};
    use crate::time::Instant;

    /// Input pieces then (with `hang`) silence, or EOF; records what is written.
    struct Peer {
        input: Vec<Vec<u8>>,
        hang: bool,
        out: Vec<u8>,
    }

    impl Peer {
        fn new(pieces: &[&[u8]], hang: bool) -> Self {
            Peer {
                input: pieces.iter().rev().map(|p| p.to_vec()).collect(),
                hang,
                out: Vec::new(),
            }
        }
    }

    impl embedded_io::ErrorType for Peer {
        type Error = core::convert::Infallible;
    }

    impl embedded_io_async::Read for Peer {
        async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
            self.readable().await?;
            let Some(mut piece) = self.input.pop() else {
                return Ok(0);
            };
            let n = piece.len().min(buf.len());
            buf[..n].copy_from_slice(&piece[..n]);
            if n < piece.len() {
                self.input.push(piece.split_off(n));
            }
            Ok(n)
        }
    }

    impl embedded_io_async::Write for Peer {
        async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
            self.out.extend_from_slice(buf);
            Ok(buf.len())
        }
        async fn flush(&mut self) -> Result<(), Self::Error> {
            Ok(())
        }
    }

    impl Transport for Peer {
        async fn readable(&mut self) -> Result<(), Self::Error> {
            if self.input.is_empty() && self.hang {
                core::future::pending::<()>().await;
            }
            Ok(())
        }
    }

    /// A clock under which any wait that would block times out at once, recording what
    /// the engine reported.
    #[derive(Default)]
    struct Impatient {
        states: RefCell<Vec<ConnState>>,
        timeouts: RefCell<Vec<TimeoutPhase>>,
        refused: Cell<u32>,
        shed: Cell<u32>,
    }

    impl Env for Impatient {
        fn now(&self) -> Instant {
            Instant::EPOCH
        }
        async fn timeout<F: Future>(&self, _: Duration, fut: F) -> Result<F::Output, TimedOut> {
            let mut fut = pin!(fut);
            let mut cx = Context::from_waker(Waker::noop());
            match fut.as_mut().poll(&mut cx) {
                Poll::Ready(v) => Ok(v),
                Poll::Pending => Err(TimedOut),
            }
        }
        fn state(&self, state: ConnState) {
            self.states.borrow_mut().push(state);
        }
        fn touch(&self) {}
        fn request_done(&self) {}
        fn timed_out(&self, phase: TimeoutPhase) {
            self.timeouts.borrow_mut().push(phase);
        }
        async fn sleep(&self, _: Duration) {
            // Time never passes by itself here: only `timeout` ends a wait.
            core::future::pending::<()>().await
        }
        fn shed_slow_head(&self) {
            self.shed.set(self.shed.get() + 1);
        }
        fn refused(&self) {
            self.refused.set(self.refused.get() + 1);
        }
    }

    /// A buffer when `some`, else nothing ever (every buffer leased elsewhere).
    struct OneBuffer {
        some: bool,
        buf: RefCell<[u8; 2048]>,
    }

    impl Buffers for OneBuffer {
        type Lease<'a> = core::cell::RefMut<'a, [u8]>;
        async fn acquire(&self) -> Option<Self::Lease<'_>> {
            if !self.some {
                core::future::pending::<()>().await;
            }
            Some(core::cell::RefMut::map(
                self.buf.borrow_mut(),
                |b| &mut b[..],
            ))
        }
        fn exhausted(&self) -> bool {
            !self.some
        }
    }

    struct Hello;

    impl Handler for Hello {
        type Upgrade = ();
        async fn handle<T: Transport, E: Env>(
            &self,
            ex: &mut Exchange<'_, T, E>,
        ) -> Result<Reply<()>, ServeError<T::Error>> {
            ex.respond_text(Status::OK, "hi").await?;
            Ok(Reply::Done)
        }
    }

    fn run(
        peer: &mut Peer,
        env: &Impatient,
        some: bool,
        start: Start,
        park: Option<Duration>,
    ) -> End {
        let buffers = OneBuffer {
            some,
            buf: RefCell::new([0; 2048]),
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let engine = Engine {
            handler: &Hello,
            streams: &NoStreams,
            buffers: &buffers,
        };
        rt.block_on(engine.drive(peer, env, &ServerConfig::default(), start, park))
    }

    const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";

    #[test]
    fn a_silent_newcomer_is_never_reported_idle() {
        let (mut peer, env) = (Peer::new(&[], true), Impatient::default());
        assert_eq!(run(&mut peer, &env, true, Start::Fresh, None), End::Close);
        assert!(env.states.borrow().is_empty(), "{:?}", env.states);
        assert_eq!(*env.timeouts.borrow(), [TimeoutPhase::Head]);
        assert!(peer.out.is_empty());
    }

    #[test]
    fn serves_then_parks_after_the_linger() {
        let (mut peer, env) = (Peer::new(&[GET], true), Impatient::default());
        assert_eq!(
            run(
                &mut peer,
                &env,
                true,
                Start::Fresh,
                Some(Duration::from_millis(2))
            ),
            End::Park
        );
        assert!(String::from_utf8_lossy(&peer.out).starts_with("HTTP/1.1 200 OK"));
        assert_eq!(env.states.borrow().last(), Some(&ConnState::Idle));
        assert!(
            env.timeouts.borrow().is_empty(),
            "a linger is not a timeout"
        );
    }

    #[test]
    fn without_parking_an_idle_connection_times_out_in_place() {
        let (mut peer, env) = (Peer::new(&[GET], true), Impatient::default());
        assert_eq!(run(&mut peer, &env, true, Start::Resumed, None), End::Close);
        assert_eq!(*env.timeouts.borrow(), [TimeoutPhase::Idle]);
    }

    #[test]
    fn no_buffer_in_time_is_503_with_retry_after_and_sheds_a_slow_head_first() {
        let (mut peer, env) = (Peer::new(&[GET], true), Impatient::default());
        assert_eq!(run(&mut peer, &env, false, Start::Fresh, None), End::Close);
        let out = String::from_utf8(peer.out.clone()).unwrap();
        assert!(
            out.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
            "{out}"
        );
        assert!(out.contains("Retry-After: 1\r\n"), "{out}");
        assert!(out.contains("Connection: close\r\n"), "{out}");
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
        assert_eq!((env.refused.get(), env.shed.get()), (1, 1));
    }

    #[test]
    fn a_peer_that_closes_is_closed() {
        let (mut peer, env) = (Peer::new(&[], false), Impatient::default());
        assert_eq!(
            run(
                &mut peer,
                &env,
                true,
                Start::Fresh,
                Some(Duration::from_millis(2))
            ),
            End::Close
        );
        assert!(peer.out.is_empty());
    }
}
