//! What the dashboard shows of the table: one row per live connection and the last few
//! evictions. Read-only views, built on demand from the table's entries.

use core::net::SocketAddr;

use super::id::ConnId;
use super::state::ConnState;
use super::table::Table;
use super::victim::EvictReason;
use crate::time::{Duration, Instant};

/// One live connection, as reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnInfo {
    /// Identity.
    pub id: ConnId,
    /// Peer address.
    pub peer: SocketAddr,
    /// Current state.
    pub state: ConnState,
    /// Time since admission.
    pub age: Duration,
    /// Time since the last byte in either direction.
    pub idle: Duration,
    /// Requests served on it.
    pub requests: u32,
}

/// A past eviction, for the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Eviction {
    /// Who was evicted.
    pub id: ConnId,
    /// Their address.
    pub peer: SocketAddr,
    /// Why.
    pub reason: EvictReason,
    /// When.
    pub at: Instant,
}

/// How many past evictions are kept for the dashboard.
pub const RECENT_EVICTIONS: usize = 8;

impl<const N: usize> Table<N> {
    /// Recent evictions, oldest first.
    pub fn recent_evictions(&self) -> impl Iterator<Item = &Eviction> {
        self.recent.oldest_ordered()
    }

    /// Live connections.
    pub fn connections(&self, now: Instant) -> impl Iterator<Item = ConnInfo> + '_ {
        self.entries.iter().enumerate().filter_map(move |(i, e)| {
            e.as_ref().map(|e| ConnInfo {
                id: ConnId {
                    slot: i as u16,
                    generation: self.generations[i],
                },
                peer: e.peer,
                state: e.state,
                age: now.saturating_duration_since(e.opened),
                idle: now.saturating_duration_since(e.last_activity),
                requests: e.requests,
            })
        })
    }
}
