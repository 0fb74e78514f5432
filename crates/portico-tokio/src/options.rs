//! What the host port is configured with.

use portico::conn::{Budget, Policy};
use portico::pool::PoolConfig;
use portico::server::ServerConfig;

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
