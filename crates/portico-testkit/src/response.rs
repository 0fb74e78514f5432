//! One HTTP/1.1 response parser for every test, bench and simulation, sans-IO: it is
//! handed the bytes read so far and says "incomplete" or returns one response and how
//! many bytes it used (the rest belongs to the next response on a keep-alive
//! connection). The callers' I/O loops stay theirs (blocking std, embassy-net), so
//! the three copies that had drifted apart — one of them matched header names
//! case-sensitively — are now one.

/// A parsed response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Bytes of the status line and headers, including the blank line.
    pub head_len: usize,
    /// Header lines in the order sent, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl Response {
    /// First header of that name: names are case-insensitive (RFC 9110 §5.1).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the server said it will close the connection.
    pub fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// What the parser needs to know that the bytes do not say.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Framing {
    /// The request was `HEAD`: the response has no body whatever its headers say.
    pub head_request: bool,
    /// The peer has closed: a body framed by the close ends here.
    pub eof: bool,
}

/// The parser's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// More bytes are needed.
    Incomplete,
    /// One response, and how many bytes of the input it took.
    Complete(Response, usize),
}

/// Bytes that are not an HTTP/1.1 response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseError {}

fn bad(what: impl Into<String>) -> ParseError {
    ParseError(what.into())
}

/// Parses one response from the start of `buf`.
pub fn parse_response(buf: &[u8], framing: Framing) -> Result<Parsed, ParseError> {
    let Some(end) = find(buf, b"\r\n\r\n") else {
        return Ok(Parsed::Incomplete);
    };
    let head_len = end + 4;
    let head = std::str::from_utf8(&buf[..end]).map_err(|_| bad("head is not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status = status_line
        .strip_prefix("HTTP/1.")
        .and_then(|s| s.split(' ').nth(1))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| bad(format!("status line {status_line:?}")))?;
    let mut headers = Vec::new();
    for line in lines {
        let (n, v) = line
            .split_once(':')
            .ok_or_else(|| bad(format!("header line {line:?}")))?;
        headers.push((n.trim().to_string(), v.trim().to_string()));
    }
    let mut response = Response {
        status,
        head_len,
        headers,
        body: Vec::new(),
    };
    let rest = &buf[head_len..];
    if framing.head_request || status == 204 || status == 304 || (100..200).contains(&status) {
        return Ok(Parsed::Complete(response, head_len));
    }
    if response
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        return Ok(match dechunk(rest)? {
            Some((body, used)) => {
                response.body = body;
                Parsed::Complete(response, head_len + used)
            }
            None => Parsed::Incomplete,
        });
    }
    if let Some(len) = response.header("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| bad(format!("Content-Length {len:?}")))?;
        if rest.len() < len {
            return Ok(Parsed::Incomplete);
        }
        response.body = rest[..len].to_vec();
        return Ok(Parsed::Complete(response, head_len + len));
    }
    // Neither: the body runs to the close (RFC 9112 §6.3, rule 8).
    if !framing.eof {
        return Ok(Parsed::Incomplete);
    }
    response.body = rest.to_vec();
    Ok(Parsed::Complete(response, buf.len()))
}

/// A chunked body: the bytes and how many input bytes it took, or `None` if incomplete.
fn dechunk(mut rest: &[u8]) -> Result<Option<(Vec<u8>, usize)>, ParseError> {
    let total = rest.len();
    let mut body = Vec::new();
    loop {
        let Some(eol) = find(rest, b"\r\n") else {
            return Ok(None);
        };
        let line = std::str::from_utf8(&rest[..eol]).map_err(|_| bad("chunk size"))?;
        let size = line.split(';').next().unwrap_or("").trim();
        let n = usize::from_str_radix(size, 16).map_err(|_| bad(format!("chunk size {line:?}")))?;
        rest = &rest[eol + 2..];
        if n == 0 {
            // Trailer lines, then the blank line.
            loop {
                let Some(eol) = find(rest, b"\r\n") else {
                    return Ok(None);
                };
                rest = &rest[eol + 2..];
                if eol == 0 {
                    return Ok(Some((body, total - rest.len())));
                }
            }
        }
        if rest.len() < n + 2 {
            return Ok(None);
        }
        if &rest[n..n + 2] != b"\r\n" {
            return Err(bad("chunk not followed by CRLF"));
        }
        body.extend_from_slice(&rest[..n]);
        rest = &rest[n + 2..];
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(bytes: &[u8], framing: Framing) -> (Response, usize) {
        match parse_response(bytes, framing).unwrap() {
            Parsed::Complete(r, n) => (r, n),
            Parsed::Incomplete => panic!("incomplete: {:?}", String::from_utf8_lossy(bytes)),
        }
    }

    #[test]
    fn content_length_and_what_follows_is_left() {
        let bytes =
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhelloHTTP/1.1";
        let (r, used) = complete(bytes, Framing::default());
        assert_eq!((r.status, r.head_len, used), (200, 57, 62));
        assert_eq!(r.body, b"hello");
        assert!(r.closes());
    }

    #[test]
    fn header_names_are_case_insensitive() {
        let (r, _) = complete(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\ncontent-length: 0\r\n\r\n",
            Framing::default(),
        );
        assert_eq!(r.header("content-type"), Some("text/plain"));
        assert_eq!(r.header("CONTENT-TYPE"), Some("text/plain"));
        assert_eq!(r.header("Content-Length"), Some("0"));
    }

    #[test]
    fn every_prefix_is_incomplete() {
        let bytes = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: t\r\n\r\n";
        for cut in 0..bytes.len() {
            assert_eq!(
                parse_response(&bytes[..cut], Framing::default()),
                Ok(Parsed::Incomplete),
                "cut at {cut}"
            );
        }
        let (r, used) = complete(bytes, Framing::default());
        assert_eq!((r.body.as_slice(), used), (&b"abcde"[..], bytes.len()));
    }

    #[test]
    fn no_body_for_head_204_304_whatever_the_length() {
        let bytes = b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n";
        let head = Framing {
            head_request: true,
            eof: false,
        };
        assert_eq!(complete(bytes, head).1, bytes.len());
        assert_eq!(
            parse_response(bytes, Framing::default()),
            Ok(Parsed::Incomplete)
        );
        for status in [b"204", b"304"] {
            let mut b = b"HTTP/1.1 ".to_vec();
            b.extend_from_slice(status);
            b.extend_from_slice(b" X\r\nContent-Length: 9\r\n\r\n");
            assert!(complete(&b, Framing::default()).0.body.is_empty());
        }
    }

    #[test]
    fn unframed_body_runs_to_the_close() {
        let bytes = b"HTTP/1.0 200 OK\r\n\r\nall of it";
        assert_eq!(
            parse_response(bytes, Framing::default()),
            Ok(Parsed::Incomplete)
        );
        let eof = Framing {
            head_request: false,
            eof: true,
        };
        assert_eq!(complete(bytes, eof).0.body, b"all of it");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bytes in [
            &b"SSH-2.0-x\r\n\r\n"[..],
            b"HTTP/1.1 abc OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc",
        ] {
            assert!(
                parse_response(bytes, Framing::default()).is_err(),
                "{bytes:?}"
            );
        }
    }
}
