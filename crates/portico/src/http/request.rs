//! Request heads: parsed with `httparse`, then checked for the framing rules that
//! `httparse` leaves to the caller (request smuggling, bare LF, limits).
//!
//! The parser is pure and incremental: [`RequestHead::parse`] returns `Ok(None)` while it
//! needs more bytes, like `httparse::Status::Partial`.

use core::fmt;

use super::status::Status;

/// Most header lines a request may carry. `httparse` needs a fixed array; it lives on the
/// stack only for the duration of [`RequestHead::parse`], never across an `await`.
pub const MAX_HEADERS: usize = 48;

/// Size limits for a request head and body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadLimits {
    /// Largest request head (request line + headers + blank line), in bytes.
    pub max_head: usize,
    /// Longest request target, in bytes.
    pub max_uri: usize,
    /// Largest request body the server accepts, in bytes.
    pub max_body: u64,
}

impl HeadLimits {
    /// Limits that suit a 4 KiB connection buffer.
    pub const fn const_default() -> Self {
        HeadLimits {
            max_head: 4096,
            max_uri: 1024,
            max_body: 64 * 1024,
        }
    }
}

impl Default for HeadLimits {
    fn default() -> Self {
        Self::const_default()
    }
}

/// Request methods the server implements. Anything else is answered `501`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// GET
    Get,
    /// HEAD
    Head,
    /// POST
    Post,
    /// PUT
    Put,
    /// DELETE
    Delete,
    /// OPTIONS
    Options,
    /// PATCH
    Patch,
}

impl Method {
    /// Every method the server implements, in the order an `Allow` header lists them.
    pub const ALL: [Method; 7] = [
        Method::Get,
        Method::Head,
        Method::Post,
        Method::Put,
        Method::Delete,
        Method::Options,
        Method::Patch,
    ];

    /// Parses a method token; `None` for methods this server does not implement.
    pub fn parse(token: &str) -> Option<Method> {
        Some(match token {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "OPTIONS" => Method::Options,
            "PATCH" => Method::Patch,
            _ => return None,
        })
    }

    /// The method's token as sent on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Patch => "PATCH",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the request body is delimited (RFC 9112 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body.
    None,
    /// Exactly this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// Why a request head was refused. Each maps to one status via [`HeadError::status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadError {
    /// Syntax error in the request line or a header (400).
    Malformed,
    /// A line ended with a bare LF, or a header was folded (400): lenient parsers
    /// disagree on these, which is what smuggling attacks exploit.
    AmbiguousFraming,
    /// `Content-Length` together with `Transfer-Encoding`, or conflicting lengths (400).
    Smuggling,
    /// HTTP/1.1 request without exactly one `Host` header (400).
    BadHost,
    /// A path whose dot segments climb above the root, however spelled (400): it names
    /// no resource, and answering it would invite probing (see [`super::path`]).
    PathAboveRoot,
    /// Request head larger than the limit or the buffer (431).
    HeadTooLarge,
    /// Request target longer than the limit (414).
    UriTooLong,
    /// Declared body larger than the limit (413).
    BodyTooLarge,
    /// Method not implemented by this server (501).
    UnsupportedMethod,
    /// A transfer coding other than `chunked` (501).
    UnsupportedTransferEncoding,
    /// An HTTP version other than 1.0 or 1.1 (505).
    UnsupportedVersion,
    /// An `Expect` value other than `100-continue` (417).
    UnsupportedExpectation,
}

impl HeadError {
    /// The status to answer with.
    pub const fn status(self) -> Status {
        match self {
            HeadError::Malformed
            | HeadError::AmbiguousFraming
            | HeadError::Smuggling
            | HeadError::BadHost
            | HeadError::PathAboveRoot => Status::BAD_REQUEST,
            HeadError::HeadTooLarge => Status::HEADERS_TOO_LARGE,
            HeadError::UriTooLong => Status::URI_TOO_LONG,
            HeadError::BodyTooLarge => Status::PAYLOAD_TOO_LARGE,
            HeadError::UnsupportedMethod | HeadError::UnsupportedTransferEncoding => {
                Status::NOT_IMPLEMENTED
            }
            HeadError::UnsupportedVersion => Status::VERSION_NOT_SUPPORTED,
            HeadError::UnsupportedExpectation => Status::EXPECTATION_FAILED,
        }
    }

    /// A short, human-readable explanation used as the error response body.
    pub const fn message(self) -> &'static str {
        match self {
            HeadError::Malformed => "malformed request",
            HeadError::AmbiguousFraming => "bare LF or folded header",
            HeadError::Smuggling => "conflicting Content-Length / Transfer-Encoding",
            HeadError::BadHost => "missing or repeated Host header",
            HeadError::PathAboveRoot => "path climbs above the root",
            HeadError::HeadTooLarge => "request head too large",
            HeadError::UriTooLong => "request target too long",
            HeadError::BodyTooLarge => "request body too large",
            HeadError::UnsupportedMethod => "method not implemented",
            HeadError::UnsupportedTransferEncoding => "transfer coding not implemented",
            HeadError::UnsupportedVersion => "only HTTP/1.0 and HTTP/1.1 are supported",
            HeadError::UnsupportedExpectation => "only Expect: 100-continue is supported",
        }
    }
}

impl fmt::Display for HeadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl core::error::Error for HeadError {}

/// A parsed and validated request head, borrowing the bytes it was parsed from.
///
/// Header lines are not copied into an array: [`RequestHead::headers`] walks the raw,
/// already validated bytes. That keeps this struct a handful of words, which matters
/// because it is held across the handler's `await`s — on a device, future size is RAM.
#[derive(Debug, Clone, Copy)]
pub struct RequestHead<'b> {
    /// Method.
    pub method: Method,
    /// Path part of the request target (before `?`), still percent-encoded.
    pub path: &'b str,
    /// Query string after `?`, if any.
    pub query: Option<&'b str>,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor_version: u8,
    /// Whether the connection may stay open after this exchange.
    pub keep_alive: bool,
    /// How the body is delimited.
    pub framing: BodyFraming,
    /// Whether the client sent `Expect: 100-continue`.
    pub expect_continue: bool,
    /// Length of the head in bytes, blank line included.
    pub len: usize,
    raw_headers: &'b [u8],
}

impl<'b> RequestHead<'b> {
    /// Parses a request head from the start of `buf`.
    ///
    /// Returns `Ok(None)` when more bytes are needed, `Ok(Some(head))` when the head is
    /// complete (`head.len` bytes of `buf`), or the reason to refuse it.
    pub fn parse(buf: &'b [u8], limits: &HeadLimits) -> Result<Option<Self>, HeadError> {
        // Leading empty lines before a request line are allowed (RFC 9112 §2.2) and are
        // skipped by httparse; the bare-LF rule still applies to them.
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut req = httparse::Request::new(&mut headers);
        let status = match req.parse(buf) {
            Ok(s) => s,
            Err(httparse::Error::TooManyHeaders) => return Err(HeadError::HeadTooLarge),
            Err(httparse::Error::Version) => {
                return Err(if looks_like_other_version(buf) {
                    HeadError::UnsupportedVersion
                } else {
                    HeadError::Malformed
                })
            }
            Err(_) => return Err(early_limit_error(buf, limits).unwrap_or(HeadError::Malformed)),
        };
        let len = match status {
            httparse::Status::Partial => {
                if let Some(e) = early_limit_error(buf, limits) {
                    return Err(e);
                }
                if buf.len() >= limits.max_head {
                    return Err(HeadError::HeadTooLarge);
                }
                return Ok(None);
            }
            httparse::Status::Complete(len) => len,
        };
        if len > limits.max_head {
            return Err(HeadError::HeadTooLarge);
        }
        let head = &buf[..len];
        check_line_endings(head)?;

        let target = req.path.ok_or(HeadError::Malformed)?;
        if target.len() > limits.max_uri {
            return Err(HeadError::UriTooLong);
        }
        let method = Method::parse(req.method.ok_or(HeadError::Malformed)?)
            .ok_or(HeadError::UnsupportedMethod)?;
        let minor_version = req.version.ok_or(HeadError::Malformed)?;
        let (path, query) = split_target(target, method)?;
        if super::path::climbs_above_root(path) {
            return Err(HeadError::PathAboveRoot);
        }

        let mut keep_alive = minor_version == 1;
        let mut content_length: Option<u64> = None;
        let mut chunked = false;
        let mut saw_te = false;
        let mut te_unknown = false;
        let mut te_after_chunked = false;
        let mut hosts = 0u8;
        let mut expect_continue = false;
        for h in req.headers.iter() {
            let value = core::str::from_utf8(h.value).map_err(|_| HeadError::Malformed)?;
            if h.name.eq_ignore_ascii_case("content-length") {
                for part in value.split(',') {
                    let n = parse_length(part.trim())?;
                    match content_length {
                        Some(prev) if prev != n => return Err(HeadError::Smuggling),
                        _ => content_length = Some(n),
                    }
                }
            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                saw_te = true;
                // RFC 9112 §6.3: if chunked is not the final coding, the length cannot
                // be determined: 400. §6.1: a coding we do not implement before a final
                // chunked: 501. Several header lines form one list, in order.
                for coding in value.split(',').map(str::trim).filter(|c| !c.is_empty()) {
                    if chunked {
                        // Anything after chunked, including a second chunked.
                        chunked = false;
                        te_after_chunked = true;
                    }
                    if coding.eq_ignore_ascii_case("chunked") && !te_after_chunked {
                        chunked = true;
                    } else if !coding.eq_ignore_ascii_case("chunked") {
                        te_unknown = true;
                    }
                }
            } else if h.name.eq_ignore_ascii_case("connection") {
                for token in value.split(',').map(str::trim) {
                    if token.eq_ignore_ascii_case("close") {
                        keep_alive = false;
                    } else if token.eq_ignore_ascii_case("keep-alive") && minor_version == 0 {
                        keep_alive = true;
                    }
                }
            } else if h.name.eq_ignore_ascii_case("host") {
                hosts = hosts.saturating_add(1);
            } else if h.name.eq_ignore_ascii_case("expect") {
                if value.trim().eq_ignore_ascii_case("100-continue") {
                    expect_continue = minor_version == 1;
                } else {
                    return Err(HeadError::UnsupportedExpectation);
                }
            }
        }
        // A "Connection: close" must win over a "keep-alive" token that came before it.
        if has_token(req.headers, "connection", "close") {
            keep_alive = false;
        }
        if minor_version == 1 && hosts != 1 || hosts > 1 {
            return Err(HeadError::BadHost);
        }
        let framing = match (saw_te, content_length) {
            (true, Some(_)) => return Err(HeadError::Smuggling),
            (true, None) if minor_version == 0 => return Err(HeadError::Smuggling),
            (true, None) if !chunked || te_after_chunked => return Err(HeadError::Smuggling),
            (true, None) if te_unknown => return Err(HeadError::UnsupportedTransferEncoding),
            (true, None) => BodyFraming::Chunked,
            (false, Some(0)) | (false, None) => BodyFraming::None,
            (false, Some(n)) if n > limits.max_body => return Err(HeadError::BodyTooLarge),
            (false, Some(n)) => BodyFraming::Length(n),
        };
        let raw_headers = skip_request_line(head);
        Ok(Some(RequestHead {
            method,
            path,
            query,
            minor_version,
            keep_alive,
            framing,
            expect_continue: expect_continue && framing != BodyFraming::None,
            len,
            raw_headers,
        }))
    }

    /// All header lines as `(name, value)`, in order, values trimmed of whitespace.
    pub fn headers(&self) -> Headers<'b> {
        Headers {
            rest: self.raw_headers,
        }
    }

    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'b str> {
        self.headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Whether a comma-separated header contains `token` (case-insensitive).
    pub fn header_has_token(&self, name: &str, token: &str) -> bool {
        self.headers()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .any(|(_, v)| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    }
}

/// Iterator over a validated head's header lines.
#[derive(Debug, Clone)]
pub struct Headers<'b> {
    rest: &'b [u8],
}

impl<'b> Iterator for Headers<'b> {
    type Item = (&'b str, &'b str);

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let end = self.rest.iter().position(|&b| b == b'\n')?;
        let line = &self.rest[..end];
        self.rest = &self.rest[end + 1..];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            self.rest = &[];
            return None;
        }
        let colon = line.iter().position(|&b| b == b':')?;
        // Validated by httparse and by the UTF-8 check in `parse`.
        let name = core::str::from_utf8(&line[..colon]).ok()?;
        let value = core::str::from_utf8(&line[colon + 1..]).ok()?;
        Some((name, value.trim_matches(|c| c == ' ' || c == '\t')))
    }
}

fn has_token(headers: &[httparse::Header<'_>], name: &str, token: &str) -> bool {
    headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case(name))
        .filter_map(|h| core::str::from_utf8(h.value).ok())
        .any(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
}

fn parse_length(s: &str) -> Result<u64, HeadError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HeadError::Smuggling);
    }
    // A well-formed length past u64 counts as u64::MAX: over any limit (413) once the
    // framing checks (conflicts, CL + TE: 400) have passed. Leading zeros add nothing.
    let digits = s.trim_start_matches('0');
    if digits.len() > 19 {
        return Ok(u64::MAX);
    }
    Ok(digits.parse().unwrap_or(0))
}

fn split_target(target: &str, method: Method) -> Result<(&str, Option<&str>), HeadError> {
    if target == "*" {
        return if method == Method::Options {
            Ok(("*", None))
        } else {
            Err(HeadError::Malformed)
        };
    }
    // Absolute-form (`http://host/path`) must be accepted by servers (RFC 9112 §3.2.2).
    let origin = if let Some(rest) = target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"))
    {
        match rest.find('/') {
            Some(i) => &rest[i..],
            None => "/",
        }
    } else {
        target
    };
    if !origin.starts_with('/') {
        return Err(HeadError::Malformed);
    }
    Ok(match origin.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (origin, None),
    })
}

/// Rejects bare LF line endings and obsolete line folding inside a complete head.
fn check_line_endings(head: &[u8]) -> Result<(), HeadError> {
    let mut prev = 0u8;
    for (i, &b) in head.iter().enumerate() {
        if b == b'\n' {
            if prev != b'\r' {
                return Err(HeadError::AmbiguousFraming);
            }
            if let Some(&next) = head.get(i + 1) {
                if next == b' ' || next == b'\t' {
                    return Err(HeadError::AmbiguousFraming);
                }
            }
        }
        prev = b;
    }
    Ok(())
}

/// Detects a request line that cannot fit the URI limit before the whole head arrives,
/// so a 100 KB target is refused with 414 after 1 KB, not after the buffer fills.
fn early_limit_error(buf: &[u8], limits: &HeadLimits) -> Option<HeadError> {
    let line_end = buf.iter().position(|&b| b == b'\n');
    let line = &buf[..line_end.unwrap_or(buf.len())];
    // "METHOD SP target SP HTTP/1.1": the target starts after the first space.
    let target_start = line.iter().position(|&b| b == b' ').map(|i| i + 1)?;
    let target_len = line[target_start..]
        .iter()
        .position(|&b| b == b' ')
        .unwrap_or(line.len() - target_start);
    if target_len > limits.max_uri {
        return Some(HeadError::UriTooLong);
    }
    None
}

fn looks_like_other_version(buf: &[u8]) -> bool {
    let line_end = buf.iter().position(|&b| b == b'\n').unwrap_or(buf.len());
    let line = &buf[..line_end];
    line.windows(5).any(|w| w == b"HTTP/")
        && !line
            .windows(8)
            .any(|w| w == b"HTTP/1.1" || w == b"HTTP/1.0")
}

fn skip_request_line(head: &[u8]) -> &[u8] {
    // Skip any leading blank lines, then the request line.
    let mut rest = head;
    loop {
        match rest.iter().position(|&b| b == b'\n') {
            Some(i) => {
                let line = &rest[..i];
                rest = &rest[i + 1..];
                if !(line.is_empty() || line == b"\r") {
                    return rest;
                }
            }
            None => return &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Option<RequestHead<'_>>, HeadError> {
        RequestHead::parse(s.as_bytes(), &HeadLimits::default())
    }

    #[test]
    fn simple_get() {
        let h = parse("GET /api/status?x=1 HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(h.method, Method::Get);
        assert_eq!(h.path, "/api/status");
        assert_eq!(h.query, Some("x=1"));
        assert!(h.keep_alive);
        assert_eq!(h.framing, BodyFraming::None);
        assert_eq!(h.header("accept"), Some("*/*"));
        assert_eq!(h.headers().count(), 2);
    }

    #[test]
    fn paths_above_the_root_are_refused() {
        for target in [
            "/../../../../etc/passwd",
            "/%2e%2e/%2e%2e/etc/passwd",
            "http://a/../x",
        ] {
            let raw = std::format!("GET {target} HTTP/1.1\r\nHost: a\r\n\r\n");
            let e = parse(&raw).unwrap_err();
            assert_eq!(e, HeadError::PathAboveRoot, "{target}");
            assert_eq!(e.status(), Status::BAD_REQUEST);
        }
        assert!(parse("GET /a/../b HTTP/1.1\r\nHost: a\r\n\r\n").is_ok());
    }

    #[test]
    fn partial_then_complete() {
        let full = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        for cut in 0..full.len() {
            assert!(RequestHead::parse(&full[..cut], &HeadLimits::default())
                .unwrap()
                .is_none());
        }
        let h = RequestHead::parse(full, &HeadLimits::default())
            .unwrap()
            .unwrap();
        assert_eq!(h.len, full.len());
    }

    #[test]
    fn keep_alive_rules() {
        let h10 = parse("GET / HTTP/1.0\r\n\r\n").unwrap().unwrap();
        assert!(!h10.keep_alive);
        let h10ka = parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(h10ka.keep_alive);
        let h11c = parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(!h11c.keep_alive);
        let mixed = parse("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(!mixed.keep_alive);
    }

    #[test]
    fn framing() {
        let cl = parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(cl.framing, BodyFraming::Length(5));
        let zeros =
            parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 000000000000000000000005\r\n\r\n")
                .unwrap()
                .unwrap();
        assert_eq!(zeros.framing, BodyFraming::Length(5));
        let te = parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(te.framing, BodyFraming::Chunked);
        let same =
            parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n")
                .unwrap()
                .unwrap();
        assert_eq!(same.framing, BodyFraming::Length(5));
    }

    #[test]
    fn refusals_map_to_statuses() {
        let cases: &[(&str, u16)] = &[
            ("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 2\r\n\r\n", 400),
            ("GET / HTTP/1.1\nHost: a\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
            ("GE T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            ("BREW / HTTP/1.1\r\nHost: a\r\n\r\n", 501),
            ("TRACE / HTTP/1.1\r\nHost: a\r\n\r\n", 501),
            ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
            ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400),
            ("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 999999999\r\n\r\n", 413),
            // Past u64: still a length, still too large.
            ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", 413),
            ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000000000000000000000\r\n\r\n", 413),
            // ...but framing conflicts are still what they are.
            ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 99999999999999999999\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
            ("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
            ("GET foo HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ];
        for (raw, want) in cases {
            let got = parse(raw).expect_err(raw).status().0;
            assert_eq!(got, *want, "{raw:?}");
        }
    }

    #[test]
    fn long_uri_is_414_before_head_completes() {
        let mut s = std::string::String::from("GET /");
        s.push_str(&"a".repeat(2000));
        assert_eq!(parse(&s).unwrap_err(), HeadError::UriTooLong);
    }

    #[test]
    fn head_over_limit_is_431() {
        let mut s = std::string::String::from("GET / HTTP/1.1\r\nHost: a\r\n");
        while s.len() < 5000 {
            s.push_str("X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        assert_eq!(parse(&s).unwrap_err(), HeadError::HeadTooLarge);
        let mut many = std::string::String::from("GET / HTTP/1.1\r\nHost: a\r\n");
        for i in 0..60 {
            many.push_str(&std::format!("X-{i}: v\r\n"));
        }
        many.push_str("\r\n");
        assert_eq!(parse(&many).unwrap_err(), HeadError::HeadTooLarge);
    }

    #[test]
    fn expect_continue_only_with_body() {
        let h = parse(
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n",
        )
        .unwrap()
        .unwrap();
        assert!(h.expect_continue);
        let e = parse("POST / HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\n\r\n").unwrap_err();
        assert_eq!(e.status(), Status::EXPECTATION_FAILED);
    }

    #[test]
    fn absolute_form_and_asterisk() {
        let h = parse("GET http://dev.local/x?y HTTP/1.1\r\nHost: dev.local\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!((h.path, h.query), ("/x", Some("y")));
        let o = parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(o.path, "*");
    }
}
