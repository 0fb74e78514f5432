//! What the host port is configured with.

use portico::conn::{Budget, Policy};
use portico::placement::Placement;
use portico::pool::PoolConfig;
use portico::server::ServerConfig;

/// Internal RAM the application may use on an ESP32-S3 (of 512 KB SRAM, after the
/// Wi-Fi stack, the TCP stack and the firmware's own data).
pub const DEFAULT_INTERNAL_RAM: usize = 320 * 1024;

/// Everything the port needs to know.
#[derive(Debug, Clone, Copy)]
pub struct ServerOptions {
    /// Socket budget.
    pub budget: Budget,
    /// Connection policy.
    pub policy: Policy,
    /// Request loop settings, every deadline among them.
    pub server: ServerConfig,
    /// Buffer pool.
    pub pool: PoolConfig,
    /// Internal RAM budget in bytes.
    pub internal_ram: usize,
    /// External RAM budget in bytes (0 = absent).
    pub psram: usize,
    /// Bytes of internal RAM charged per admitted connection (its table entry, socket
    /// bookkeeping and idle task state).
    pub conn_state_bytes: usize,
    /// Where request buffers come from.
    pub buffers: BufferStrategy,
}

/// Where a request's buffer comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BufferStrategy {
    /// Leased from the fixed pool (the design).
    Pool,
    /// Allocated for each request and freed after it: the baseline the pool is measured
    /// against. Accounted in the same heap, so peaks compare directly.
    PerRequest,
}

impl ServerOptions {
    /// The core's plain [`ServerConfig`] (no added headers, no `Date`) around a pool of
    /// `chunks` × `chunk_size` bytes in internal RAM, with `internal_ram` bytes to spend,
    /// no PSRAM and 24 HTTP sockets of 32. For tests, benches and tools that need a pool
    /// sized to their messages and nothing of the host's extras; set the other fields
    /// with `..ServerOptions::with_pool(..)`.
    pub fn with_pool(chunks: usize, chunk_size: usize, internal_ram: usize) -> Self {
        ServerOptions {
            budget: Budget::new(32, 24).expect("24 of 32 sockets leave the reserve"),
            policy: Policy::default(),
            server: ServerConfig::default(),
            pool: PoolConfig {
                chunks,
                chunk_size,
                placement: Placement::PreferInternal,
            },
            internal_ram,
            psram: 0,
            conn_state_bytes: crate::CONN_STATE_BYTES,
            buffers: BufferStrategy::Pool,
        }
    }
}

impl Default for ServerOptions {
    /// The design's device: 24 HTTP sockets of 32, a pool of 10 × 4 KiB allocated on
    /// first use in internal RAM, 320 KiB of internal RAM, no PSRAM; `nosniff` and
    /// `no-referrer` on every answer, and `Date`.
    fn default() -> Self {
        let pool_chunk = 4096;
        ServerOptions {
            budget: Budget::new(32, 24).expect("24 of 32 sockets leave the reserve"),
            policy: Policy::default(),
            server: ServerConfig {
                // A quarter of each buffer (at least 512 B) for the response head.
                response_reserve: (pool_chunk / 4).max(512),
                // Every answer tells the browser not to sniff types nor leak the page's
                // address; the host knows the date.
                headers: &[
                    ("X-Content-Type-Options", "nosniff"),
                    ("Referrer-Policy", "no-referrer"),
                ],
                wall_clock: crate::wall_clock,
                ..ServerConfig::default()
            },
            pool: PoolConfig {
                chunks: 10,
                chunk_size: pool_chunk,
                placement: Placement::PreferInternal,
            },
            internal_ram: DEFAULT_INTERNAL_RAM,
            psram: 0,
            conn_state_bytes: crate::CONN_STATE_BYTES,
            buffers: BufferStrategy::Pool,
        }
    }
}
