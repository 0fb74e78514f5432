//! What the application reads from the port it runs on.
//!
//! The host (`portico-tokio`) and the device (`portico-embassy`) keep their live state
//! differently — a `RefCell` on a tokio `LocalSet`, a blocking mutex on an embassy
//! executor — but both have the core's connection [`Table`], a buffer [`Pool`], memory
//! regions and, optionally, an upstream WebSocket link. [`Device`] is that common view;
//! every accessor is synchronous, so a document is rendered from one consistent moment.
//!
//! [`Pool`]: portico::pool::Pool

use core::net::SocketAddr;

use portico::conn::{ConnId, ConnInfo, ConnState, Counters, Eviction, Stale, Table};
use portico::guard::{HostPolicy, Secrets};
use portico::placement::{Placement, Region, RegionStats};
use portico::pool::PoolStats;
use portico::time::{Duration, Instant};
use portico_ws::{MemoryBlock, State};

use crate::json::JsonWriter;

/// The port's live state, as the application sees it.
pub trait Device {
    /// The port's connection table (unsized on the device: a view that does not name
    /// its slot count).
    type Table: ConnTable + ?Sized;
    /// A block of memory for a document that outgrows the connection buffer.
    type Block: AsMut<[u8]> + AsRef<[u8]>;

    /// The time on the port's clock (its epoch is the port's start: `/api/status`
    /// reports it as the uptime).
    fn now(&self) -> Instant;

    /// The settings in force (`/api/status`'s `config`).
    fn config(&self) -> Config<'_>;

    /// Runs `f` on the connection table.
    fn with_table<R>(&self, f: impl FnOnce(&Self::Table) -> R) -> R;

    /// Connections parked without a task (the host port's idle keep-alives).
    fn parked(&self) -> usize {
        0
    }

    /// The request buffer pool's counters and placement.
    fn pool(&self) -> (PoolStats, Placement);

    /// One memory region's usage.
    fn region(&self, region: Region) -> RegionStats;

    /// Runs `f` on the upstream link's status (`None`: no link configured).
    fn with_link<R>(&self, f: impl FnOnce(Option<&LinkStatus<'_>>) -> R) -> R;

    /// Port-specific members appended to `/api/status` (the device's sockets, Wi-Fi).
    fn status_extra(&self, w: &mut JsonWriter<'_>) {
        let _ = w;
    }

    /// A block of `size` bytes for one response, placed by the port's policy; `None`
    /// when memory is exhausted (the request then gets `503`).
    fn alloc(&self, size: usize) -> Option<Self::Block>;

    /// The `Host` values answered (others get `421`): by default IP literals,
    /// `localhost` and `portico.local`.
    fn allowed_hosts(&self) -> HostPolicy<'_> {
        HostPolicy::default()
    }

    /// The stored password hash and the token key; `None` (the default) leaves the
    /// dashboard and the API open, as on a bench.
    fn secrets(&self) -> Option<Secrets<'_>> {
        None
    }

    /// Closes connection `id` (`DELETE /api/connections/{id}`). `Err(Stale)` when it is
    /// not open: already closed, or its slot taken by another connection since — the
    /// generation in the id tells them apart, so a stale id never closes the newcomer.
    fn close_connection(&self, id: ConnId) -> Result<(), Stale>;

    /// Restarts the upstream link at once, skipping any backoff
    /// (`POST /api/link/restart`); `false` when no link is configured.
    fn restart_link(&self) -> bool {
        false
    }
}

/// The settings `/api/status` reports. Field names are the JSON's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config<'a> {
    /// Where the server listens: the host's `--bind`, or on the device every address of
    /// its stack and the port's TCP port (`0.0.0.0:80`). An address, not text, so that
    /// a port cannot report a port it does not listen on.
    pub bind: SocketAddr,
    /// HTTP connections admitted at once.
    pub max_sockets: usize,
    /// Sockets in the TCP stack.
    pub stack_sockets: usize,
    /// Newcomers held while the table is full.
    pub backlog: usize,
    /// Sockets kept for the stack and outbound links.
    pub reserved_sockets: usize,
    /// Evict idle keep-alives for newcomers.
    pub lru_purge: bool,
    /// Streams may be evicted too.
    pub evict_streams: bool,
    /// Connections one peer may hold before its own are evicted first.
    pub per_peer_cap: usize,
    /// Request buffers in the pool.
    pub pool_buffers: usize,
    /// Bytes per request buffer.
    pub pool_chunk: usize,
    /// Internal RAM budget, bytes.
    pub internal_ram: usize,
    /// External RAM (PSRAM), bytes; 0 when absent.
    pub psram: usize,
    /// The upstream WebSocket URL, if any.
    pub upstream: Option<&'a str>,
    /// Artificial delay before each API answer (for trying the dashboard's spinner).
    pub api_delay: Duration,
    /// Deadline for a request head.
    pub head_timeout: Duration,
    /// Idle keep-alive timeout.
    pub idle_timeout: Duration,
    /// How long a newcomer is held before `503`.
    pub queue_timeout: Duration,
}

/// The upstream link's status (`/api/link`).
#[derive(Debug, Clone, Copy)]
pub struct LinkStatus<'a> {
    /// The URL.
    pub url: &'a str,
    /// Connecting, connected, backoff or stopped.
    pub state: State,
    /// Successful upgrades.
    pub connects: u64,
    /// Of those, reconnects.
    pub reconnects: u64,
    /// The latest error, as text.
    pub last_error: Option<&'a str>,
    /// Round-trip time of the last answered ping.
    pub rtt_ms: Option<u64>,
    /// Messages received from upstream.
    pub messages_in: u64,
    /// The blocks the client holds, and where each lives.
    pub memory: &'a [MemoryBlock],
}

/// The connection table, whatever its slot count.
pub trait ConnTable {
    /// Cap on admitted connections.
    fn cap(&self) -> usize;
    /// Admitted connections.
    fn open(&self) -> usize;
    /// Newcomers held, waiting for a slot.
    fn pending(&self) -> usize;
    /// Counters.
    fn counters(&self) -> Counters;
    /// Connections in `state`.
    fn count(&self, state: ConnState) -> usize;
    /// The live connections.
    fn connections(&self, now: Instant) -> impl Iterator<Item = ConnInfo> + '_;
    /// Recent evictions, oldest first.
    fn recent_evictions(&self) -> impl Iterator<Item = &Eviction> + '_;
}

impl<const N: usize> ConnTable for Table<N> {
    fn cap(&self) -> usize {
        Table::cap(self)
    }
    fn open(&self) -> usize {
        Table::open(self)
    }
    fn pending(&self) -> usize {
        Table::pending(self)
    }
    fn counters(&self) -> Counters {
        Table::counters(self)
    }
    fn count(&self, state: ConnState) -> usize {
        Table::count(self, state)
    }
    fn connections(&self, now: Instant) -> impl Iterator<Item = ConnInfo> + '_ {
        Table::connections(self, now)
    }
    fn recent_evictions(&self) -> impl Iterator<Item = &Eviction> + '_ {
        Table::recent_evictions(self)
    }
}
