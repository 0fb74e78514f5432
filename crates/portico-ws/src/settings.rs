//! The client's numeric settings: buffers, placement, timeouts, keep-alive, reconnect.
//!
//! Everything here is `Copy` and has a `const fn` default, so a device can keep its
//! settings in a `static`; the host's [`crate::tokio::Config`] wraps them with the owned
//! URL and headers.

use portico::placement::Placement;

use crate::backoff::Reconnect;
use crate::buffers::BufferSizes;
use crate::compression::Compression;
use crate::connection::Delivery;

/// Client settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Where the client's blocks go (`PreferExternal`: PSRAM first, SRAM as fallback).
    pub placement: Placement,
    /// Buffer sizes and the largest message reassembled.
    pub buffers: BufferSizes,
    /// Whole messages or pieces.
    pub delivery: Delivery,
    /// Reconnect policy.
    pub reconnect: Reconnect,
    /// Send a ping this often while connected (`None`: never).
    pub ping_interval_ms: Option<u64>,
    /// Drop the connection when a ping gets no pong within this time.
    pub pong_timeout_ms: u64,
    /// Limit for TCP connect + TLS + upgrade handshake.
    pub connect_timeout_ms: u64,
    /// Limit for writing one frame to the network; past it the connection is dead.
    pub network_timeout_ms: u64,
    /// How long to wait for the peer to finish a closing handshake.
    pub close_timeout_ms: u64,
    /// How long a `send_*` call waits (queueing + writing) before it fails with a
    /// timeout — that send only; the connection stays up.
    pub send_timeout_ms: u64,
    /// Sends waiting for the client task.
    pub send_queue: usize,
    /// permessage-deflate: off here (the device default); the host's `Config::new`
    /// turns it to `Prefer`. Needs the `deflate` feature to take effect.
    pub compression: Compression,
}

impl Settings {
    /// The defaults, usable in a `static`.
    pub const fn const_default() -> Self {
        Settings {
            placement: Placement::PreferExternal,
            buffers: BufferSizes::const_default(),
            delivery: Delivery::Messages,
            reconnect: Reconnect::const_default(),
            ping_interval_ms: Some(10_000),
            pong_timeout_ms: 10_000,
            connect_timeout_ms: 10_000,
            network_timeout_ms: 10_000,
            close_timeout_ms: 2_000,
            send_timeout_ms: 5_000,
            send_queue: 16,
            compression: Compression::const_default(),
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self::const_default()
    }
}
