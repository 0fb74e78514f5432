//! The blocking read loop around [`crate::parse_response`], for any
//! `std::io::Read`, and the one place that decides what an I/O error means for a
//! request — which is what the browser's retry rule ([`crate::browser`]) turns on.

use std::io::{self, Read};

use crate::response::{parse_response, Framing, Parsed, Response};

/// Why a request got no (usable) response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The connection was closed or reset before the first response byte: the request
    /// may never have been seen, so a browser may send it again.
    ClosedBeforeResponse,
    /// The read timed out.
    Timeout,
    /// Closed mid-response, or bytes that are not a response.
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

impl std::error::Error for Failure {}

impl Failure {
    /// What an I/O error on a request means; `started`: response bytes had arrived.
    pub fn from_io(e: &io::Error, started: bool) -> Failure {
        use io::ErrorKind::*;
        match e.kind() {
            WouldBlock | TimedOut => Failure::Timeout,
            // Chromium resends on a reused connection for the same errors, not
            // connected included: a reset seen first when asking the socket its peer
            // (`HttpNetworkTransaction::HandleIOError`, crbug.com/105824).
            ConnectionReset | ConnectionAborted | BrokenPipe | NotConnected if !started => {
                Failure::ClosedBeforeResponse
            }
            _ => Failure::Broken(e.to_string()),
        }
    }
}

/// Reads one response from `r`. `buf` carries bytes between calls: whatever follows the
/// response (a pipelined next one) stays in it for the next call on the same connection.
pub fn read_response<R: Read>(
    r: &mut R,
    buf: &mut Vec<u8>,
    head_request: bool,
) -> Result<Response, Failure> {
    let mut chunk = [0u8; 16 * 1024];
    let mut eof = false;
    loop {
        let framing = Framing { head_request, eof };
        match parse_response(buf, framing).map_err(|e| Failure::Broken(e.0))? {
            Parsed::Complete(response, used) => {
                buf.drain(..used);
                return Ok(response);
            }
            Parsed::Incomplete if eof && buf.is_empty() => {
                return Err(Failure::ClosedBeforeResponse)
            }
            Parsed::Incomplete if eof => return Err(Failure::Broken("closed mid-response".into())),
            Parsed::Incomplete => {}
        }
        match r.read(&mut chunk) {
            Ok(0) => eof = true,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Failure::from_io(&e, !buf.is_empty())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out its bytes a few at a time, then EOF or an error.
    struct Drip(Vec<u8>, usize, Option<io::ErrorKind>);

    impl Read for Drip {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return match self.2 {
                    Some(kind) => Err(kind.into()),
                    None => Ok(0),
                };
            }
            let n = self.1.min(out.len()).min(self.0.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0.drain(..n);
            Ok(n)
        }
    }

    #[test]
    fn two_pipelined_responses_in_drips() {
        let two = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1 404 NF\r\ncontent-length: 0\r\n\r\n";
        let mut r = Drip(two.to_vec(), 3, None);
        let mut buf = Vec::new();
        assert_eq!(read_response(&mut r, &mut buf, false).unwrap().body, b"hi");
        assert_eq!(read_response(&mut r, &mut buf, false).unwrap().status, 404);
        assert_eq!(
            read_response(&mut r, &mut buf, false),
            Err(Failure::ClosedBeforeResponse)
        );
    }

    #[test]
    fn a_reset_counts_as_closed_only_before_the_first_byte() {
        let reset = Some(io::ErrorKind::ConnectionReset);
        let mut buf = Vec::new();
        let mut before = Drip(Vec::new(), 1, reset);
        assert_eq!(
            read_response(&mut before, &mut buf, false),
            Err(Failure::ClosedBeforeResponse)
        );
        let mut during = Drip(b"HTTP/1.1 2".to_vec(), 4, reset);
        assert!(matches!(
            read_response(&mut during, &mut Vec::new(), false),
            Err(Failure::Broken(_))
        ));
        let mut gone = Drip(Vec::new(), 1, Some(io::ErrorKind::NotConnected));
        assert_eq!(
            read_response(&mut gone, &mut Vec::new(), false),
            Err(Failure::ClosedBeforeResponse),
            "a socket reset while idle reports `not connected` after the reset was seen"
        );
        let mut slow = Drip(Vec::new(), 1, Some(io::ErrorKind::WouldBlock));
        assert_eq!(
            read_response(&mut slow, &mut Vec::new(), false),
            Err(Failure::Timeout)
        );
    }
}
