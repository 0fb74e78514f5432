#![doc = include_str!("../README.md")]
//! Host port: runs Portico's core on tokio sockets, with the device's limits enforced.
//!
//! Everything runs on one thread (a tokio `LocalSet`), like the device's single embassy
//! executor: the connection table, the buffer pool and the handlers share state through
//! `Rc`/`RefCell` with no locks, and the same `!Send` futures work on both ports.
//!
//! What makes `cargo run` behave like the device:
//! - the [`portico::conn::Table`] caps HTTP sockets, evicts idle keep-alives, and holds
//!   newcomers in a bounded backlog before answering `503`;
//! - buffers come from a [`portico::pool::Pool`] over a [`SimHeap`] whose regions have
//!   the device's budgets (`--internal-ram`, `--psram`);
//! - each admitted connection's state is charged to internal RAM, so memory exhaustion
//!   degrades to `503`, as it would on the device.
//!
//! Each connection runs the core's engine (`portico::server::drive`), the same loop as
//! the device port; this crate adds only tokio sockets, timers and parking.
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod buffers;
mod env;
mod options;
mod parking;
mod server;
mod shared;
mod shrink;
mod task;
mod transport;

pub use env::{wall_clock, ConnEnv};
pub use options::{BufferStrategy, ServerOptions, DEFAULT_INTERNAL_RAM};
pub use portico::placement::sim::SimHeap;
pub use server::{init_log, listen, serve, serve_on, Server, LISTEN_BACKLOG};
pub use shared::{HostPool, Shared, POOL_CHUNKS, POOL_WAITERS, TABLE_SLOTS};
pub use shrink::{POOL_BASELINE, POOL_IDLE};
pub use transport::TcpTransport;

/// Internal RAM charged per admitted connection: its table entry, its socket's
/// bookkeeping and its idle task state. Buffers are leased separately, only while a
/// request runs.
pub const CONN_STATE_BYTES: usize = 256;
