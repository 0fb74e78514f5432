//! What the driver needs from the platform it runs on: a transport, a clock, a sleep and
//! randomness. One trait, so that the same run loop serves the host (tokio) and the
//! device (embassy); the adapters that draw the driver's random numbers from it sit
//! beside it.
#![allow(async_fn_in_trait)] // Send-ness is decided by each port's concrete types.

use embedded_io_async::{Read, Write};

use crate::buffers::MemoryBlock;
use crate::event::ConnectError;
use crate::mask::MaskRng;
use crate::url::WsUrl;

/// The environment the driver runs in.
pub trait Port {
    /// Memory one connection borrows for its whole life: a TLS session's record buffers
    /// (`()` when the transport needs none). The driver keeps it beside the connection,
    /// empty (`Default`) until [`connect`](Self::connect) fills it, and drops it with the
    /// connection, so that nothing of it is held between connections (in backoff).
    type Memory: Default;

    /// A connected byte stream (TCP, or TLS over TCP), borrowing its `Memory`.
    ///
    /// It must outlive the borrow whatever `'m` is (no `where Self: 'm`): the host's
    /// tokio client has to prove its task `Send`, which rustc cannot yet do through a
    /// GAT's where-clause (rust-lang/rust#100013). So a port that lends its own data
    /// to connections is `'static` (the device's lives in a `static` anyway).
    type Io<'m>: Read + Write + 'm;

    /// Opens a transport to `url`'s host and port (with TLS for `wss://`, its blocks
    /// placed into `memory`).
    async fn connect<'m>(
        &self,
        url: &WsUrl<'_>,
        memory: &'m mut Self::Memory,
    ) -> Result<Self::Io<'m>, ConnectError>;

    /// Blocks an open connection holds besides the client's buffers (a TLS session's),
    /// for the memory report.
    fn io_memory<'a, 'm>(io: &'a Self::Io<'m>) -> &'a [MemoryBlock] {
        let _ = io;
        &[]
    }

    /// Milliseconds since an arbitrary epoch.
    fn now_ms(&self) -> u64;

    /// Sleeps `ms` milliseconds. Must be cancel-safe.
    async fn sleep_ms(&self, ms: u64);

    /// Fills `dst` with unpredictable bytes (masks, handshake nonces, jitter).
    fn fill_random(&self, dst: &mut [u8]);
}

/// The port's randomness as a source of masks and handshake keys.
pub(super) struct PortRng<'p, P: Port>(pub(super) &'p P);

impl<P: Port> MaskRng for PortRng<'_, P> {
    fn fill(&mut self, dst: &mut [u8]) {
        self.0.fill_random(dst)
    }
}

/// A random `u64` from the port (the backoff's jitter).
pub(super) fn random_u64<P: Port>(port: &P) -> u64 {
    let mut b = [0u8; 8];
    port.fill_random(&mut b);
    u64::from_le_bytes(b)
}
