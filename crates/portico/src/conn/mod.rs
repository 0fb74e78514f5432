//! The connection table: how a device with few sockets lets the next browser in.
//!
//! A pure state machine — the port tells it what happened and what time it is, and it
//! answers with decisions. It never reads a clock and never touches a socket, so the
//! same policy runs on tokio, on embassy-net and in a deterministic simulation.
//!
//! What it gets right that the C servers it replaces do not (esp-idf #19103, esphome
//! #17383, libesphttpd #59):
//! - every connection is named by [`ConnId`] = slot + generation, so a close or an
//!   eviction aimed at a connection that has since gone can never hit its successor;
//! - bytes *sent* count as activity, not only bytes received, so a live event stream is
//!   not the first victim of LRU;
//! - a connection mid-request or mid-response is never evicted; streams only when
//!   configured, and only after every idle connection;
//! - when no victim exists the newcomer waits in a short, bounded queue and is answered
//!   `503` with `Retry-After` at its deadline — never a reset, never a silent hang.

mod arrival;
mod budget;
mod counters;
mod id;
mod policy;
mod rows;
mod state;
mod table;
mod victim;

pub use arrival::Arrival;

pub use budget::{Budget, BudgetError};
pub use counters::Counters;
pub use id::{ConnId, Stale};
pub use policy::Policy;
pub use rows::{ConnInfo, Eviction};
pub use state::{ConnState, TimeoutPhase};
pub use table::{Admission, Table};
pub use victim::EvictReason;
