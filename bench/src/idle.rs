//! Idle keep-alive connections: each does one request, then sits there.

use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::client::{self, Failure};

/// Opens `n` connections to `addr` from `source`, does one `GET path` on each and keeps
/// them open. Stops at the first failure.
pub fn open_idle(
    addr: SocketAddr,
    source: Option<IpAddr>,
    n: usize,
    path: &str,
) -> Result<Vec<TcpStream>, (usize, Failure)> {
    let mut conns = Vec::with_capacity(n);
    for i in 0..n {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut s = client::connect(addr, source, Duration::from_secs(5)).map_err(|e| (i, e))?;
        let r = client::get(&mut s, path, deadline).map_err(|e| (i, e))?;
        if r.status != 200 || r.closes() {
            return Err((
                i,
                Failure::Broken(format!("status {} closes={}", r.status, r.closes())),
            ));
        }
        conns.push(s);
    }
    Ok(conns)
}

/// How many of `conns` the server has closed (a read sees EOF or an error right away).
pub fn closed_by_server(conns: &[TcpStream]) -> usize {
    let mut closed = 0;
    let mut b = [0u8; 1];
    for s in conns {
        if s.set_nonblocking(true).is_err() {
            closed += 1;
            continue;
        }
        match s.peek(&mut b) {
            Ok(_) => closed += 1, // EOF (0) or stray bytes: not an idle keep-alive.
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => closed += 1,
        }
        let _ = s.set_nonblocking(false);
    }
    closed
}
