#![doc = include_str!("../README.md")]
//! Device port: Portico's connection table and request loop on embassy-net sockets.
//!
//! smoltcp (under embassy-net) has a fixed set of sockets and no accept backlog: a SYN
//! that finds no socket in `LISTEN` is answered with a reset. A browser opens six
//! connections at once and keeps them alive, so a device whose sockets all hold idle
//! keep-alives resets the next browser. This port keeps sockets listening instead:
//!
//! - [`SocketPool`] runs `N` sockets (state in [`PoolResources`], buffers in
//!   [`SocketBuffers`], both sized by const generics and `static`-able; the pool's own
//!   type names no `N`).
//!   The connection table admits at most `cap < N` of them; the other sockets are the
//!   device's backlog and, while nobody waits in it, they are all listening.
//! - When a listening socket accepts, the table admits the newcomer at once. If it is
//!   full it names an idle victim, which this port closes gracefully (FIN); its socket
//!   goes back to listening one round trip later. So while the table holds anything it
//!   may give up, a socket is listening or on its way back to it ([`PortCounters::listen_gaps`]
//!   counts the moments this did not hold).
//! - When nothing may be evicted (every connection is mid-exchange or streaming), the
//!   newcomer is held unread on its socket — the device's form of a backlog — until the
//!   table frees a slot or the queue deadline passes; then it gets `503` with
//!   `Retry-After` and a graceful close, never a reset.
//!
//! Timers come from `embassy-time`, so the same code runs on the MCU and under the
//! deterministic simulation in `portico-sim`.
#![no_std]
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[macro_use]
mod fmt;

mod buffers;
mod clock;
mod config;
mod connection;
mod http;
#[cfg(feature = "ws")]
mod link;
#[cfg(feature = "mdns")]
pub mod mdns;
mod pool_state;
pub mod profile;
mod resources;
mod server;
mod shared;
mod syn_backlog;
mod syn_gate;
mod table_view;

pub use buffers::SocketBuffers;
pub use clock::{now, EmbassyTimer};
pub use config::{ConfigError, PortConfig};
pub use connection::{ConnEnv, Connection};
#[cfg(feature = "ws")]
pub use link::place_socket_buffer;
pub use portico::server::{Engine, NoStreams, Streams};
pub use resources::PoolResources;
pub use server::{Service, SocketPool};
pub use shared::{PortCounters, PortSnapshot, SlotPhase};
pub use syn_backlog::{HeldSyn, HELD_SYN_BYTES, SYN_HOLD_MS};
pub use syn_gate::{GatedRx, ListenGate, SynGate};
pub use table_view::TableView;
