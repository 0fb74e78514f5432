//! The byte stream the serve loop runs over.

use embedded_io_async::{Read, Write};

/// An `embedded-io-async` stream, plus vectored writes where the port has them.
///
/// A response head and its body should leave in one segment: two small writes meet
/// Nagle's algorithm and the peer's delayed ACK and cost ~40 ms per response. The
/// default sends the parts in turn; the host port overrides it with `writev`.
#[allow(async_fn_in_trait)] // See `Env`.
pub trait Transport: Read + Write {
    /// Waits until the peer has sent a byte (or closed) without consuming anything, so a
    /// connection between requests holds no buffer while it waits (edge-nal's
    /// `Readable`). Returns an error once the connection is gone.
    async fn readable(&mut self) -> Result<(), Self::Error>;

    /// Writes every part, in order.
    async fn write_all_vectored(&mut self, parts: &[&[u8]]) -> Result<(), Self::Error> {
        for p in parts {
            self.write_all(p).await?;
        }
        Ok(())
    }
}
