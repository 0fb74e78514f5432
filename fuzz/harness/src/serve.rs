//! The whole serve loop (`portico::server::serve`) over an in-memory transport.

use core::cell::RefCell;
use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};

use portico::conn::{ConnState, TimeoutPhase};
use portico::http::{Method, Status};
use portico::server::{
    serve as serve_loop, Env, Exchange, Handler, Outcome, Reply, ResponseLength, ServeError,
    ServerConfig, TimedOut, Transport,
};
use portico::time::Millis;

use crate::Knobs;

/// A transport failure injected by the script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Broken;

impl core::fmt::Display for Broken {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("injected transport failure")
    }
}

impl core::error::Error for Broken {}

impl embedded_io::Error for Broken {
    fn kind(&self) -> embedded_io::ErrorKind {
        embedded_io::ErrorKind::ConnectionReset
    }
}

/// Hands out the input in pieces, then EOF (or an error); records what is written.
struct Script<'a> {
    input: &'a [u8],
    at: usize,
    pieces: Knobs<'a>,
    max_piece: usize,
    /// Reads fail instead of returning EOF at the end.
    error_at_end: bool,
    /// Writes fail from this write on.
    fail_write: Option<usize>,
    writes: usize,
    out: Vec<u8>,
}

impl embedded_io::ErrorType for Script<'_> {
    type Error = Broken;
}

impl embedded_io_async::Read for Script<'_> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Broken> {
        // A read into no room would return 0, which means EOF: the loop must not ask.
        assert!(!buf.is_empty(), "serve read into an empty buffer");
        if self.at == self.input.len() {
            return if self.error_at_end { Err(Broken) } else { Ok(0) };
        }
        let n = self
            .pieces
            .piece(self.max_piece)
            .min(buf.len())
            .min(self.input.len() - self.at);
        buf[..n].copy_from_slice(&self.input[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

impl Script<'_> {
    fn write_gate(&mut self) -> Result<(), Broken> {
        self.writes += 1;
        match self.fail_write {
            Some(k) if self.writes >= k => Err(Broken),
            _ => Ok(()),
        }
    }
}

impl embedded_io_async::Write for Script<'_> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Broken> {
        self.write_gate()?;
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }
    async fn flush(&mut self) -> Result<(), Broken> {
        Ok(())
    }
}

impl Transport for Script<'_> {
    async fn write_all_vectored(&mut self, parts: &[&[u8]]) -> Result<(), Broken> {
        self.write_gate()?;
        for p in parts {
            self.out.extend_from_slice(p);
        }
        Ok(())
    }
}

/// No clock: deadlines never pass (the transport never blocks).
struct NoClock;

impl Env for NoClock {
    fn now(&self) -> Millis {
        0
    }
    async fn timeout<F: Future>(&self, _ms: Millis, fut: F) -> Result<F::Output, TimedOut> {
        Ok(fut.await)
    }
    fn state(&self, _: ConnState) {}
    fn touch(&self) {}
    fn request_done(&self) {}
    fn timed_out(&self, _: TimeoutPhase) {}
}

/// A handler with one route per way of using (and misusing) the exchange API.
struct App {
    /// Methods of the requests the handler saw, in order.
    seen: RefCell<Vec<Method>>,
}

impl Handler for App {
    type Upgrade = ();

    async fn handle<T: Transport, E: Env>(
        &self,
        ex: &mut Exchange<'_, T, E>,
    ) -> Result<Reply<()>, ServeError<T::Error>> {
        let method = ex.head().method;
        self.seen.borrow_mut().push(method);
        let path = ex.head().path;
        match path {
            "/hello" => ex.respond_text(Status::OK, "hi").await?,
            "/echo" => {
                let mut body = [0u8; 256];
                match ex.read_body(&mut body).await? {
                    Some(n) => ex.respond(Status::OK, |_| Ok(()), &body[..n]).await?,
                    None => ex.respond_text(Status::PAYLOAD_TOO_LARGE, "big").await?,
                }
            }
            "/count" => {
                let mut n = 0usize;
                while let Some(c) = ex.body_chunk().await? {
                    n += c.len();
                }
                let text = n.to_string();
                ex.respond_text(Status::OK, &text).await?
            }
            "/chunks" => {
                let mut w = ex
                    .begin(Status::OK, ResponseLength::Chunked, |h| h.header("X-A", "1").map(drop))
                    .await?;
                w.write(b"ab").await?;
                let s = w.scratch();
                let k = s.len().min(5);
                s[..k].copy_from_slice(&b"cdefg"[..k]);
                w.write_scratch(k).await?;
                w.finish().await?;
            }
            "/known" => {
                let mut w = ex.begin(Status::OK, ResponseLength::Known(4), |_| Ok(())).await?;
                w.write(b"ab").await?;
                w.write(b"cd").await?;
                w.finish().await?;
            }
            "/short" => {
                let mut w = ex.begin(Status::OK, ResponseLength::Known(10), |_| Ok(())).await?;
                w.write(b"abc").await?;
                w.finish().await?;
            }
            "/long" => {
                let mut w = ex.begin(Status::OK, ResponseLength::Known(2), |_| Ok(())).await?;
                w.write(b"abc").await?;
                w.finish().await?;
            }
            "/stream" => {
                let mut w = ex
                    .begin(Status::OK, ResponseLength::UntilClose, |h| {
                        h.header("Content-Type", "text/event-stream").map(drop)
                    })
                    .await?;
                w.write(b"data: 1\n\n").await?;
                return Ok(Reply::Upgrade(()));
            }
            "/none" => {}
            "/twice" => {
                ex.respond_text(Status::OK, "one").await?;
                ex.respond_text(Status::OK, "two").await?;
            }
            "/close" => {
                ex.close_after();
                ex.respond_text(Status::OK, "bye").await?
            }
            "/bighead" => {
                let v = "v".repeat(5000);
                ex.respond(Status::OK, |h| h.header("X-Big", &v).map(drop), b"x").await?
            }
            "/evil" => {
                // Header injection must be refused, not written.
                ex.respond(Status::OK, |h| h.header("X-Evil", "a\r\nSet-Cookie: x").map(drop), b"")
                    .await?
            }
            "/nobody" => ex.respond(Status::NO_CONTENT, |_| Ok(()), b"ignored").await?,
            _ => ex.respond_text(Status::NOT_FOUND, "nf").await?,
        }
        Ok(Reply::Done)
    }
}

fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    // The transport and the clock never pend: anything but Ready is a hang.
    for _ in 0..4 {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
    panic!("serve is pending on a transport that never blocks: it would hang");
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Walks the output as a sequence of HTTP responses; panics if it is not one.
fn check_output(out: &[u8], seen: &[Method]) {
    let mut at = 0;
    let mut final_responses = 0usize;
    let mut closed = false;
    while at < out.len() {
        assert!(!closed, "bytes after a response that said Connection: close: {:?}",
            String::from_utf8_lossy(&out[at..]));
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut resp = httparse::Response::new(&mut headers);
        let head_len = match resp.parse(&out[at..]) {
            Ok(httparse::Status::Complete(n)) => n,
            other => panic!(
                "output is not a response at byte {at}: {other:?}: {:?}",
                String::from_utf8_lossy(&out[at..out.len().min(at + 200)])
            ),
        };
        let code = resp.code.expect("status");
        assert!((100..=599).contains(&code));
        assert_eq!(resp.version, Some(1), "responses are HTTP/1.1");
        let get = |name: &str| {
            resp.headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(name))
                .map(|h| std::str::from_utf8(h.value).expect("ASCII header"))
        };
        let lengths = resp.headers.iter().filter(|h| h.name.eq_ignore_ascii_case("content-length")).count();
        assert!(lengths <= 1, "two Content-Length headers");
        let length = get("content-length").map(|v| v.parse::<usize>().expect("numeric Content-Length"));
        let chunked = get("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
        assert!(!(chunked && length.is_some()), "Content-Length with chunked");
        closed = get("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
        at += head_len;
        if code == 100 {
            assert!(!closed);
            continue;
        }
        let head_request = seen.get(final_responses).is_some_and(|m| *m == Method::Head);
        final_responses += 1;
        if head_request || code == 204 || code == 304 {
            if code == 204 || code == 304 {
                assert!(length.is_none_or(|n| n == 0) || head_request);
            }
            continue;
        }
        if let Some(n) = length {
            if at + n > out.len() {
                // A body cut short by a handler error or a broken transport: the end.
                return;
            }
            at += n;
        } else if chunked {
            loop {
                let Some(eol) = find(&out[at..], b"\r\n") else { return };
                let size = usize::from_str_radix(std::str::from_utf8(&out[at..at + eol]).expect("hex"), 16)
                    .expect("chunk size");
                at += eol + 2;
                if size == 0 {
                    assert!(out[at..].starts_with(b"\r\n") || at == out.len(), "no CRLF after the last chunk");
                    at = (at + 2).min(out.len());
                    break;
                }
                if at + size + 2 > out.len() {
                    return;
                }
                assert_eq!(&out[at + size..at + size + 2], b"\r\n", "chunk without CRLF");
                at += size + 2;
            }
        } else {
            // Delimited by close: an event stream, the last thing on the connection.
            assert!(closed, "a body with no length on a kept-alive connection");
            return;
        }
    }
}

/// Invariants: with a transport that never blocks the loop never pends (no hang) and
/// never panics; `Idle` only with nothing buffered; the bytes written are a clean
/// sequence of HTTP/1.1 responses — each head complete, one framing, nothing after a
/// `Connection: close` — whatever the input, its split, the buffer size, a handler's
/// misuse of the API or a transport failure.
pub fn serve(data: &[u8]) {
    let (mut k, input) = Knobs::split(data, 4);
    let mode = k.byte();
    let buf_len = [4096usize, 2048, 1500, 1100][usize::from(mode & 3)];
    let error_at_end = mode & 4 != 0;
    let fail_write = (mode & 8 != 0).then(|| 1 + usize::from(k.byte() % 4));
    let max_piece = 1 + usize::from(k.byte()) * 16;
    let mut io = Script {
        input,
        at: 0,
        pieces: k,
        max_piece,
        error_at_end,
        fail_write,
        writes: 0,
        out: Vec::new(),
    };
    let app = App { seen: RefCell::new(Vec::new()) };
    let cfg = ServerConfig::default();
    let mut buf = vec![0u8; buf_len];
    let mut filled = 0usize;
    for _round in 0..=input.len() + 1 {
        let before = io.at;
        let r = block_on(serve_loop(&mut io, &mut buf, &mut filled, &app, &NoClock, &cfg));
        assert!(filled <= buf.len());
        match r {
            Ok(Outcome::Idle) => {
                assert_eq!(filled, 0, "Idle with {filled} bytes still buffered");
                if io.at == input.len() && !error_at_end {
                    // The port would now wait for readability and see EOF.
                    let r = block_on(serve_loop(&mut io, &mut buf, &mut filled, &app, &NoClock, &cfg));
                    assert!(matches!(r, Ok(Outcome::Close)), "EOF on an idle connection: {r:?}");
                    break;
                }
                if io.at == input.len() {
                    break;
                }
                assert!(io.at > before, "Idle without reading anything");
            }
            Ok(Outcome::Close) | Ok(Outcome::Upgrade(())) | Err(_) => break,
        }
    }
    check_output(&io.out, &app.seen.borrow());
}
