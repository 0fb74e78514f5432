//! `RequestHead::parse` with the default limits.

use portico::http::request::MAX_HEADERS;
use portico::http::{BodyFraming, HeadLimits, RequestHead};

/// Invariants:
/// - no panic; `Ok(None)` only while the input is shorter than the head limit;
/// - a parsed head: `len` ≤ input length and ≤ `max_head`, the target within `max_uri`,
///   header iteration terminates (≤ `MAX_HEADERS` items) and yields no CR/LF;
/// - re-parsing exactly `len` bytes gives the same head; a strict prefix never parses;
/// - framing agrees with the raw header lines that `headers()` walks (an independent
///   view of the bytes): `Length` ⇒ no `Transfer-Encoding`, `Chunked` ⇒ no
///   `Content-Length`, `None` ⇒ neither a TE nor a non-zero CL. A disagreement between
///   the two views is exactly what request smuggling exploits.
pub fn http_head(data: &[u8]) {
    let limits = HeadLimits::default();
    let head = match RequestHead::parse(data, &limits) {
        Ok(Some(h)) => h,
        Ok(None) => {
            assert!(
                data.len() < limits.max_head,
                "partial head of {} bytes, over the {}-byte limit",
                data.len(),
                limits.max_head
            );
            return;
        }
        Err(e) => {
            let s = e.status().0;
            assert!((400..=599).contains(&s), "error {e:?} maps to status {s}");
            assert!(!e.message().is_empty());
            return;
        }
    };
    assert!(
        head.len <= data.len(),
        "head.len {} > input {}",
        head.len,
        data.len()
    );
    assert!(head.len <= limits.max_head);
    assert!(head.path.len() <= limits.max_uri);
    assert!(
        head.path.starts_with('/') || head.path == "*",
        "path {:?}",
        head.path
    );
    assert!(
        !head.path.contains('?'),
        "path {:?} holds the query",
        head.path
    );
    assert!(head.minor_version <= 1);

    // Header iteration terminates and yields clean items.
    let mut count = 0usize;
    let (mut te, mut cl_nonzero, mut cl, mut host) = (0usize, false, 0usize, 0usize);
    for (name, value) in head.headers() {
        count += 1;
        assert!(
            count <= MAX_HEADERS,
            "more header items than httparse accepts"
        );
        assert!(!name.is_empty());
        for s in [name, value] {
            assert!(!s.bytes().any(|b| b == b'\r' || b == b'\n'), "{s:?}");
        }
        if name.eq_ignore_ascii_case("transfer-encoding") {
            te += 1;
        } else if name.eq_ignore_ascii_case("content-length") {
            cl += 1;
            cl_nonzero |= value
                .split(',')
                .any(|v| !v.trim().trim_start_matches('0').is_empty());
        } else if name.eq_ignore_ascii_case("host") {
            host += 1;
        }
    }
    // `header()` finds what `headers()` yields.
    if let Some((name, value)) = head.headers().next() {
        assert_eq!(head.header(name), Some(value));
    }
    match head.framing {
        BodyFraming::Length(n) => {
            assert!(n > 0 && n <= limits.max_body);
            assert_eq!(
                te, 0,
                "Content-Length framing with a Transfer-Encoding line"
            );
            assert!(cl > 0, "Length framing without a Content-Length line");
        }
        BodyFraming::Chunked => {
            assert_eq!(cl, 0, "chunked framing with a Content-Length line");
            assert!(te > 0, "chunked framing without a Transfer-Encoding line");
            assert_eq!(head.minor_version, 1, "chunked on HTTP/1.0");
        }
        BodyFraming::None => {
            assert_eq!(te, 0, "no framing but a Transfer-Encoding line");
            assert!(!cl_nonzero, "no framing but a non-zero Content-Length");
        }
    }
    if head.minor_version == 1 {
        assert_eq!(host, 1, "HTTP/1.1 head accepted with {host} Host lines");
    } else {
        assert!(host <= 1);
    }
    if head.expect_continue {
        assert_ne!(head.framing, BodyFraming::None);
    }

    // Exactly `len` bytes parse to the same head; fewer never complete.
    let again = RequestHead::parse(&data[..head.len], &limits)
        .expect("the head's own bytes must parse again")
        .expect("the head's own bytes are complete");
    assert_eq!(again.len, head.len);
    assert_eq!(
        (again.method, again.path, again.query),
        (head.method, head.path, head.query)
    );
    assert_eq!(again.framing, head.framing);
    assert_eq!(again.keep_alive, head.keep_alive);
    if head.len > 0 {
        assert!(
            !matches!(
                RequestHead::parse(&data[..head.len - 1], &limits),
                Ok(Some(_))
            ),
            "a strict prefix of a head parsed as complete"
        );
    }
}
