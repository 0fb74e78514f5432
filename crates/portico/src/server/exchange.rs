//! One request and its response.

use core::fmt::Write as _;

use super::{Env, ServeError, ServerConfig, Transport};
use crate::conn::{ConnState, TimeoutPhase};
use crate::http::chunked::{ChunkError, ChunkedDecoder};
use crate::http::{BodyFraming, HeadWriter, HeaderError, Method, RequestHead, Status};

/// A rendered body did not fit in the connection buffer (see
/// [`Exchange::respond_rendered`]); nothing was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DoesNotFit;

/// Why [`Exchange::body_in_place`] cannot lend the body in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotInPlace {
    /// Larger than the connection buffer can hold beside the response head.
    TooLarge,
    /// Chunked: its length is unknown until its end.
    Chunked,
}

/// How the response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseLength {
    /// `Content-Length: n`.
    Known(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// No length: the body ends when the connection closes (event streams).
    UntilClose,
}

#[derive(Debug, Clone)]
enum Body {
    Length(u64),
    Chunked(ChunkedDecoder),
    Done,
}

/// One exchange: the parsed head, access to the body, and the response writer.
///
/// Borrowing rules keep it honest: the head borrows the front of the connection buffer,
/// unread bytes (body, pipelined requests) live behind it, and the response head is
/// formatted into the free space after them — no second buffer anywhere.
pub struct Exchange<'a, T: Transport, E: Env> {
    io: &'a mut T,
    env: &'a E,
    cfg: &'a ServerConfig,
    head: RequestHead<'a>,
    rest: &'a mut [u8],
    start: usize,
    end: usize,
    body: Body,
    body_started: bool,
    keep_alive: bool,
    responded: bool,
    extra: &'static [(&'static str, &'static str)],
    date: Option<u64>,
}

impl<'a, T: Transport, E: Env> Exchange<'a, T, E> {
    pub(super) fn new(
        io: &'a mut T,
        env: &'a E,
        cfg: &'a ServerConfig,
        head: RequestHead<'a>,
        rest: &'a mut [u8],
        unread: usize,
    ) -> Self {
        let body = match head.framing {
            BodyFraming::None => Body::Done,
            BodyFraming::Length(n) => Body::Length(n),
            BodyFraming::Chunked => Body::Chunked(ChunkedDecoder::new(cfg.limits.max_body)),
        };
        Exchange {
            io,
            env,
            cfg,
            keep_alive: head.keep_alive,
            head,
            rest,
            start: 0,
            end: unread,
            body,
            body_started: false,
            responded: false,
            extra: &[],
            date: (cfg.wall_clock)(),
        }
    }

    /// The request head.
    pub fn head(&self) -> &RequestHead<'a> {
        &self.head
    }

    /// The port's environment (clock, deadlines).
    pub fn env(&self) -> &'a E {
        self.env
    }

    /// Whether a response has been started.
    pub fn responded(&self) -> bool {
        self.responded
    }

    /// Header lines every response to this request carries, whichever code path writes
    /// it (the application's security headers).
    pub fn set_headers(&mut self, headers: &'static [(&'static str, &'static str)]) {
        self.extra = headers;
    }

    /// The time, in seconds since the Unix epoch, for the `Date` header — given only
    /// when the port's clock knows the date (RFC 9110 §6.6.1: no clock, no `Date`).
    /// Without the `date` feature the header is never written.
    pub fn set_date(&mut self, unix_s: u64) {
        self.date = Some(unix_s);
    }

    /// Closes the connection after this response.
    pub fn close_after(&mut self) {
        self.keep_alive = false;
    }

    /// Unread window (start, end), whether the connection may stay open, whether the
    /// body was read to its end, and whether a response was sent.
    pub(super) fn finish_peek(&self) -> (usize, usize, bool, bool, bool) {
        let body_done = matches!(self.body, Body::Done);
        let expect_pending = self.head.expect_continue && !self.body_started;
        (
            self.start,
            self.end,
            self.keep_alive && !expect_pending,
            body_done,
            self.responded,
        )
    }

    /// Ends the exchange (and its borrow of the buffer) with the same figures as
    /// [`Exchange::finish_peek`].
    pub(super) fn finish(self) -> (usize, usize, bool, bool, bool) {
        self.finish_peek()
    }

    /// The next piece of the request body, or `None` at its end. Zero-copy: the slice
    /// points into the connection buffer.
    pub async fn body_chunk(&mut self) -> Result<Option<&[u8]>, ServeError<T::Error>> {
        if matches!(self.body, Body::Done) {
            return Ok(None);
        }
        if !self.body_started {
            self.body_started = true;
            self.env.state(ConnState::Body);
            if self.head.expect_continue && !self.responded {
                self.write_parts(&[b"HTTP/1.1 100 Continue\r\n\r\n"])
                    .await?;
            }
        }
        loop {
            if self.start == self.end {
                self.fill().await?;
            }
            let avail = &self.rest[self.start..self.end];
            match &mut self.body {
                Body::Done => return Ok(None),
                Body::Length(remaining) => {
                    let n = (*remaining).min(avail.len() as u64) as usize;
                    *remaining -= n as u64;
                    let s = self.start;
                    self.start += n;
                    if *remaining == 0 {
                        self.body = Body::Done;
                    }
                    return Ok(Some(&self.rest[s..s + n]));
                }
                Body::Chunked(dec) => {
                    let step = dec.decode(avail).map_err(|e| match e {
                        ChunkError::TooLarge => ServeError::BodyTooLarge,
                        ChunkError::Malformed => ServeError::BadBody,
                    })?;
                    let s = self.start;
                    self.start += step.consumed;
                    if dec.is_done() {
                        self.body = Body::Done;
                    }
                    if let Some(r) = step.data {
                        if !r.is_empty() {
                            return Ok(Some(&self.rest[s + r.start..s + r.end]));
                        }
                    }
                    if matches!(self.body, Body::Done) {
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// Reads the whole body into `out`; `Ok(None)` if it does not fit.
    pub async fn read_body(
        &mut self,
        out: &mut [u8],
    ) -> Result<Option<usize>, ServeError<T::Error>> {
        let mut n = 0;
        while let Some(chunk) = self.body_chunk().await? {
            let Some(dst) = out.get_mut(n..n + chunk.len()) else {
                return Ok(None);
            };
            dst.copy_from_slice(chunk);
            n += chunk.len();
        }
        Ok(Some(n))
    }

    /// Reads a whole `Content-Length` body into the connection buffer and lends it out in
    /// place, so a JSON or form body is parsed where it landed, with no second buffer.
    /// Also lends the buffer's free space behind it (scratch for unescaping strings).
    ///
    /// `Err(NotInPlace::TooLarge)` when it cannot fit beside the room kept for the
    /// response head, `Err(NotInPlace::Chunked)` for a chunked body (its length is not
    /// known up front: read it with [`Exchange::body_chunk`]). Nothing is read then.
    #[allow(clippy::type_complexity)] // (body, spare), or why not.
    pub async fn body_in_place(
        &mut self,
    ) -> Result<Result<(&mut [u8], &mut [u8]), NotInPlace>, ServeError<T::Error>> {
        let n = match self.body {
            Body::Done => 0,
            Body::Length(n) => n,
            Body::Chunked(_) => return Ok(Err(NotInPlace::Chunked)),
        };
        if self.body_started && n > 0 {
            return Err(ServeError::Misuse("body already partly read"));
        }
        let room = self.rest.len().saturating_sub(self.cfg.response_reserve) as u64;
        if n > room {
            return Ok(Err(NotInPlace::TooLarge));
        }
        let n = n as usize;
        if n > 0 {
            self.body_started = true;
            self.env.state(ConnState::Body);
            if self.head.expect_continue && !self.responded {
                self.write_parts(&[b"HTTP/1.1 100 Continue\r\n\r\n"])
                    .await?;
            }
            self.compact();
            while self.end - self.start < n {
                self.fill().await?;
            }
        }
        self.body = Body::Done;
        let s = self.start;
        self.start += n;
        let (front, spare) = self.rest.split_at_mut(self.end);
        Ok(Ok((&mut front[s..s + n], spare)))
    }

    /// Sends a complete response with a body; the head and a small body leave in one
    /// write. `headers` adds lines beyond the framing ones.
    pub async fn respond(
        &mut self,
        status: Status,
        headers: impl FnOnce(&mut HeadWriter<'_>) -> Result<(), HeaderError>,
        body: &[u8],
    ) -> Result<(), ServeError<T::Error>> {
        let len = if status.allows_body() || self.head.method == Method::Head {
            ResponseLength::Known(body.len() as u64)
        } else {
            ResponseLength::Known(0)
        };
        let send_body = self.head.method != Method::Head && status.allows_body();
        let head_len = self.format_head(status, len, headers)?;
        // Coalesce a body that fits behind the head; otherwise write both in one
        // vectored call.
        let free = self.rest.len() - self.end;
        let off = self.end;
        if send_body && head_len + body.len() <= free {
            self.rest[off + head_len..off + head_len + body.len()].copy_from_slice(body);
            let total = head_len + body.len();
            let (io, rest) = (&mut *self.io, &*self.rest);
            write_with(io, self.env, self.cfg, &[&rest[off..off + total]]).await
        } else {
            let (io, rest) = (&mut *self.io, &*self.rest);
            let head = &rest[off..off + head_len];
            if send_body && !body.is_empty() {
                write_with(io, self.env, self.cfg, &[head, body]).await
            } else {
                write_with(io, self.env, self.cfg, &[head]).await
            }
        }
    }

    /// A response whose body `render` writes straight into the connection buffer's free
    /// space (after room for the head), so a generated document needs no buffer of its
    /// own. `render` returns the body's length, or `None` if it did not fit; then
    /// nothing is sent and the result is `Ok(Err(DoesNotFit))`, so the caller can render
    /// into a larger block and use [`Exchange::respond`].
    pub async fn respond_rendered(
        &mut self,
        status: Status,
        content_type: &str,
        headers: impl FnOnce(&mut HeadWriter<'_>) -> Result<(), HeaderError>,
        render: impl FnOnce(&mut [u8]) -> Option<usize>,
    ) -> Result<Result<(), DoesNotFit>, ServeError<T::Error>> {
        self.compact();
        // The head goes first in the free space; keep room for it.
        let reserve = self.cfg.response_reserve.min(self.rest.len() - self.end) / 2;
        let start = self.end + reserve;
        let Some(n) = render(&mut self.rest[start..]) else {
            return Ok(Err(DoesNotFit));
        };
        let head_len = self.format_head(status, ResponseLength::Known(n as u64), |h| {
            h.header("Content-Type", content_type)?;
            headers(h)
        })?;
        if self.end + head_len > start {
            // The head ran into the body: cannot happen unless the handler's headers
            // outgrow half the reserve; refuse rather than send garbage.
            return Err(ServeError::Misuse(
                "response head overlaps the rendered body",
            ));
        }
        let off = self.end;
        let body_on_wire = self.head.method != Method::Head && status.allows_body();
        let (io, rest) = (&mut *self.io, &*self.rest);
        let sent = if body_on_wire {
            write_with(
                io,
                self.env,
                self.cfg,
                &[&rest[off..off + head_len], &rest[start..start + n]],
            )
            .await
        } else {
            write_with(io, self.env, self.cfg, &[&rest[off..off + head_len]]).await
        };
        sent.map(Ok)
    }

    /// A short plain-text response (errors, simple answers).
    pub async fn respond_text(
        &mut self,
        status: Status,
        text: &str,
    ) -> Result<(), ServeError<T::Error>> {
        self.respond(
            status,
            |h| {
                h.header("Content-Type", "text/plain; charset=utf-8")
                    .map(drop)
            },
            text.as_bytes(),
        )
        .await
    }

    /// Starts a response whose body is written piece by piece.
    pub async fn begin(
        &mut self,
        status: Status,
        length: ResponseLength,
        headers: impl FnOnce(&mut HeadWriter<'_>) -> Result<(), HeaderError>,
    ) -> Result<BodyWriter<'_, 'a, T, E>, ServeError<T::Error>> {
        let head_len = self.format_head(status, length, headers)?;
        let off = self.end;
        let (io, rest) = (&mut *self.io, &*self.rest);
        write_with(io, self.env, self.cfg, &[&rest[off..off + head_len]]).await?;
        let suppress = self.head.method == Method::Head || !status.allows_body();
        Ok(BodyWriter {
            ex: self,
            length,
            written: 0,
            suppress,
        })
    }

    /// Formats the response head into the free space; returns its length.
    fn format_head(
        &mut self,
        status: Status,
        length: ResponseLength,
        headers: impl FnOnce(&mut HeadWriter<'_>) -> Result<(), HeaderError>,
    ) -> Result<usize, ServeError<T::Error>> {
        if self.responded {
            return Err(ServeError::Misuse("second response to one request"));
        }
        self.responded = true;
        self.env.state(ConnState::Response);
        if length == ResponseLength::UntilClose {
            self.keep_alive = false;
        }
        // An unread body we cannot or will not drain means the stream is out of sync
        // after this response: say so in the head.
        if self.head.expect_continue && !self.body_started {
            self.keep_alive = false;
        }
        if let Body::Length(n) = self.body {
            if n > self.cfg.drain_limit {
                self.keep_alive = false;
            }
        }
        self.compact();
        let keep_alive = self.keep_alive;
        let idle_s = self.cfg.timeouts.idle.as_secs();
        let http10 = self.head.minor_version == 0;
        let (date, base, extra) = (self.date, self.cfg.headers, self.extra);
        let free = &mut self.rest[self.end..];
        let mut w = HeadWriter::new(free, status).map_err(ServeError::Header)?;
        let r: Result<(), HeaderError> = (|| {
            match length {
                ResponseLength::Known(n) if status.allows_body() => {
                    w.header_fmt("Content-Length", format_args!("{n}"))?;
                }
                ResponseLength::Chunked if status.allows_body() => {
                    w.header("Transfer-Encoding", "chunked")?;
                }
                _ => {}
            }
            if status == Status::SWITCHING_PROTOCOLS {
                // A `101` hands the connection to another protocol: its `Connection:
                // Upgrade` is the handler's, and a keep-alive timeout means nothing.
            } else if keep_alive {
                if http10 {
                    w.header("Connection", "keep-alive")?;
                }
                w.header_fmt("Keep-Alive", format_args!("timeout={idle_s}"))?;
            } else {
                w.header("Connection", "close")?;
            }
            super::stamp::stamp_with(&mut w, date, base)?;
            for (name, value) in extra {
                w.header(name, value)?;
            }
            headers(&mut w)?;
            Ok(())
        })();
        r.map_err(ServeError::Header)?;
        w.finish().map_err(ServeError::Header)
    }

    /// Moves unread bytes to the front of the free area to maximise room for the head.
    fn compact(&mut self) {
        if self.start > 0 {
            self.rest.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
    }

    async fn fill(&mut self) -> Result<(), ServeError<T::Error>> {
        self.compact();
        if self.end == self.rest.len() {
            // Cannot happen with sane limits: the body reader consumes as it goes.
            return Err(ServeError::Misuse("no room to read the body"));
        }
        let cfg = self.cfg;
        let read = self.io.read(&mut self.rest[self.end..]);
        let n = match self.env.timeout(cfg.timeouts.body, read).await {
            Err(_) => {
                self.env.timed_out(TimeoutPhase::Body);
                return Err(ServeError::Timeout(TimeoutPhase::Body));
            }
            Ok(Err(e)) => return Err(ServeError::Io(e)),
            Ok(Ok(0)) => return Err(ServeError::Closed),
            Ok(Ok(n)) => n,
        };
        self.env.touch();
        self.end += n;
        Ok(())
    }

    async fn write_parts(&mut self, parts: &[&[u8]]) -> Result<(), ServeError<T::Error>> {
        write_with(self.io, self.env, self.cfg, parts).await
    }

    /// Reads and discards what is left of the body, so the next request can be parsed.
    pub(super) async fn drain(&mut self) -> Result<bool, ServeError<T::Error>> {
        if let Body::Length(n) = self.body {
            if n > self.cfg.drain_limit {
                return Ok(false);
            }
        }
        if self.head.expect_continue && !self.body_started {
            return Ok(false);
        }
        self.body_started = true;
        while self.body_chunk().await?.is_some() {}
        Ok(true)
    }
}

pub(super) async fn write_with<T: Transport, E: Env>(
    io: &mut T,
    env: &E,
    cfg: &ServerConfig,
    parts: &[&[u8]],
) -> Result<(), ServeError<T::Error>> {
    match env
        .timeout(cfg.timeouts.send, io.write_all_vectored(parts))
        .await
    {
        Err(_) => {
            env.timed_out(TimeoutPhase::Send);
            Err(ServeError::Timeout(TimeoutPhase::Send))
        }
        Ok(Err(e)) => Err(ServeError::Io(e)),
        Ok(Ok(())) => {
            env.touch();
            Ok(())
        }
    }
}

/// Writes a response body after [`Exchange::begin`].
pub struct BodyWriter<'x, 'a, T: Transport, E: Env> {
    ex: &'x mut Exchange<'a, T, E>,
    length: ResponseLength,
    written: u64,
    suppress: bool,
}

impl<T: Transport, E: Env> BodyWriter<'_, '_, T, E> {
    /// Writes a piece of the body (one chunk when chunked).
    pub async fn write(&mut self, data: &[u8]) -> Result<(), ServeError<T::Error>> {
        if data.is_empty() {
            return Ok(());
        }
        self.written += data.len() as u64;
        if let ResponseLength::Known(n) = self.length {
            if self.written > n {
                return Err(ServeError::Misuse("body longer than Content-Length"));
            }
        }
        if self.suppress {
            return Ok(());
        }
        if self.length == ResponseLength::Chunked {
            let mut size: heapless::String<20> = heapless::String::new();
            let _ = write!(size, "{:x}\r\n", data.len());
            self.ex.write_parts(&[size.as_bytes(), data, b"\r\n"]).await
        } else {
            self.ex.write_parts(&[data]).await
        }
    }

    /// A scratch area inside the connection buffer (the free space after the unread
    /// bytes), for handlers that produce the body piece by piece — e.g. reading a file.
    pub fn scratch(&mut self) -> &mut [u8] {
        let end = self.ex.end;
        &mut self.ex.rest[end..]
    }

    /// Writes `n` bytes from the front of [`BodyWriter::scratch`].
    pub async fn write_scratch(&mut self, n: usize) -> Result<(), ServeError<T::Error>> {
        let end = self.ex.end;
        self.written += n as u64;
        if let ResponseLength::Known(len) = self.length {
            if self.written > len {
                return Err(ServeError::Misuse("body longer than Content-Length"));
            }
        }
        if self.suppress || n == 0 {
            return Ok(());
        }
        let (io, rest) = (&mut *self.ex.io, &*self.ex.rest);
        let data = &rest[end..end + n];
        if self.length == ResponseLength::Chunked {
            let mut size: heapless::String<20> = heapless::String::new();
            let _ = write!(size, "{n:x}\r\n");
            write_with(
                io,
                self.ex.env,
                self.ex.cfg,
                &[size.as_bytes(), data, b"\r\n"],
            )
            .await
        } else {
            write_with(io, self.ex.env, self.ex.cfg, &[data]).await
        }
    }

    /// Ends the body (the terminating chunk when chunked).
    pub async fn finish(self) -> Result<(), ServeError<T::Error>> {
        match self.length {
            ResponseLength::Known(n) if !self.suppress && self.written != n => {
                self.ex.keep_alive = false;
                Err(ServeError::Misuse("body shorter than Content-Length"))
            }
            ResponseLength::Chunked if !self.suppress => self.ex.write_parts(&[b"0\r\n\r\n"]).await,
            _ => Ok(()),
        }
    }
}
