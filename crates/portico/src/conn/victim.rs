//! Whom to evict when a newcomer finds the table full, and why. The order is the
//! policy: a peer over its share first, then the least recently used idle connection,
//! then a silent preconnect, then a slowloris head, then (only if allowed) a stream.
//! A connection mid-exchange is never a candidate.

use core::net::IpAddr;

use super::id::ConnId;
use super::state::ConnState;
use super::table::{Entry, Table};
use crate::time::Instant;

/// Why a connection was evicted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvictReason {
    /// Least recently used idle keep-alive connection.
    LruIdle,
    /// Idle connection of a peer holding more than its share.
    PeerCap,
    /// Admitted, then silent past the grace period (a speculative preconnect).
    Silent,
    /// Still dripping its request head past the grace period while others wait
    /// (slowloris): a real client sends its head in one go.
    SlowHead,
    /// Long-lived stream (only when `Policy::evict_streams`).
    Stream,
}

impl EvictReason {
    /// Lower-case name used in JSON.
    pub const fn name(self) -> &'static str {
        match self {
            EvictReason::LruIdle => "lru_idle",
            EvictReason::PeerCap => "peer_cap",
            EvictReason::Silent => "silent",
            EvictReason::SlowHead => "slow_head",
            EvictReason::Stream => "stream",
        }
    }
}

impl<const N: usize> Table<N> {
    fn peer_count(&self, ip: IpAddr) -> usize {
        self.entries
            .iter()
            .flatten()
            .filter(|e| e.peer.ip() == ip)
            .count()
    }

    /// Least recently active connection in `state` among those `filter` accepts.
    pub(super) fn lru(&self, state: ConnState, filter: impl Fn(&Entry) -> bool) -> Option<ConnId> {
        self.entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.as_ref().map(|e| (i, e)))
            .filter(|(_, e)| e.state == state && filter(e))
            .min_by_key(|(_, e)| e.last_activity)
            .map(|(i, _)| ConnId {
                slot: i as u16,
                generation: self.generations[i],
            })
    }

    pub(super) fn choose_victim(
        &self,
        newcomer: IpAddr,
        now: Instant,
    ) -> Option<(ConnId, EvictReason)> {
        let cap = self.policy.per_peer_cap;
        // 1. The newcomer's own peer is over its share: its own oldest idle goes.
        if self.peer_count(newcomer) >= cap {
            if let Some(v) = self.lru(ConnState::Idle, |e| e.peer.ip() == newcomer) {
                return Some((v, EvictReason::PeerCap));
            }
        }
        // 2. Idle connections of peers holding more than their share.
        if let Some(v) = self.lru(ConnState::Idle, |e| self.peer_count(e.peer.ip()) > cap) {
            return Some((v, EvictReason::PeerCap));
        }
        // 3. Any idle connection, least recently used first.
        if let Some(v) = self.lru(ConnState::Idle, |_| true) {
            return Some((v, EvictReason::LruIdle));
        }
        // 4. Connections that were admitted and then never said a word.
        let grace = self.policy.fresh_grace;
        if let Some(v) = self.lru(ConnState::Head, |e| {
            e.fresh && now.saturating_duration_since(e.opened) >= grace
        }) {
            return Some((v, EvictReason::Silent));
        }
        // 5. Heads still trickling in after their grace period: slowloris under
        // pressure gives way, instead of locking out every newcomer until its head
        // deadline.
        let head_grace = self.policy.head_grace;
        if let Some(v) = self.lru(ConnState::Head, |e| {
            e.partial && now.saturating_duration_since(e.since) >= head_grace
        }) {
            return Some((v, EvictReason::SlowHead));
        }
        // 6. Streams, only if allowed.
        if self.policy.evict_streams {
            if let Some(v) = self.lru(ConnState::Stream, |_| true) {
                return Some((v, EvictReason::Stream));
            }
        }
        None
    }
}
