//! Test doubles for the serve loop, exported so every crate's tests use the same ones
//! (as smoltcp exports `phy::Loopback` and `FaultInjector`): a [`ScriptedTransport`]
//! that hands out a scripted input in chosen pieces and records what is written, and
//! [`NoClock`], an [`Env`] whose deadlines never pass; with `testing-tokio`, `TokioEnv`,
//! an [`Env`] whose deadlines are real and recorded.
//!
//! Behind the `testing` feature (which needs `alloc`); nothing here is used by the
//! library itself.
//!
//! ```
//! use portico::testing::ScriptedTransport;
//! use embedded_io_async::{Read, Write};
//!
//! let mut t = ScriptedTransport::from_pieces(&[b"GET / HT", b"TP/1.1\r\n\r\n"]);
//! let mut buf = [0u8; 64];
//! let n = block_on(t.read(&mut buf)).unwrap();
//! assert_eq!(&buf[..n], b"GET / HT"); // a read never crosses a piece boundary
//! block_on(t.write(b"HTTP/1.1 200 OK\r\n\r\n")).unwrap();
//! assert_eq!(t.output(), b"HTTP/1.1 200 OK\r\n\r\n");
//! # fn block_on<F: core::future::Future>(f: F) -> F::Output {
//! #     let mut f = core::pin::pin!(f);
//! #     let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
//! #     match f.as_mut().poll(&mut cx) { core::task::Poll::Ready(v) => v, _ => unreachable!() }
//! # }
//! ```

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::future::Future;

use crate::conn::{ConnState, TimeoutPhase};
use crate::server::{Env, TimedOut, Transport};
use crate::time::{Duration, Instant};

/// The failure a [`ScriptedTransport`] injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InjectedFailure;

impl core::fmt::Display for InjectedFailure {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("injected transport failure")
    }
}

impl core::error::Error for InjectedFailure {}

impl embedded_io::Error for InjectedFailure {
    fn kind(&self) -> embedded_io::ErrorKind {
        embedded_io::ErrorKind::ConnectionReset
    }
}

/// An in-memory connection: reads return the scripted input in pieces (never more
/// than one piece per read, as TCP segments arrive), then EOF — or an error, to model a
/// reset; writes are recorded, and can be made to fail from the k-th on. It never
/// blocks, so a serve loop over it either finishes or is stuck for good.
pub struct ScriptedTransport<'a> {
    input: Vec<u8>,
    at: usize,
    /// Bytes left of the piece being read.
    piece_left: usize,
    /// Piece lengths given up front.
    pieces: VecDeque<usize>,
    /// Sizes of the pieces after those; `None`: the rest in one piece.
    next_piece: Option<Box<dyn FnMut() -> usize + 'a>>,
    error_at_end: bool,
    fail_writes_from: Option<usize>,
    writes: usize,
    out: Vec<u8>,
}

impl<'a> ScriptedTransport<'a> {
    /// The whole input in one piece (or in the sizes of [`Self::with_piece_sizes`]).
    pub fn new(input: &[u8]) -> Self {
        let mut t = Self::from_pieces(&[input]);
        t.pieces.clear();
        t
    }

    /// The input as these pieces, in order.
    pub fn from_pieces(pieces: &[&[u8]]) -> Self {
        ScriptedTransport {
            input: pieces.concat(),
            at: 0,
            piece_left: 0,
            pieces: pieces.iter().map(|p| p.len()).collect(),
            next_piece: None,
            error_at_end: false,
            fail_writes_from: None,
            writes: 0,
            out: Vec::new(),
        }
    }

    /// Asks `size` for the length of every piece after the given ones (a fuzzer's
    /// bytes, a seeded random source); a 0 counts as 1.
    pub fn with_piece_sizes(mut self, size: impl FnMut() -> usize + 'a) -> Self {
        self.next_piece = Some(Box::new(size));
        self
    }

    /// Reads fail ([`InjectedFailure`]) at the end of the input instead of returning EOF.
    pub fn error_at_end(mut self) -> Self {
        self.error_at_end = true;
        self
    }

    /// The `k`-th write (counting from 1, vectored writes count once) and all after it
    /// fail with [`InjectedFailure`].
    pub fn fail_writes_from(mut self, k: usize) -> Self {
        self.fail_writes_from = Some(k);
        self
    }

    /// Input bytes handed out so far.
    pub fn consumed(&self) -> usize {
        self.at
    }

    /// Whether every input byte has been handed out.
    pub fn at_end(&self) -> bool {
        self.at == self.input.len()
    }

    /// Everything written so far.
    pub fn output(&self) -> &[u8] {
        &self.out
    }

    /// Everything written, taken out.
    pub fn into_output(self) -> Vec<u8> {
        self.out
    }

    /// Write calls so far (a vectored write counts once): how many segments a response
    /// would have left in.
    pub fn writes(&self) -> usize {
        self.writes
    }

    fn write_gate(&mut self) -> Result<(), InjectedFailure> {
        self.writes += 1;
        match self.fail_writes_from {
            Some(k) if self.writes >= k => Err(InjectedFailure),
            _ => Ok(()),
        }
    }
}

impl embedded_io::ErrorType for ScriptedTransport<'_> {
    type Error = InjectedFailure;
}

impl embedded_io_async::Read for ScriptedTransport<'_> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, InjectedFailure> {
        // A read into no room would return 0, which means EOF: a caller must not ask.
        assert!(!buf.is_empty(), "read into an empty buffer");
        let left = self.input.len() - self.at;
        if left == 0 {
            return if self.error_at_end {
                Err(InjectedFailure)
            } else {
                Ok(0)
            };
        }
        // An empty piece would read as EOF: skip it.
        while self.piece_left == 0 {
            self.piece_left = match (self.pieces.pop_front(), &mut self.next_piece) {
                (Some(n), _) => n,
                (None, Some(size)) => size().max(1),
                (None, None) => left,
            };
        }
        let n = self.piece_left.min(buf.len()).min(left);
        buf[..n].copy_from_slice(&self.input[self.at..self.at + n]);
        self.at += n;
        self.piece_left -= n;
        Ok(n)
    }
}

impl embedded_io_async::Write for ScriptedTransport<'_> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, InjectedFailure> {
        self.write_gate()?;
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    async fn flush(&mut self) -> Result<(), InjectedFailure> {
        Ok(())
    }
}

impl Transport for ScriptedTransport<'_> {
    /// Never waits: the script's bytes (or its end) are always there.
    async fn readable(&mut self) -> Result<(), InjectedFailure> {
        Ok(())
    }

    async fn write_all_vectored(&mut self, parts: &[&[u8]]) -> Result<(), InjectedFailure> {
        self.write_gate()?;
        for p in parts {
            self.out.extend_from_slice(p);
        }
        Ok(())
    }
}

/// An [`Env`] without a clock: the time is always the epoch and no deadline ever passes, so a
/// test over a transport that never blocks is deterministic. The hooks do nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoClock;

impl Env for NoClock {
    fn now(&self) -> Instant {
        Instant::EPOCH
    }
    async fn timeout<F: Future>(&self, _: Duration, fut: F) -> Result<F::Output, TimedOut> {
        Ok(fut.await)
    }
    fn state(&self, _: ConnState) {}
    fn touch(&self) {}
    fn request_done(&self) {}
    fn timed_out(&self, _: TimeoutPhase) {}
    async fn sleep(&self, _: Duration) {}
}

/// An [`Env`] on a tokio runtime: deadlines and sleeps are real (`tokio::time`), the
/// time is always the epoch, and each deadline that passed is recorded in
/// [`timeouts`](Self::timeouts), in order, for a test to check which phase ended a
/// stream. The other hooks do nothing.
#[cfg(any(test, feature = "testing-tokio"))]
#[derive(Debug, Default)]
pub struct TokioEnv {
    /// The phases whose deadline passed, in order.
    pub timeouts: core::cell::RefCell<Vec<TimeoutPhase>>,
}

#[cfg(any(test, feature = "testing-tokio"))]
impl Env for TokioEnv {
    fn now(&self) -> Instant {
        Instant::EPOCH
    }
    async fn timeout<F: Future>(&self, limit: Duration, fut: F) -> Result<F::Output, TimedOut> {
        tokio::time::timeout(limit.into(), fut)
            .await
            .map_err(|_| TimedOut)
    }
    fn state(&self, _: ConnState) {}
    fn touch(&self) {}
    fn request_done(&self) {}
    fn timed_out(&self, phase: TimeoutPhase) {
        self.timeouts.borrow_mut().push(phase);
    }
    async fn sleep(&self, span: Duration) {
        tokio::time::sleep(span.into()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_io_async::{Read, Write};

    fn block_on<F: Future>(f: F) -> F::Output {
        let mut f = core::pin::pin!(f);
        let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
        match f.as_mut().poll(&mut cx) {
            core::task::Poll::Ready(v) => v,
            core::task::Poll::Pending => panic!("the scripted transport never pends"),
        }
    }

    fn reads(t: &mut ScriptedTransport<'_>, room: usize) -> Vec<Vec<u8>> {
        let mut buf = alloc::vec![0u8; room];
        let mut out = Vec::new();
        while let Ok(n @ 1..) = block_on(t.read(&mut buf)) {
            out.push(buf[..n].to_vec());
        }
        out
    }

    #[test]
    fn pieces_are_kept_and_split_only_by_the_buffer() {
        let mut t = ScriptedTransport::from_pieces(&[b"abcde", b"", b"f"]);
        assert_eq!(reads(&mut t, 3), [&b"abc"[..], b"de", b"f"]);
        assert!(t.at_end());
        assert_eq!(t.consumed(), 6);
    }

    #[test]
    fn piece_sizes_from_a_source_then_eof_or_error() {
        let mut sizes = [2usize, 0, 9].into_iter().cycle();
        let mut t =
            ScriptedTransport::new(b"abcdefg").with_piece_sizes(move || sizes.next().unwrap());
        assert_eq!(reads(&mut t, 64), [&b"ab"[..], b"c", b"defg"]);
        let mut t = ScriptedTransport::new(b"x").error_at_end();
        let mut buf = [0u8; 4];
        assert_eq!(block_on(t.read(&mut buf)), Ok(1));
        assert_eq!(block_on(t.read(&mut buf)), Err(InjectedFailure));
    }

    #[test]
    fn writes_are_recorded_until_they_are_made_to_fail() {
        let mut t = ScriptedTransport::new(b"").fail_writes_from(3);
        block_on(t.write(b"a")).unwrap();
        block_on(t.write_all_vectored(&[b"b", b"c"])).unwrap();
        assert_eq!(block_on(t.write(b"d")), Err(InjectedFailure));
        assert_eq!((t.output(), t.writes()), (&b"abc"[..], 3));
    }
}
