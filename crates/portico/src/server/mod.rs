//! The request/response loop, generic over any byte stream.
//!
//! A port (tokio on the host, embassy-net on the device) owns the sockets, the clock and
//! the buffers. For each readable connection it leases a buffer and calls
//! [`serve`], which reads request heads, checks them, hands each
//! exchange to the application's [`Handler`], writes the response, and returns as soon as
//! the connection has nothing buffered — so the port can give the buffer back while the
//! connection sits idle. An idle keep-alive connection then costs no buffer at all.
//!
//! The core never reads a clock: deadlines go through [`Env::timeout`], and every state
//! change is reported through [`Env`] so the port can keep its connection table current.

mod assets;
mod connection;
mod engine;
mod exchange;
mod stamp;
mod transport;

use core::fmt;
use core::future::Future;

pub use assets::serve_asset;
pub use connection::serve;
pub use engine::{refuse, Buffers, End, Engine, NoStreams, Start, Streams};
pub use exchange::{BodyWriter, DoesNotFit, Exchange, NotInPlace, ResponseLength};
pub use stamp::no_wall_clock;
pub use transport::Transport;

use crate::conn::{ConnState, TimeoutPhase};
use crate::http::{HeadLimits, HeaderError};
use crate::time::{Duration, Instant};

/// A deadline passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimedOut;

/// What the serve loop needs from its port for one connection: time, deadlines, and a
/// place to report what the connection is doing.
#[allow(async_fn_in_trait)] // Ports run one executor thread (embassy, tokio LocalSet): no Send bound.
pub trait Env {
    /// The time on the port's clock.
    fn now(&self) -> Instant;
    /// Runs `fut` for at most `limit`.
    async fn timeout<F: Future>(&self, limit: Duration, fut: F) -> Result<F::Output, TimedOut>;
    /// The connection entered a state (counts as activity).
    fn state(&self, state: ConnState);
    /// Bytes moved.
    fn touch(&self);
    /// A request was answered.
    fn request_done(&self);
    /// A deadline was missed.
    fn timed_out(&self, phase: TimeoutPhase);
    /// Waits for `span` (streams pace their events with it).
    async fn sleep(&self, span: Duration);
    /// Whether the connection is still the table's: `false` once it was evicted or
    /// closed, so a request that arrives in the same instant is not served.
    fn is_live(&self) -> bool {
        true
    }
    /// Every request buffer is taken: the port evicts the connection that has been
    /// dripping its request head the longest past the grace period, if any (judged by
    /// what each connection does, never by its address).
    fn shed_slow_head(&self) {}
    /// The connection was answered `503` because no buffer could be had in time.
    fn refused(&self) {}
    /// The peer's address, when the port knows it (the login rate limit is per peer).
    fn peer(&self) -> Option<core::net::IpAddr> {
        None
    }
}

/// Every deadline of the server, in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Whole request head, from the first byte (or from admission, for a new connection).
    pub head: Duration,
    /// Between request body reads.
    pub body: Duration,
    /// For each write to complete (a client that does not read is cut).
    pub send: Duration,
    /// Idle keep-alive, advertised in `Keep-Alive: timeout=`.
    pub idle: Duration,
    /// How long a newcomer waits for a socket or a request buffer before `503`.
    pub queue: Duration,
}

impl Timeouts {
    /// 5 s for a head, a body read or a write; 10 s idle; 2 s in the queue.
    pub const fn const_default() -> Self {
        Timeouts {
            head: Duration::from_secs(5),
            body: Duration::from_secs(5),
            send: Duration::from_secs(5),
            idle: Duration::from_secs(10),
            queue: Duration::from_secs(2),
        }
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        Self::const_default()
    }
}

/// Per-server settings of the loop.
#[derive(Debug, Clone, Copy)]
pub struct ServerConfig {
    /// Request size limits.
    pub limits: HeadLimits,
    /// Bytes of the connection buffer kept free for the response head.
    pub response_reserve: usize,
    /// Every deadline.
    pub timeouts: Timeouts,
    /// Unread body bytes the server will drain to keep a connection alive.
    pub drain_limit: u64,
    /// How long a refused client is told to wait (`Retry-After` of a `503`, in whole
    /// seconds rounded up, so a client that waits exactly that long is not early).
    pub retry_after: Duration,
    /// Header lines on every response, whoever writes it: the application's answers,
    /// the loop's own 4xx/5xx and the port's `503` to a newcomer alike (the application's
    /// security headers). A browser judges a `400` page like any other.
    pub headers: &'static [(&'static str, &'static str)],
    /// The port's calendar clock: seconds since the Unix epoch, or `None` while the
    /// port does not know the date (a device before SNTP). Every response carries
    /// `Date` when it returns a time (RFC 9110 §6.6.1: no clock, no `Date`), and only
    /// with the `date` feature.
    pub wall_clock: fn() -> Option<u64>,
}

impl ServerConfig {
    /// Defaults for a 4 KiB connection buffer.
    pub const fn const_default() -> Self {
        ServerConfig {
            limits: HeadLimits::const_default(),
            response_reserve: 1024,
            timeouts: Timeouts::const_default(),
            drain_limit: 64 * 1024,
            retry_after: Duration::from_secs(1),
            headers: &[],
            wall_clock: no_wall_clock,
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self::const_default()
    }
}

/// Why an exchange ended without a clean response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServeError<E> {
    /// The transport failed.
    Io(E),
    /// A deadline passed.
    Timeout(TimeoutPhase),
    /// The peer closed the connection.
    Closed,
    /// The request body broke its framing after the response started.
    BadBody,
    /// The request body grew past the limit while it was read (chunked bodies, whose
    /// length is not declared up front).
    BodyTooLarge,
    /// The handler tried to write an invalid or oversized header.
    Header(HeaderError),
    /// The handler broke the response protocol (two responses, short body, …).
    Misuse(&'static str),
}

impl<E: fmt::Debug> fmt::Display for ServeError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServeError::Io(e) => write!(f, "transport error: {e:?}"),
            ServeError::Timeout(p) => write!(f, "deadline passed: {p:?}"),
            ServeError::Closed => f.write_str("peer closed the connection"),
            ServeError::BadBody => f.write_str("malformed request body"),
            ServeError::BodyTooLarge => f.write_str("request body too large"),
            ServeError::Header(e) => write!(f, "{e}"),
            ServeError::Misuse(m) => write!(f, "handler misuse: {m}"),
        }
    }
}

impl<E: fmt::Debug> core::error::Error for ServeError<E> {}

/// What a handler did with the exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply<U> {
    /// The response is complete.
    Done,
    /// The handler sent a head for a long-lived stream; the port takes the connection.
    Upgrade(U),
}

/// How the serve loop left the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome<U> {
    /// Keep-alive with nothing buffered: release the buffer and wait for readability.
    Idle,
    /// Close the connection.
    Close,
    /// A stream handler took over: the port drives it from here.
    Upgrade(U),
}

/// The application.
#[allow(async_fn_in_trait)] // See `Env`.
pub trait Handler {
    /// What a stream upgrade hands back to the port.
    type Upgrade;

    /// Answers one exchange.
    async fn handle<T: Transport, E: Env>(
        &self,
        ex: &mut Exchange<'_, T, E>,
    ) -> Result<Reply<Self::Upgrade>, ServeError<T::Error>>;
}

#[cfg(all(test, feature = "std"))]
mod tests;
