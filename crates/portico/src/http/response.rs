//! Response heads, formatted into a caller-supplied buffer.
//!
//! Header names and values are checked as they are written: a value with CR, LF or NUL
//! is refused, so no handler can split a response or inject a header, whatever it is fed.

use core::fmt::{self, Write as _};

use super::status::Status;

/// Why a header could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderError {
    /// The name is empty or contains a byte that is not a token character.
    InvalidName,
    /// The value contains CR, LF or NUL.
    InvalidValue,
    /// The head does not fit in the buffer.
    BufferFull,
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HeaderError::InvalidName => "invalid header name",
            HeaderError::InvalidValue => "header value contains CR, LF or NUL",
            HeaderError::BufferFull => "response head does not fit the buffer",
        })
    }
}

impl core::error::Error for HeaderError {}

/// Writes `HTTP/1.1 <status>\r\n`, header lines and the blank line into a buffer.
#[derive(Debug)]
pub struct HeadWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> HeadWriter<'a> {
    /// Starts a head with the status line.
    pub fn new(buf: &'a mut [u8], status: Status) -> Result<Self, HeaderError> {
        let mut w = HeadWriter { buf, len: 0 };
        w.write_fmt_checked(format_args!(
            "HTTP/1.1 {} {}\r\n",
            status.0,
            status.reason()
        ))?;
        Ok(w)
    }

    /// Adds a header line.
    pub fn header(&mut self, name: &str, value: &str) -> Result<&mut Self, HeaderError> {
        self.header_fmt(name, format_args!("{value}"))
    }

    /// Adds a header whose value is formatted (numbers, dates) without a temporary string.
    pub fn header_fmt(
        &mut self,
        name: &str,
        value: fmt::Arguments<'_>,
    ) -> Result<&mut Self, HeaderError> {
        if name.is_empty() || !name.bytes().all(is_token) {
            return Err(HeaderError::InvalidName);
        }
        let start = self.len;
        let r = self.write_fmt_checked(format_args!("{name}: {value}\r\n"));
        let value_start = start + name.len() + 2;
        if r.is_ok() {
            let v = &self.buf[value_start..self.len - 2];
            if v.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0) {
                self.len = start;
                return Err(HeaderError::InvalidValue);
            }
        } else {
            self.len = start;
        }
        r.map(|_| self)
    }

    /// Ends the head with the blank line and returns its length.
    pub fn finish(mut self) -> Result<usize, HeaderError> {
        self.write_fmt_checked(format_args!("\r\n"))?;
        Ok(self.len)
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing has been written (never true after [`HeadWriter::new`]).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn write_fmt_checked(&mut self, args: fmt::Arguments<'_>) -> Result<(), HeaderError> {
        let mut cursor = Cursor {
            buf: self.buf,
            len: self.len,
        };
        cursor
            .write_fmt(args)
            .map_err(|_| HeaderError::BufferFull)?;
        self.len = cursor.len;
        Ok(())
    }
}

struct Cursor<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl fmt::Write for Cursor<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// RFC 9110 `tchar`.
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_head() {
        let mut buf = [0u8; 128];
        let mut w = HeadWriter::new(&mut buf, Status::OK).unwrap();
        w.header("Content-Type", "text/plain").unwrap();
        w.header_fmt("Content-Length", format_args!("{}", 5))
            .unwrap();
        let n = w.finish().unwrap();
        assert_eq!(
            &buf[..n],
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n"
        );
    }

    #[test]
    fn refuses_injection() {
        let mut buf = [0u8; 128];
        let mut w = HeadWriter::new(&mut buf, Status::OK).unwrap();
        assert_eq!(
            w.header("X", "a\r\nSet-Cookie: evil").unwrap_err(),
            HeaderError::InvalidValue
        );
        assert_eq!(
            w.header("X", "a\nb").unwrap_err(),
            HeaderError::InvalidValue
        );
        assert_eq!(
            w.header("Bad Name", "v").unwrap_err(),
            HeaderError::InvalidName
        );
        assert_eq!(w.header("X:Y", "v").unwrap_err(), HeaderError::InvalidName);
        assert_eq!(w.header("", "v").unwrap_err(), HeaderError::InvalidName);
        let n = w.finish().unwrap();
        assert_eq!(&buf[..n], b"HTTP/1.1 200 OK\r\n\r\n");
    }

    #[test]
    fn buffer_full_rolls_back() {
        let mut buf = [0u8; 40];
        let mut w = HeadWriter::new(&mut buf, Status::NOT_FOUND).unwrap();
        let before = w.len();
        assert_eq!(
            w.header("X-Long", "0123456789012345678901234567890")
                .unwrap_err(),
            HeaderError::BufferFull
        );
        assert_eq!(w.len(), before);
    }
}
