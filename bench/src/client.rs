//! A minimal blocking HTTP/1.1 client: one keep-alive connection, `GET` only, responses
//! parsed by `portico_testkit`. No `Accept-Encoding`, so every server sends identity
//! bytes.

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use socket2::{Domain, Socket, Type};

pub use portico_testkit::{page_paths, Failure, Response};

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

/// Writes a `GET` for `path`, naming the server by the address it was sent to, as a
/// browser does for an address typed in (the device stack answers only the `Host` names
/// it allows: its address, with or without the port, and its mDNS name).
pub fn send_get(s: &mut TcpStream, path: &str) -> Result<(), Failure> {
    let host = s.peer_addr().map_err(|e| Failure::from_io(&e, false))?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: portico-bench\r\n\r\n");
    s.write_all(req.as_bytes())
        .map_err(|e| Failure::from_io(&e, false))
}

/// Reads one response, waiting at most until `deadline`.
pub fn read_response(s: &mut TcpStream, deadline: Instant) -> Result<Response, Failure> {
    portico_testkit::read_response(&mut Until { s, deadline }, &mut Vec::new(), false)
}

/// A stream whose every read ends by `deadline` (then `TimedOut`).
struct Until<'a> {
    s: &'a mut TcpStream,
    deadline: Instant,
}

impl Read for Until<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        self.s.set_read_timeout(Some(left))?;
        self.s.read(out)
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
