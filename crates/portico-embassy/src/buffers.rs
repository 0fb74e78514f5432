//! Socket buffers, sized in the type so they can live in a `static`.

/// Receive and transmit buffers for `N` sockets of `RX` and `TX` bytes.
///
/// On the device this is the largest fixed cost of the HTTP server:
/// `N × (RX + TX)` bytes, known at compile time. Put it in a `StaticCell`.
pub struct SocketBuffers<const N: usize, const RX: usize, const TX: usize> {
    pub(crate) rx: [[u8; RX]; N],
    pub(crate) tx: [[u8; TX]; N],
}

impl<const N: usize, const RX: usize, const TX: usize> SocketBuffers<N, RX, TX> {
    /// Zeroed buffers.
    pub const fn new() -> Self {
        SocketBuffers {
            rx: [[0; RX]; N],
            tx: [[0; TX]; N],
        }
    }

    /// Bytes these buffers take.
    pub const fn bytes() -> usize {
        N * (RX + TX)
    }
}

impl<const N: usize, const RX: usize, const TX: usize> Default for SocketBuffers<N, RX, TX> {
    fn default() -> Self {
        Self::new()
    }
}
