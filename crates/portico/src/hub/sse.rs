//! The hub's server-sent-events side: the response head, the wire format, and the
//! stream runner a [`Streams`](crate::server::Streams) implementation calls.
//!
//! Why the stream leases a buffer per batch instead of keeping one: a dashboard's
//! streams spend nearly all their life waiting. Holding a pool buffer while waiting
//! would let a handful of open tabs starve every request; here a waiting stream holds
//! nothing but its cursor, and takes a buffer (under the queue deadline) only once it
//! has events to write — as many as fit go out in one write, under the send deadline.

use core::future::{poll_fn, Future};
use core::pin::pin;
use core::task::Poll;

use embassy_sync::blocking_mutex::raw::RawMutex;

use super::{Event, Hub, Next, Subscriber};
use crate::conn::TimeoutPhase;
use crate::http::{Method, Status};
use crate::server::{Buffers, Env, Exchange, ResponseLength, ServeError, ServerConfig, Transport};
use crate::time::Duration;

/// How long a stream may stay silent before it sends a comment line: proxies and
/// browsers drop quiet connections, and a write is how a vanished client is noticed.
pub const KEEPALIVE_EVERY: Duration = Duration::from_secs(15);

/// What a browser waits before reconnecting, sent as `retry:` (in milliseconds) when the
/// stream starts.
pub const RETRY: Duration = Duration::from_secs(2);

/// Sends the head of an event stream (`text/event-stream`, `Cache-Control: no-cache`,
/// `X-Accel-Buffering: no` so nginx-style proxies do not buffer it, no length: the body
/// ends with the connection) and a `retry:` line.
///
/// Returns `false` for `HEAD`, which gets the head alone: then return
/// [`Reply::Done`](crate::server::Reply::Done). On `true`, return
/// [`Reply::Upgrade`](crate::server::Reply::Upgrade) with the [`Subscriber`] (from
/// [`Hub::subscribe`] and [`last_event_id`](super::last_event_id)), and call [`run`]
/// from the [`Streams`](crate::server::Streams) implementation.
pub async fn start<T: Transport, E: Env>(
    ex: &mut Exchange<'_, T, E>,
    retry: Duration,
) -> Result<bool, ServeError<T::Error>> {
    let head_only = ex.head().method == Method::Head;
    let mut w = ex
        .begin(Status::OK, ResponseLength::UntilClose, |h| {
            h.header("Content-Type", "text/event-stream")?;
            h.header("Cache-Control", "no-cache")?;
            h.header("X-Accel-Buffering", "no").map(drop)
        })
        .await?;
    if head_only {
        return Ok(false);
    }
    let (line, n) = retry_line(retry);
    w.write(&line[..n]).await?;
    Ok(true)
}

/// `retry: `, the longest `u64` (20 digits) and a blank line.
const RETRY_LINE: usize = 7 + 20 + 2;

/// The `retry:` field for `retry` in milliseconds, and its length.
pub(super) fn retry_line(retry: Duration) -> ([u8; RETRY_LINE], usize) {
    let mut line = [0u8; RETRY_LINE];
    let mut c = Cursor::new(&mut line);
    c.put(b"retry: ");
    c.num(retry.as_millis());
    c.put(b"\n\n");
    let n = c.len().unwrap_or(0);
    (line, n)
}

/// Lays one event out in SSE form: `id:`, `event:` (when named), one `data:` line per
/// line of the payload (split at CRLF, CR or LF, as `EventSource` splits), a blank line.
/// `None` if it does not fit `out`.
pub fn encode_event(out: &mut [u8], e: &Event<'_>) -> Option<usize> {
    let mut c = Cursor::new(out);
    c.put(b"id: ");
    c.num(e.id);
    c.put(b"\n");
    if !e.name.is_empty() {
        c.put(b"event: ");
        c.put(e.name.as_bytes());
        c.put(b"\n");
    }
    let mut rest = e.data;
    loop {
        let brk = rest.iter().position(|&b| b == b'\r' || b == b'\n');
        let (line, next) = match brk {
            None => (rest, None),
            Some(i) => {
                let skip = if rest[i] == b'\r' && rest.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                (&rest[..i], Some(&rest[i + skip..]))
            }
        };
        c.put(b"data: ");
        c.put(line);
        c.put(b"\n");
        match next {
            Some(n) => rest = n,
            None => break,
        }
    }
    c.put(b"\n");
    c.len()
}

/// The comment that tells a client it missed `n` events (an `EventSource` ignores it;
/// a person reading the stream, or a script, sees it).
pub fn encode_missed(out: &mut [u8], n: u64) -> Option<usize> {
    let mut c = Cursor::new(out);
    c.put(b": missed ");
    c.num(n);
    c.put(b" events\n\n");
    c.len()
}

const KEEPALIVE: &[u8] = b": keep-alive\n\n";

/// Runs one subscriber's event stream on `io` until the client leaves, a write misses
/// the send deadline (`cfg.timeouts.send`; reported as a send timeout), or the port
/// drops the future (an eviction). Each batch of events is written from a buffer leased
/// from `buffers` for that write only; a buffer must hold at least one encoded event
/// (`SLOT` + ~40 bytes), or the event is skipped and counted as dropped.
pub async fn run<R, const N: usize, const SLOT: usize, const W: usize, T, E, B>(
    hub: &Hub<R, N, SLOT, W>,
    mut sub: Subscriber,
    io: &mut T,
    env: &E,
    cfg: &ServerConfig,
    buffers: &B,
    keepalive_every: Duration,
) where
    R: RawMutex,
    T: Transport,
    E: Env,
    B: Buffers,
{
    let _attached = hub.attach();
    loop {
        if !hub.pending(&sub) {
            match wait(hub, &sub, io, env, keepalive_every).await {
                Wake::Ready => continue,
                Wake::Gone => return,
                Wake::Quiet => {
                    if !send(io, env, cfg, &[KEEPALIVE]).await {
                        return;
                    }
                    continue;
                }
            }
        }
        let Ok(lease) = env.timeout(cfg.timeouts.queue, buffers.acquire()).await else {
            // No buffer in time: the stream falls behind (and may drop events) rather
            // than close; it tries again.
            continue;
        };
        let Some(mut lease) = lease else { return };
        let n = fill(hub, &mut sub, &mut lease);
        if n > 0 && !send(io, env, cfg, &[&lease[..n]]).await {
            return;
        }
    }
}

/// Encodes as many of the subscriber's events as fit `buf`; returns the bytes used.
fn fill<R: RawMutex, const N: usize, const SLOT: usize, const W: usize>(
    hub: &Hub<R, N, SLOT, W>,
    sub: &mut Subscriber,
    buf: &mut [u8],
) -> usize {
    let mut n = 0;
    loop {
        let at = n;
        let step = hub.next(sub, |e| match encode_event(&mut buf[at..], &e) {
            Some(k) => {
                n += k;
                true
            }
            None => false,
        });
        match step {
            Next::Empty => return n,
            Next::Missed(m) => n += encode_missed(&mut buf[n..], m).unwrap_or(0),
            Next::Event(true) => {}
            Next::Event(false) if n == 0 => hub.skip(sub),
            Next::Event(false) => return n,
        }
    }
}

async fn send<T: Transport, E: Env>(
    io: &mut T,
    env: &E,
    cfg: &ServerConfig,
    parts: &[&[u8]],
) -> bool {
    match env
        .timeout(cfg.timeouts.send, io.write_all_vectored(parts))
        .await
    {
        Ok(Ok(())) => {
            env.touch();
            true
        }
        Ok(Err(_)) => false,
        Err(_) => {
            env.timed_out(TimeoutPhase::Send);
            false
        }
    }
}

enum Wake {
    Ready,
    Quiet,
    Gone,
}

/// Waits for an event, the keep-alive tick, or the client (a byte or its close: an
/// event-stream client sends nothing, so either means it is going).
async fn wait<R: RawMutex, const N: usize, const SLOT: usize, const W: usize, T, E>(
    hub: &Hub<R, N, SLOT, W>,
    sub: &Subscriber,
    io: &mut T,
    env: &E,
    keepalive_every: Duration,
) -> Wake
where
    T: Transport,
    E: Env,
{
    enum Woke {
        Hub,
        Tick,
        Peer(bool),
    }
    let woke = {
        let mut ready = pin!(hub.ready(sub));
        let mut tick = pin!(env.sleep(keepalive_every));
        let mut peer = pin!(io.readable());
        // The client first: one that has left must not be counted as lagging.
        poll_fn(|cx| {
            if let Poll::Ready(r) = peer.as_mut().poll(cx) {
                return Poll::Ready(Woke::Peer(r.is_ok()));
            }
            if ready.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Woke::Hub);
            }
            tick.as_mut().poll(cx).map(|()| Woke::Tick)
        })
        .await
    };
    match woke {
        Woke::Hub => Wake::Ready,
        Woke::Tick if hub.pending(sub) => Wake::Ready,
        Woke::Tick => Wake::Quiet,
        Woke::Peer(false) => Wake::Gone,
        Woke::Peer(true) => {
            // Readable: the client closed (a zero-byte read) or sent something it
            // should not have; read it so the next wait does not wake at once. A
            // readiness that was not real (nothing to read at once) changes nothing.
            let mut junk = [0u8; 32];
            match env.timeout(Duration::ZERO, io.read(&mut junk)).await {
                Ok(Ok(0)) | Ok(Err(_)) => Wake::Gone,
                Ok(Ok(_)) | Err(_) => Wake::Ready,
            }
        }
    }
}

/// A bounded writer that remembers whether anything overflowed.
struct Cursor<'a> {
    out: &'a mut [u8],
    at: usize,
    full: bool,
}

impl<'a> Cursor<'a> {
    fn new(out: &'a mut [u8]) -> Self {
        Cursor {
            out,
            at: 0,
            full: false,
        }
    }

    fn put(&mut self, b: &[u8]) {
        match self.out.get_mut(self.at..self.at + b.len()) {
            Some(d) if !self.full => {
                d.copy_from_slice(b);
                self.at += b.len();
            }
            _ => self.full = true,
        }
    }

    fn num(&mut self, mut v: u64) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.put(&digits[i..]);
    }

    fn len(&self) -> Option<usize> {
        (!self.full).then_some(self.at)
    }
}
