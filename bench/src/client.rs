//! A minimal blocking HTTP/1.1 client: one keep-alive connection, `GET` only, bodies
//! framed by `Content-Length`. No `Accept-Encoding`, so every server sends identity bytes.

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use socket2::{Domain, Socket, Type};

/// A response read off the wire.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Bytes of the status line and headers, including the blank line.
    pub head_len: usize,
    /// Header lines, as sent.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// First header of that name (case-insensitive).
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
}

/// Why a request got no (usable) response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The connection was closed or reset before the first response byte.
    ClosedBeforeResponse,
    /// The deadline passed.
    Timeout,
    /// Closed mid-response, or a response we cannot frame.
    Broken(String),
    /// Could not connect.
    Connect(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::ClosedBeforeResponse => f.write_str("closed before response"),
            Failure::Timeout => f.write_str("timeout"),
            Failure::Broken(e) => write!(f, "broken response: {e}"),
            Failure::Connect(e) => write!(f, "connect: {e}"),
        }
    }
}

/// Opens a connection to `addr`, from `source` if given (any port), with `TCP_NODELAY`.
pub fn connect(
    addr: SocketAddr,
    source: Option<IpAddr>,
    timeout: Duration,
) -> Result<TcpStream, Failure> {
    let fail = |e: io::Error| Failure::Connect(e.to_string());
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, None).map_err(fail)?;
    if let Some(ip) = source {
        sock.bind(&SocketAddr::new(ip, 0).into()).map_err(fail)?;
    }
    sock.connect_timeout(&addr.into(), timeout).map_err(fail)?;
    let s: TcpStream = sock.into();
    s.set_nodelay(true).map_err(fail)?;
    Ok(s)
}

/// Writes a `GET` for `path`.
pub fn send_get(s: &mut TcpStream, path: &str) -> Result<(), Failure> {
    let req =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: portico-bench\r\n\r\n");
    s.write_all(req.as_bytes()).map_err(|e| match e.kind() {
        io::ErrorKind::BrokenPipe
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted => Failure::ClosedBeforeResponse,
        _ => Failure::Broken(e.to_string()),
    })
}

/// Reads one response, waiting at most until `deadline`.
pub fn read_response(s: &mut TcpStream, deadline: Instant) -> Result<Response, Failure> {
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    let mut chunk = [0u8; 16384];
    let mut head: Option<Head> = None;
    loop {
        if let Some((status, head_len, headers, body_len)) = &head {
            if buf.len() >= head_len + body_len {
                return Ok(Response {
                    status: *status,
                    head_len: *head_len,
                    headers: headers.clone(),
                    body: buf[*head_len..head_len + body_len].to_vec(),
                });
            }
        } else if let Some(end) = find(&buf, b"\r\n\r\n") {
            head = Some(parse_head(&buf[..end + 4])?);
            continue;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Failure::Timeout);
        }
        s.set_read_timeout(Some(left))
            .map_err(|e| Failure::Broken(e.to_string()))?;
        match s.read(&mut chunk) {
            Ok(0) if buf.is_empty() => return Err(Failure::ClosedBeforeResponse),
            Ok(0) => return Err(Failure::Broken("closed mid-response".into())),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(Failure::Timeout)
            }
            Err(e) if buf.is_empty() => {
                return Err(match e.kind() {
                    io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => {
                        Failure::ClosedBeforeResponse
                    }
                    _ => Failure::Broken(e.to_string()),
                })
            }
            Err(e) => return Err(Failure::Broken(e.to_string())),
        }
    }
}

/// `GET path` on an open connection.
pub fn get(s: &mut TcpStream, path: &str, deadline: Instant) -> Result<Response, Failure> {
    send_get(s, path)?;
    read_response(s, deadline)
}

/// One `GET` on a fresh connection from 127.0.0.1.
pub fn get_once(addr: SocketAddr, path: &str, timeout: Duration) -> Result<Response, Failure> {
    let mut s = connect(addr, None, timeout)?;
    get(&mut s, path, Instant::now() + timeout)
}

/// Status, head length, headers, body length.
type Head = (u16, usize, Vec<(String, String)>, usize);

fn parse_head(head: &[u8]) -> Result<Head, Failure> {
    let text = std::str::from_utf8(head).map_err(|_| Failure::Broken("non-UTF-8 head".into()))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| Failure::Broken(format!("status line {status_line:?}")))?;
    let mut headers = Vec::new();
    let mut len = None;
    for line in lines.filter(|l| !l.is_empty()) {
        let (n, v) = line
            .split_once(':')
            .ok_or_else(|| Failure::Broken(format!("header {line:?}")))?;
        let (n, v) = (n.trim().to_string(), v.trim().to_string());
        if n.eq_ignore_ascii_case("content-length") {
            len = v.parse::<usize>().ok();
        }
        if n.eq_ignore_ascii_case("transfer-encoding") {
            return Err(Failure::Broken(format!(
                "unexpected Transfer-Encoding: {v}"
            )));
        }
        headers.push((n, v));
    }
    let no_body = status == 204 || status == 304 || (100..200).contains(&status);
    let len = match len {
        Some(l) => l,
        None if no_body => 0,
        None => return Err(Failure::Broken("no Content-Length".into())),
    };
    Ok((status, head.len(), headers, len))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The paths a browser fetches for a page: the page itself, then every `/…` it names in
/// `src="…"` or `href="…"`, in document order.
pub fn page_paths(index_html: &str) -> Vec<String> {
    let mut found: Vec<(usize, String)> = Vec::new();
    for attr in ["src=\"", "href=\""] {
        let mut from = 0;
        while let Some(i) = index_html[from..].find(attr) {
            let start = from + i + attr.len();
            let p = index_html[start..].split('"').next().unwrap_or("");
            if p.starts_with('/') && !p.starts_with("//") {
                found.push((start, p.to_string()));
            }
            from = start;
        }
    }
    found.sort();
    let mut paths = vec!["/".to_string()];
    for (_, p) in found {
        if !paths.contains(&p) {
            paths.push(p);
        }
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_paths_in_document_order() {
        let html = r#"<script type="module" src="/assets/a.js"></script><link rel="stylesheet" href="/assets/b.css"><a href="https://x/">"#;
        assert_eq!(page_paths(html), ["/", "/assets/a.js", "/assets/b.css"]);
    }

    #[test]
    fn head_parsing() {
        let (status, len, headers, body) =
            parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\n")
                .unwrap();
        assert_eq!((status, len, body), (200, 57, 5));
        assert_eq!(headers.len(), 2);
        assert!(parse_head(b"HTTP/1.1 200 OK\r\n\r\n").is_err());
        assert_eq!(parse_head(b"HTTP/1.1 304 NM\r\n\r\n").unwrap().3, 0);
    }
}
