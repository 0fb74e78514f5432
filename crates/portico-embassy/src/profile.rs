//! Device profiles: the numbers a chip ships with, shared by the firmware, the
//! simulation and the PC device stack (`provider --stack device`), so all three exercise
//! the same sockets, buffers and memory.
//!
//! | profile | stack sockets | HTTP pool | admitted | socket buffers | SYN backlog | request buffers | RAM |
//! |---|---|---|---|---|---|---|---|
//! | [`ESP32C3`] | 16 | 14 × (1 + 2 KiB) = 42 KiB | 8 | static SRAM | 32 × 112 B = 3.5 KiB, static SRAM | 6 × 4 KiB | 136 KiB heap, no PSRAM |
//! | [`ESP32S3`] | 32 | 30 × (2 + 4 KiB) = 180 KiB | 24 | from the heap, PSRAM first | 256 × 112 B = 28 KiB, with the socket buffers | 10 × 4 KiB | 320 KiB SRAM + 8 MiB PSRAM |
//!
//! The pool's sockets above the admitted cap listen: six on both, so that a browser's
//! burst of six SYNs finds a socket for each while idle victims close behind it (with
//! four, the simulation's burst of ten browsers and a newcomer sees SYNs reset:
//! `portico-sim`'s `tests/burst.rs`). A larger burst waits in the driver's SYN backlog
//! ([`crate::SynGate::with_backlog`]): 256 SYNs on the ESP32-S3 (a crowd of 50 browsers
//! opening six connections each, less the sockets that listen; 28 KiB in PSRAM), 32 on
//! the ESP32-C3 (3.5 KiB of SRAM; a larger burst's SYNs past it are dropped and
//! retransmitted by their clients a second later). The stack's two sockets above the
//! pool are for DHCP and DNS; the firmware adds the upstream link's and a spare.
//!
//! Sizes that size arrays are plain `usize` fields of a `const` profile, so a caller
//! names them in a type: `PoolResources<{ ESP32S3.sockets }>`.

use portico::placement::Placement;
use portico::pool::PoolConfig;

use crate::config::PortConfig;

/// One chip's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    /// The chip (`/api/status` `platform` on the firmware).
    pub name: &'static str,
    /// Sockets in the embassy-net stack (`StackResources<N>`) for HTTP, DHCP and DNS:
    /// the HTTP pool plus two. An upstream link needs its own on top.
    pub stack_sockets: usize,
    /// Sockets in the HTTP pool (`PoolResources<N>`, `SocketBuffers<N, RX, TX>`).
    pub sockets: usize,
    /// Connections admitted at once; the other `sockets - cap` listen.
    pub cap: usize,
    /// SYNs the driver holds while no socket listens ([`crate::HeldSyn`] each).
    pub syn_backlog: usize,
    /// Receive buffer per socket: requests are small; this is also the TCP window.
    pub rx: usize,
    /// Transmit buffer per socket.
    pub tx: usize,
    /// Where socket buffers come from: `None` = a static array in internal SRAM (the
    /// chip has nothing better); `Some(placement)` = drawn once from the heap regions
    /// at start-up by this placement, the region it got reported in `/api/memory`.
    pub socket_placement: Option<Placement>,
    /// Request buffers leased at once.
    pub chunks: usize,
    /// Bytes per request buffer (the core's loop keeps 1 KiB of it for the response head).
    pub chunk_size: usize,
    /// Internal SRAM the heap has for Portico (request buffers, reports, and on chips
    /// with `socket_placement`, the socket buffers that found no PSRAM).
    pub internal_ram: usize,
    /// External PSRAM (0 = none).
    pub psram: usize,
}

/// ESP32-C3: 400 KB SRAM, no PSRAM. Eight admitted, six listening.
pub const ESP32C3: Profile = Profile {
    name: "esp32c3",
    stack_sockets: 16,
    sockets: 14,
    cap: 8,
    syn_backlog: 32,
    rx: 1024,
    tx: 2048,
    socket_placement: None,
    chunks: 6,
    chunk_size: 4096,
    // The firmware's two heap regions: 64 KiB reclaimed from the bootloader + 72 KiB.
    internal_ram: 136 * 1024,
    psram: 0,
};

/// ESP32-S3 with 8 MB PSRAM (e.g. N8R8), the design's numbers: 32 sockets in the stack,
/// 24 admitted for HTTP, six listening, and a pool of 10 × 4 KiB. Socket buffers go to
/// PSRAM first: they are touched by the TCP stack at network speed, which PSRAM's cache
/// keeps up with, and they would otherwise take a third of the internal SRAM.
pub const ESP32S3: Profile = Profile {
    name: "esp32s3",
    stack_sockets: 32,
    sockets: 30,
    cap: 24,
    syn_backlog: 256,
    rx: 2048,
    tx: 4096,
    socket_placement: Some(Placement::PreferExternal),
    chunks: 10,
    chunk_size: 4096,
    internal_ram: 320 * 1024,
    psram: 8 * 1024 * 1024,
};

/// Every profile, by name (for command lines).
pub const ALL: [Profile; 2] = [ESP32S3, ESP32C3];

impl Profile {
    /// The profile called `name`.
    pub fn by_name(name: &str) -> Option<Profile> {
        ALL.into_iter().find(|p| p.name == name)
    }

    /// The port's settings (HTTP on port 80).
    pub const fn config(&self) -> PortConfig {
        PortConfig {
            cap: self.cap,
            ..PortConfig::const_default()
        }
    }

    /// The request buffer pool: internal RAM first, PSRAM when it is full.
    pub const fn pool_config(&self) -> PoolConfig {
        PoolConfig {
            chunks: self.chunks,
            chunk_size: self.chunk_size,
            placement: Placement::PreferInternal,
        }
    }

    /// Bytes of socket buffers: `sockets × (rx + tx)`.
    pub const fn socket_bytes(&self) -> usize {
        self.sockets * (self.rx + self.tx)
    }

    /// Bytes of the SYN backlog: `syn_backlog × size_of::<HeldSyn>()`.
    pub const fn syn_backlog_bytes(&self) -> usize {
        self.syn_backlog * core::mem::size_of::<crate::HeldSyn>()
    }

    /// Bytes of request buffers at most: `chunks × chunk_size`.
    pub const fn pool_bytes(&self) -> usize {
        self.chunks * self.chunk_size
    }
}

// Today's names, for the ESP32-C3 (the simulation's default device).

/// Sockets in the HTTP pool ([`ESP32C3`]).
pub const SOCKETS: usize = ESP32C3.sockets;
/// Receive buffer per socket ([`ESP32C3`]).
pub const RX: usize = ESP32C3.rx;
/// Transmit buffer per socket ([`ESP32C3`]).
pub const TX: usize = ESP32C3.tx;
/// Connections admitted at once ([`ESP32C3`]).
pub const CAP: usize = ESP32C3.cap;
/// Request buffers leased at once ([`ESP32C3`]).
pub const CHUNKS: usize = ESP32C3.chunks;
/// Bytes per request buffer ([`ESP32C3`]).
pub const CHUNK_SIZE: usize = ESP32C3.chunk_size;

/// The ESP32-C3's port settings.
pub const fn config() -> PortConfig {
    ESP32C3.config()
}

/// The ESP32-C3's buffer pool.
pub const fn pool_config() -> PoolConfig {
    ESP32C3.pool_config()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_leaves_sockets_listening_and_a_reserve() {
        for p in ALL {
            assert!(p.config().check(p.sockets).is_ok(), "{}", p.name);
            assert_eq!(p.stack_sockets, p.sockets + 2, "{}", p.name);
            assert_eq!(p.sockets - p.cap, 6, "{}: a browser's six SYNs", p.name);
        }
    }

    #[test]
    fn the_documented_backlog_sizes() {
        assert_eq!(core::mem::size_of::<crate::HeldSyn>(), 112);
        assert_eq!(ESP32C3.syn_backlog_bytes(), 3584);
        assert_eq!(ESP32S3.syn_backlog_bytes(), 28 * 1024);
    }

    #[test]
    fn the_design_numbers_for_the_s3() {
        assert_eq!((ESP32S3.stack_sockets, ESP32S3.cap), (32, 24));
        assert_eq!((ESP32S3.chunks, ESP32S3.chunk_size), (10, 4096));
        assert_eq!(ESP32S3.psram, 8 * 1024 * 1024);
        assert_eq!(Profile::by_name("esp32c3"), Some(ESP32C3));
        assert_eq!(Profile::by_name("esp32"), None);
    }
}
