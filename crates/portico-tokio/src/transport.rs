//! `embedded-io-async` over a tokio `TcpStream`, with `writev`.

use std::io::IoSlice;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A TCP connection as the core sees it.
#[derive(Debug)]
pub struct TcpTransport {
    stream: TcpStream,
}

impl TcpTransport {
    /// Wraps a stream and sets `TCP_NODELAY`: responses leave in one write, so Nagle's
    /// algorithm would only add the peer's delayed-ACK wait (~40 ms) to every exchange.
    pub fn new(stream: TcpStream) -> std::io::Result<Self> {
        stream.set_nodelay(true)?;
        Ok(TcpTransport { stream })
    }

    /// The underlying stream.
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Waits until the peer has sent something (or closed) without reading it, so an
    /// idle connection holds no buffer while it waits.
    ///
    /// Readiness alone may be spurious, and a connection that claims to be mid-request
    /// when it is not would be shielded from eviction: so peek, and only return once a
    /// byte (or the peer's FIN) is really there.
    async fn peek_readable(&self) -> std::io::Result<()> {
        loop {
            self.stream.readable().await?;
            let sock = socket2::SockRef::from(&self.stream);
            let mut byte = [std::mem::MaybeUninit::<u8>::uninit()];
            match self
                .stream
                .try_io(tokio::io::Interest::READABLE, || sock.peek(&mut byte))
            {
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Sends FIN and stops.
    pub async fn shutdown(&mut self) {
        let _ = self.stream.shutdown().await;
    }
}

impl embedded_io::ErrorType for TcpTransport {
    type Error = std::io::Error;
}

impl embedded_io_async::Read for TcpTransport {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        self.stream.read(buf).await
    }
}

impl embedded_io_async::Write for TcpTransport {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.stream.write(buf).await
    }

    async fn flush(&mut self) -> Result<(), Self::Error> {
        self.stream.flush().await
    }
}

impl portico::server::Transport for TcpTransport {
    async fn readable(&mut self) -> Result<(), Self::Error> {
        self.peek_readable().await
    }

    async fn write_all_vectored(&mut self, parts: &[&[u8]]) -> Result<(), Self::Error> {
        let mut idx = 0;
        let mut off = 0;
        while idx < parts.len() {
            let mut slices: [IoSlice<'_>; 4] = [IoSlice::new(&[]); 4];
            let mut n_slices = 0;
            for (k, p) in parts[idx..].iter().take(4).enumerate() {
                slices[k] = IoSlice::new(if k == 0 { &p[off..] } else { p });
                n_slices += 1;
            }
            let mut written = self.stream.write_vectored(&slices[..n_slices]).await?;
            if written == 0 {
                return Err(std::io::ErrorKind::WriteZero.into());
            }
            while idx < parts.len() && written > 0 {
                let left = parts[idx].len() - off;
                if written >= left {
                    written -= left;
                    idx += 1;
                    off = 0;
                } else {
                    off += written;
                    written = 0;
                }
            }
            while idx < parts.len() && parts[idx].len() == off {
                idx += 1;
                off = 0;
            }
        }
        Ok(())
    }
}
