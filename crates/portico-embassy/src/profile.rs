//! The socket pool the firmware ships with, shared with the simulation so that the
//! simulation exercises the device's real numbers.
//!
//! RAM for sockets: `SOCKETS × (RX + TX)` = 14 × 3 KiB = 42 KiB of internal SRAM.
//! Eight connections are admitted at once; the other six sockets listen, so a browser's
//! burst of six SYNs finds a socket for each while idle victims close behind it.
//!
//! Request buffers come from the core's pool, leased only while a request is in flight:
//! `CHUNKS × CHUNK_SIZE` = 6 × 4 KiB = 24 KiB at most, allocated on first use.

use portico::placement::Placement;
use portico::pool::PoolConfig;

use crate::config::PortConfig;

/// Sockets in the HTTP pool.
pub const SOCKETS: usize = 14;
/// Receive buffer per socket: requests are small; this is also the TCP window.
pub const RX: usize = 1024;
/// Transmit buffer per socket.
pub const TX: usize = 2048;
/// Connections admitted at once.
pub const CAP: usize = 8;

/// The firmware's port settings (HTTP on port 80).
pub const fn config() -> PortConfig {
    PortConfig {
        cap: CAP,
        ..PortConfig::const_default()
    }
}

/// Request buffers leased at once.
pub const CHUNKS: usize = 6;
/// Bytes per request buffer (the core's loop keeps 1 KiB of it for the response head).
pub const CHUNK_SIZE: usize = 4096;

/// The firmware's buffer pool: internal RAM first, PSRAM when it is full.
pub const fn pool_config() -> PoolConfig {
    PoolConfig {
        chunks: CHUNKS,
        chunk_size: CHUNK_SIZE,
        placement: Placement::PreferInternal,
    }
}
