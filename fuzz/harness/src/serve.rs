//! The whole serve loop (`portico::server::serve`) over an in-memory transport.

use core::cell::RefCell;
use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};

use portico::http::{Method, Status};
use portico::server::{
    serve as serve_loop, Env, Exchange, Handler, Outcome, Reply, ResponseLength, ServeError,
    ServerConfig, Transport,
};
use portico::testing::{NoClock, ScriptedTransport};

use crate::Knobs;

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
                    .begin(Status::OK, ResponseLength::Chunked, |h| {
                        h.header("X-A", "1").map(drop)
                    })
                    .await?;
                w.write(b"ab").await?;
                let s = w.scratch();
                let k = s.len().min(5);
                s[..k].copy_from_slice(&b"cdefg"[..k]);
                w.write_scratch(k).await?;
                w.finish().await?;
            }
            "/known" => known_length(ex, 4, &[b"ab", b"cd"]).await?,
            "/short" => known_length(ex, 10, &[b"abc"]).await?,
            "/long" => known_length(ex, 2, &[b"abc"]).await?,
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
                ex.respond(Status::OK, |h| h.header("X-Big", &v).map(drop), b"x")
                    .await?
            }
            "/evil" => {
                // Header injection must be refused, not written.
                ex.respond(
                    Status::OK,
                    |h| h.header("X-Evil", "a\r\nSet-Cookie: x").map(drop),
                    b"",
                )
                .await?
            }
            "/nobody" => {
                ex.respond(Status::NO_CONTENT, |_| Ok(()), b"ignored")
                    .await?
            }
            _ => ex.respond_text(Status::NOT_FOUND, "nf").await?,
        }
        Ok(Reply::Done)
    }
}

/// Declares a body of `len` bytes, writes `parts` (as many bytes, or on purpose fewer or
/// more) and finishes.
async fn known_length<T: Transport, E: Env>(
    ex: &mut Exchange<'_, T, E>,
    len: u64,
    parts: &[&[u8]],
) -> Result<(), ServeError<T::Error>> {
    let mut w = ex
        .begin(Status::OK, ResponseLength::Known(len), |_| Ok(()))
        .await?;
    for p in parts {
        w.write(p).await?;
    }
    w.finish().await
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

/// Walks the output as a sequence of HTTP responses; panics if it is not one. Returns
/// each final response's status and bytes (a cut-short last one included).
fn check_output(out: &[u8], seen: &[Method]) -> Vec<(u16, Vec<u8>)> {
    let mut responses = Vec::new();
    let mut at = 0;
    let mut begin = 0;
    let mut closed = false;
    while at < out.len() {
        assert!(
            !closed,
            "bytes after a response that said Connection: close: {:?}",
            String::from_utf8_lossy(&out[at..])
        );
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
        let lengths = resp
            .headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case("content-length"))
            .count();
        assert!(lengths <= 1, "two Content-Length headers");
        let length =
            get("content-length").map(|v| v.parse::<usize>().expect("numeric Content-Length"));
        let chunked = get("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
        assert!(
            !(chunked && length.is_some()),
            "Content-Length with chunked"
        );
        closed = get("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
        at += head_len;
        if code == 100 {
            assert!(!closed);
            continue;
        }
        let head_request = seen
            .get(responses.len())
            .is_some_and(|m| *m == Method::Head);
        let cut = 'body: {
            if head_request || code == 204 || code == 304 {
                if code == 204 || code == 304 {
                    assert!(length.is_none_or(|n| n == 0) || head_request);
                }
                break 'body false;
            }
            if let Some(n) = length {
                if at + n > out.len() {
                    // A body cut short by a handler error or a broken transport.
                    break 'body true;
                }
                at += n;
                false
            } else if chunked {
                loop {
                    let Some(eol) = find(&out[at..], b"\r\n") else {
                        break 'body true;
                    };
                    let size = std::str::from_utf8(&out[at..at + eol])
                        .ok()
                        .and_then(|h| usize::from_str_radix(h, 16).ok())
                        .expect("chunk size line");
                    at += eol + 2;
                    if size == 0 {
                        if at == out.len() {
                            break 'body true;
                        }
                        assert!(
                            out[at..].starts_with(b"\r\n"),
                            "no CRLF after the last chunk"
                        );
                        at += 2;
                        break 'body false;
                    }
                    if at + size + 2 > out.len() {
                        break 'body true;
                    }
                    assert_eq!(
                        &out[at + size..at + size + 2],
                        b"\r\n",
                        "chunk without CRLF"
                    );
                    at += size + 2;
                }
            } else {
                // Delimited by close: an event stream, the last thing on the connection.
                assert!(closed, "a body with no length on a kept-alive connection");
                break 'body true;
            }
        };
        if cut {
            responses.push((code, out[begin..].to_vec()));
            return responses;
        }
        responses.push((code, out[begin..at].to_vec()));
        begin = at;
    }
    responses
}

/// Runs the serve loop over `input` the way a port does; returns what it wrote.
fn run(
    input: &[u8],
    mode: u8,
    fail_write: Option<usize>,
    pieces: Option<Knobs<'_>>,
    max_piece: usize,
) -> Vec<(u16, Vec<u8>)> {
    let (out, seen) = run_raw(input, mode, fail_write, pieces, max_piece);
    check_output(&out, &seen)
}

/// The bytes the serve loop writes for `input` (read in one piece, 4 KiB buffer, EOF at
/// the end), after checking they form clean responses: for plain tests of statuses.
/// Routes: `/hello`, `/echo` (body ≤ 256 B), `/count` (reads any body), `/chunks`, …
pub fn respond(input: &[u8]) -> String {
    let (out, seen) = run_raw(input, 0, None, None, usize::MAX);
    check_output(&out, &seen);
    String::from_utf8_lossy(&out).into_owned()
}

fn run_raw(
    input: &[u8],
    mode: u8,
    fail_write: Option<usize>,
    pieces: Option<Knobs<'_>>,
    max_piece: usize,
) -> (Vec<u8>, Vec<Method>) {
    let buf_len = [4096usize, 2048, 1500, 1100][usize::from(mode & 3)];
    let error_at_end = mode & 4 != 0;
    let mut io = ScriptedTransport::new(input);
    if let Some(mut k) = pieces {
        io = io.with_piece_sizes(move || k.piece(max_piece));
    }
    if error_at_end {
        io = io.error_at_end();
    }
    if let Some(k) = fail_write {
        io = io.fail_writes_from(k);
    }
    let app = App {
        seen: RefCell::new(Vec::new()),
    };
    let cfg = ServerConfig::default();
    let mut buf = vec![0u8; buf_len];
    let mut filled = 0usize;
    for _round in 0..=input.len() + 1 {
        let before = io.consumed();
        let r = block_on(serve_loop(
            &mut io,
            &mut buf,
            &mut filled,
            &app,
            &NoClock,
            &cfg,
        ));
        assert!(filled <= buf.len());
        match r {
            Ok(Outcome::Idle) => {
                assert_eq!(filled, 0, "Idle with {filled} bytes still buffered");
                assert!(io.consumed() > before, "Idle without reading anything");
                if io.at_end() {
                    if !error_at_end {
                        // The port now waits for readability and sees EOF.
                        let r = block_on(serve_loop(
                            &mut io,
                            &mut buf,
                            &mut filled,
                            &app,
                            &NoClock,
                            &cfg,
                        ));
                        assert!(
                            matches!(r, Ok(Outcome::Close)),
                            "EOF on an idle connection: {r:?}"
                        );
                    }
                    break;
                }
            }
            Ok(Outcome::Close) | Ok(Outcome::Upgrade(())) | Err(_) => break,
        }
    }
    let seen = app.seen.borrow().clone();
    (io.into_output(), seen)
}

/// Invariants: with a transport that never blocks the loop never pends (no hang) and
/// never panics; `Idle` only with nothing buffered; the bytes written are a clean
/// sequence of HTTP/1.1 responses — each head complete, one framing, nothing after a
/// `Connection: close` — whatever the input, the buffer size, a handler's misuse of the
/// API or a transport failure; and they do not depend on how the input was split into
/// reads (TCP segmentation), except which error a head with several faults gets.
pub fn serve(data: &[u8]) {
    let (mut k, input) = Knobs::split(data, 4);
    let mode = k.byte();
    let fail_write = (mode & 8 != 0).then(|| 1 + usize::from(k.byte() % 4));
    let max_piece = 1 + usize::from(k.byte()) * 16;
    let whole = run(input, mode, fail_write, None, max_piece);
    let split = run(input, mode, fail_write, Some(k), max_piece);
    let n = whole.len().max(split.len());
    let ends_in_error = |v: &[(u16, Vec<u8>)]| v.last().is_some_and(|(c, _)| *c >= 400);
    if ends_in_error(&whole) && ends_in_error(&split) && whole.len() == split.len() {
        // Both refused the same request; which fault is reported first may differ.
        assert_eq!(
            whole[..n - 1],
            split[..n - 1],
            "responses depend on the read sizes"
        );
    } else {
        assert_eq!(whole, split, "responses depend on the read sizes");
    }
}
