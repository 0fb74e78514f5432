//! The table itself: slots, admission, eviction and the port's reports of what each
//! connection does. The types it speaks in live beside it: ids (`id.rs`), states
//! (`state.rs`), the policy (`policy.rs`), victim choice (`victim.rs`), counters
//! (`counters.rs`) and dashboard rows (`rows.rs`).

use core::net::{IpAddr, SocketAddr};

use super::budget::Budget;
use super::counters::Counters;
use super::id::{ConnId, Stale};
use super::policy::Policy;
use super::rows::{Eviction, RECENT_EVICTIONS};
use super::state::{ConnState, TimeoutPhase};
use super::victim::EvictReason;
use crate::time::Instant;

/// The table's answer to a newcomer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Admitted into a free slot.
    Admitted(ConnId),
    /// Admitted after evicting `victim`, which the port must now close gracefully.
    Evicted {
        /// The newcomer.
        id: ConnId,
        /// The connection that made room.
        victim: ConnId,
        /// Why that one.
        reason: EvictReason,
    },
    /// Full and nothing may be evicted: hold the newcomer and try again later.
    Full,
}

/// What the table knows of one live connection.
#[derive(Debug, Clone, Copy)]
pub(super) struct Entry {
    pub(super) peer: SocketAddr,
    pub(super) state: ConnState,
    /// Admitted but silent so far: no byte seen, no state reported by the port.
    pub(super) fresh: bool,
    /// When the current state began.
    pub(super) since: Instant,
    /// Bytes arrived in `Head` without completing it (the head is being dripped). A
    /// connection waiting for a buffer is in `Head` too, but has read nothing yet.
    pub(super) partial: bool,
    pub(super) opened: Instant,
    pub(super) last_activity: Instant,
    pub(super) requests: u32,
}

/// The connection table with room for `N` connections (the effective cap may be lower).
#[derive(Debug)]
pub struct Table<const N: usize> {
    pub(super) entries: [Option<Entry>; N],
    pub(super) generations: [u32; N],
    pub(super) cap: usize,
    pub(super) open: usize,
    pub(super) pending: usize,
    pub(super) policy: Policy,
    pub(super) counters: Counters,
    pub(super) recent: heapless::HistoryBuf<Eviction, RECENT_EVICTIONS>,
}

impl<const N: usize> Table<N> {
    /// A table for this budget and policy. The cap is `budget.max_sockets`, clamped to `N`.
    pub fn new(budget: Budget, policy: Policy) -> Self {
        Table {
            entries: [None; N],
            generations: [0; N],
            cap: budget.max_sockets.min(N),
            open: 0,
            pending: 0,
            policy,
            counters: Counters::default(),
            recent: heapless::HistoryBuf::new(),
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Effective cap on open connections.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Open connections.
    pub fn open(&self) -> usize {
        self.open
    }

    /// Newcomers held waiting for a slot (reported by the port).
    pub fn pending(&self) -> usize {
        self.pending
    }

    /// The port reports how many newcomers it holds.
    pub fn set_pending(&mut self, n: usize) {
        self.pending = n;
    }

    /// Counters.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Number of open connections in a state.
    pub fn count(&self, state: ConnState) -> usize {
        self.entries
            .iter()
            .flatten()
            .filter(|e| e.state == state)
            .count()
    }

    /// Whether `id` is still the connection in its slot.
    pub fn is_live(&self, id: ConnId) -> bool {
        self.entry(id).is_ok()
    }

    /// A newcomer from `peer` arrives. Admits it, evicts to make room, or says `Full`.
    ///
    /// A newcomer enters in [`ConnState::Head`], marked as not yet heard from: it is
    /// protected like a connection mid-request for `Policy::fresh_grace`, after which a
    /// still-silent one (a speculative preconnect) may be evicted after every idle one.
    pub fn admit(&mut self, peer: SocketAddr, now: Instant) -> Admission {
        if self.open < self.cap {
            return Admission::Admitted(self.insert(peer, now));
        }
        if !self.policy.lru_purge {
            return Admission::Full;
        }
        let Some((victim, reason)) = self.choose_victim(peer.ip(), now) else {
            return Admission::Full;
        };
        self.evict(victim, reason, now);
        let id = self.insert(peer, now);
        Admission::Evicted { id, victim, reason }
    }

    /// Evicts one connection by the same rules as [`Table::admit`], without admitting
    /// anyone: for a port that must free a socket *before* the next newcomer arrives
    /// (smoltcp has no accept backlog: a SYN that finds no listening socket is reset).
    /// Returns the victim, which the port must now close.
    pub fn evict_one(&mut self, now: Instant) -> Option<(ConnId, EvictReason)> {
        if !self.policy.lru_purge {
            return None;
        }
        // No newcomer address: pass one that matches no peer, so only the general
        // rules (greedy peers first, then LRU) apply.
        let nobody = IpAddr::V6(core::net::Ipv6Addr::UNSPECIFIED);
        let (victim, reason) = self.choose_victim(nobody, now)?;
        self.evict(victim, reason, now);
        Some((victim, reason))
    }

    /// Evicts the connection that has been dripping its request head the longest, if
    /// one has been at it past the grace period. For a port whose *buffers* run out
    /// (each head being read holds one): a slowloris must not starve the buffer pool.
    pub fn evict_slow_head(&mut self, now: Instant) -> Option<ConnId> {
        let grace = self.policy.head_grace;
        let victim = self.lru(ConnState::Head, |e| {
            e.partial && now.saturating_duration_since(e.since) >= grace
        })?;
        self.evict(victim, EvictReason::SlowHead, now);
        Some(victim)
    }

    fn evict(&mut self, victim: ConnId, reason: EvictReason, now: Instant) {
        let victim_peer = self.entries[victim.slot as usize].map(|e| e.peer);
        self.remove(victim);
        match reason {
            EvictReason::LruIdle => self.counters.evicted_idle += 1,
            EvictReason::Silent => self.counters.evicted_silent += 1,
            EvictReason::PeerCap => self.counters.evicted_peer_cap += 1,
            EvictReason::Stream => self.counters.evicted_stream += 1,
            EvictReason::SlowHead => self.counters.evicted_slow += 1,
        }
        crate::report::evicted(victim, victim_peer, reason);
        if let Some(p) = victim_peer {
            self.recent.write(Eviction {
                id: victim,
                peer: p,
                reason,
                at: now,
            });
        }
    }

    /// The connection changed state; this counts as activity.
    pub fn set_state(&mut self, id: ConnId, state: ConnState, now: Instant) -> Result<(), Stale> {
        let e = self.entry_mut(id)?;
        e.state = state;
        e.fresh = false;
        e.since = now;
        e.partial = false;
        e.last_activity = now;
        Ok(())
    }

    /// The connection's handshake completed (a port that admits at the SYN, before the
    /// client could send anything): its grace period starts now, so a client on a slow
    /// link is not judged silent for the round trip its handshake took.
    pub fn connected(&mut self, id: ConnId, now: Instant) -> Result<(), Stale> {
        let e = self.entry_mut(id)?;
        if e.fresh {
            e.opened = now;
            e.since = now;
            e.last_activity = now;
        }
        Ok(())
    }

    /// Bytes moved in either direction.
    pub fn touch(&mut self, id: ConnId, now: Instant) -> Result<(), Stale> {
        let e = self.entry_mut(id)?;
        e.fresh = false;
        e.partial |= e.state == ConnState::Head;
        e.last_activity = now;
        Ok(())
    }

    /// A request was answered.
    pub fn request_done(&mut self, id: ConnId) -> Result<(), Stale> {
        let e = self.entry_mut(id)?;
        e.requests = e.requests.saturating_add(1);
        self.counters.requests += 1;
        Ok(())
    }

    /// A deadline was missed (counted even if the connection is already gone).
    pub fn timed_out(&mut self, phase: TimeoutPhase) {
        crate::report::timed_out(phase);
        match phase {
            TimeoutPhase::Head => self.counters.timeout_head += 1,
            TimeoutPhase::Body => self.counters.timeout_body += 1,
            TimeoutPhase::Send => self.counters.timeout_send += 1,
            TimeoutPhase::Idle => self.counters.timeout_idle += 1,
        }
    }

    /// A newcomer was answered 503.
    pub fn refused(&mut self) {
        crate::report::refused();
        self.counters.refused_503 += 1;
    }

    /// The connection closed. Harmless (`Err(Stale)`) if it was already evicted and the
    /// slot now belongs to someone else.
    pub fn close(&mut self, id: ConnId) -> Result<(), Stale> {
        self.entry(id)?;
        self.remove(id);
        Ok(())
    }

    fn insert(&mut self, peer: SocketAddr, now: Instant) -> ConnId {
        // Callers check `open < cap`, and cap ≤ N, so a free slot exists.
        let slot = self
            .entries
            .iter()
            .take(self.cap)
            .position(Option::is_none)
            .unwrap_or(0);
        self.generations[slot] = self.generations[slot].wrapping_add(1);
        // A newcomer is about to send its request: it is protected like one mid-request
        // until it has been served once (or its head deadline passes).
        self.entries[slot] = Some(Entry {
            peer,
            state: ConnState::Head,
            fresh: true,
            since: now,
            partial: false,
            opened: now,
            last_activity: now,
            requests: 0,
        });
        self.open += 1;
        self.counters.accepted += 1;
        ConnId {
            slot: slot as u16,
            generation: self.generations[slot],
        }
    }

    fn remove(&mut self, id: ConnId) {
        let slot = id.slot as usize;
        if self.entries[slot].take().is_some() {
            self.open -= 1;
            self.counters.closed += 1;
        }
    }

    fn entry(&self, id: ConnId) -> Result<&Entry, Stale> {
        let slot = id.slot as usize;
        match self.entries.get(slot) {
            Some(Some(e)) if self.generations[slot] == id.generation => Ok(e),
            _ => Err(Stale),
        }
    }

    fn entry_mut(&mut self, id: ConnId) -> Result<&mut Entry, Stale> {
        let slot = id.slot as usize;
        match self.entries.get_mut(slot) {
            Some(Some(e)) if self.generations[slot] == id.generation => Ok(e),
            _ => Err(Stale),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    fn peer(a: u8, port: u16) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, a], port))
    }

    fn table(cap: usize) -> Table<32> {
        Table::new(Budget::new(cap + 8, cap).unwrap(), Policy::default())
    }

    fn admitted(a: Admission) -> ConnId {
        match a {
            Admission::Admitted(id) | Admission::Evicted { id, .. } => id,
            Admission::Full => panic!("not admitted"),
        }
    }

    #[test]
    fn evicts_lru_idle_never_busy() {
        let mut t = table(3);
        let a = admitted(t.admit(peer(1, 1), at(0)));
        let b = admitted(t.admit(peer(2, 1), at(1)));
        let c = admitted(t.admit(peer(3, 1), at(2)));
        t.set_state(a, ConnState::Head, at(10)).unwrap();
        t.set_state(b, ConnState::Idle, at(5)).unwrap();
        t.set_state(c, ConnState::Idle, at(7)).unwrap();
        match t.admit(peer(4, 1), at(20)) {
            Admission::Evicted { victim, reason, .. } => {
                assert_eq!((victim, reason), (b, EvictReason::LruIdle))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(t.set_state(b, ConnState::Head, at(21)), Err(Stale));
    }

    #[test]
    fn sends_count_as_activity_so_streams_are_not_first() {
        let mut t = table(2);
        let s = admitted(t.admit(peer(1, 1), at(0)));
        let i = admitted(t.admit(peer(2, 1), at(1)));
        t.set_state(s, ConnState::Stream, at(2)).unwrap();
        assert_eq!(
            t.admit(peer(5, 1), at(2)),
            Admission::Full,
            "fresh connections are protected"
        );
        t.set_state(i, ConnState::Idle, at(3)).unwrap();
        t.touch(s, at(100)).unwrap();
        match t.admit(peer(3, 1), at(101)) {
            Admission::Evicted { victim, .. } => assert_eq!(victim, i),
            other => panic!("{other:?}"),
        }
        // Only a stream left, streams not evictable by default.
        assert_eq!(t.admit(peer(4, 1), at(102)), Admission::Full);
    }

    #[test]
    fn streams_evicted_only_when_configured_and_after_idle() {
        let mut t: Table<8> = Table::new(
            Budget::new(10, 2).unwrap(),
            Policy {
                evict_streams: true,
                ..Policy::default()
            },
        );
        let s = admitted(t.admit(peer(1, 1), at(0)));
        t.set_state(s, ConnState::Stream, at(0)).unwrap();
        let i = admitted(t.admit(peer(2, 1), at(50)));
        t.set_state(i, ConnState::Idle, at(50)).unwrap();
        match t.admit(peer(3, 1), at(60)) {
            Admission::Evicted { victim, .. } => assert_eq!(victim, i),
            other => panic!("{other:?}"),
        }
        match t.admit(peer(4, 1), at(70)) {
            Admission::Evicted { victim, reason, .. } => {
                assert_eq!((victim, reason), (s, EvictReason::Stream))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn silent_preconnects_go_after_idle_and_only_after_grace() {
        let mut t = table(2);
        let quiet = admitted(t.admit(peer(1, 1), at(0)));
        let busy = admitted(t.admit(peer(2, 1), at(0)));
        t.set_state(busy, ConnState::Head, at(10)).unwrap();
        // Within the grace period nothing may go.
        let grace = Policy::default().fresh_grace.as_millis();
        assert_eq!(t.admit(peer(3, 1), at(grace - 1)), Admission::Full);
        match t.admit(peer(3, 1), at(grace)) {
            Admission::Evicted { victim, reason, .. } => {
                assert_eq!((victim, reason), (quiet, EvictReason::Silent))
            }
            other => panic!("{other:?}"),
        }
        let c = t.counters();
        assert_eq!(
            (c.evicted_silent, c.evicted_idle),
            (1, 0),
            "counted as silent"
        );
        assert!(
            t.is_live(busy),
            "a connection that spoke is mid-request, never evicted"
        );
    }

    #[test]
    fn a_port_that_admits_at_the_syn_starts_the_grace_at_the_handshake() {
        let mut t = table(1);
        let grace = Policy::default().fresh_grace.as_millis();
        let slow = admitted(t.admit(peer(1, 1), at(0)));
        // Its handshake took 400 ms (a slow link): the grace starts then.
        t.connected(slow, at(400)).unwrap();
        assert_eq!(t.admit(peer(2, 1), at(grace + 399)), Admission::Full);
        assert!(matches!(
            t.admit(peer(2, 1), at(grace + 400)),
            Admission::Evicted {
                reason: EvictReason::Silent,
                ..
            }
        ));
    }

    #[test]
    fn evict_one_frees_a_slot_without_admitting() {
        let mut t = table(2);
        let a = admitted(t.admit(peer(1, 1), at(0)));
        let b = admitted(t.admit(peer(2, 1), at(0)));
        t.set_state(a, ConnState::Idle, at(5)).unwrap();
        t.set_state(b, ConnState::Handler, at(6)).unwrap();
        assert_eq!(t.evict_one(at(10)), Some((a, EvictReason::LruIdle)));
        assert_eq!(t.open(), 1);
        assert_eq!(t.counters().evicted_idle, 1);
        assert_eq!(t.recent_evictions().count(), 1);
        assert_eq!(t.evict_one(at(11)), None, "the busy one stays");
    }

    #[test]
    fn dripping_heads_give_way_but_buffer_waiters_do_not() {
        let mut t = table(2);
        let dripper = admitted(t.admit(peer(1, 1), at(0)));
        let waiter = admitted(t.admit(peer(2, 1), at(0)));
        t.set_state(dripper, ConnState::Head, at(0)).unwrap();
        t.touch(dripper, at(400)).unwrap();
        t.touch(dripper, at(800)).unwrap();
        // Waiting for a pool buffer: in Head, nothing read yet.
        t.set_state(waiter, ConnState::Head, at(0)).unwrap();
        assert_eq!(
            t.admit(peer(3, 1), at(900)),
            Admission::Full,
            "within the grace period"
        );
        match t.admit(peer(3, 1), at(1200)) {
            Admission::Evicted { id, victim, reason } => {
                assert_eq!((victim, reason), (dripper, EvictReason::SlowHead));
                t.set_state(id, ConnState::Handler, at(1200)).unwrap();
            }
            other => panic!("{other:?}"),
        }
        assert!(t.is_live(waiter));
        assert_eq!(t.admit(peer(4, 1), at(5000)), Admission::Full);
        assert_eq!(t.counters().evicted_slow, 1);
    }

    /// A browser behind the attacker's address (one NAT, one host) is judged by what its
    /// own connections do: it gets in by evicting a dripper, and its requests are never
    /// the victims while drippers remain.
    #[test]
    fn a_newcomer_on_a_drippers_address_evicts_a_dripper_not_itself() {
        let mut t = table(3);
        let ip = |port| SocketAddr::from(([10, 0, 0, 1], port));
        let d1 = admitted(t.admit(ip(1), at(0)));
        let d2 = admitted(t.admit(ip(2), at(0)));
        let d3 = admitted(t.admit(ip(3), at(0)));
        for d in [d1, d2, d3] {
            t.set_state(d, ConnState::Head, at(0)).unwrap();
            t.touch(d, at(100)).unwrap();
        }
        let browser = match t.admit(ip(4), at(1500)) {
            Admission::Evicted { id, victim, reason } => {
                assert_eq!(reason, EvictReason::SlowHead);
                assert_eq!(victim, d1, "the longest dripping head goes first");
                id
            }
            other => panic!("{other:?}"),
        };
        t.set_state(browser, ConnState::Handler, at(1501)).unwrap();
        match t.admit(ip(5), at(1600)) {
            Admission::Evicted { victim, .. } => assert_ne!(victim, browser),
            other => panic!("{other:?}"),
        }
        assert!(t.is_live(browser));
    }

    #[test]
    fn no_lru_purge_reproduces_old_behaviour() {
        let mut t: Table<8> = Table::new(
            Budget::new(9, 7).unwrap(),
            Policy {
                lru_purge: false,
                ..Policy::default()
            },
        );
        for p in 0..7 {
            admitted(t.admit(peer(1, p), at(0)));
        }
        assert_eq!(t.admit(peer(2, 1), at(1)), Admission::Full);
    }

    #[test]
    fn per_peer_cap_takes_the_greedy_peers_idle_first() {
        let mut t: Table<16> = Table::new(
            Budget::new(12, 10).unwrap(),
            Policy {
                per_peer_cap: 3,
                ..Policy::default()
            },
        );
        // One quiet peer, idle for the longest time.
        let quiet = admitted(t.admit(peer(9, 1), at(0)));
        // A greedy peer with 9 connections, all idle but more recent.
        t.set_state(quiet, ConnState::Idle, at(0)).unwrap();
        for p in 0..9 {
            let id = admitted(t.admit(peer(1, p), at(10 + p as u64)));
            t.set_state(id, ConnState::Idle, at(10 + p as u64)).unwrap();
        }
        match t.admit(peer(5, 1), at(100)) {
            Admission::Evicted { victim, reason, .. } => {
                assert_ne!(victim, quiet);
                assert_eq!(reason, EvictReason::PeerCap);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn stale_close_cannot_hit_successor() {
        let mut t = table(1);
        let a = admitted(t.admit(peer(1, 1), at(0)));
        t.set_state(a, ConnState::Idle, at(0)).unwrap();
        let b = admitted(t.admit(peer(2, 1), at(1)));
        assert_eq!(a.slot, b.slot);
        assert_ne!(a.generation, b.generation);
        assert_eq!(t.close(a), Err(Stale));
        assert!(t.is_live(b));
        t.close(b).unwrap();
        assert_eq!(t.open(), 0);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Admit(u8),
        State(usize, u8),
        Touch(usize),
        Close(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..6).prop_map(Op::Admit),
            (0usize..64, 0u8..6).prop_map(|(i, s)| Op::State(i, s)),
            (0usize..64).prop_map(Op::Touch),
            (0usize..64).prop_map(Op::Close),
        ]
    }

    const STATES: [ConnState; 6] = [
        ConnState::Head,
        ConnState::Body,
        ConnState::Handler,
        ConnState::Response,
        ConnState::Idle,
        ConnState::Stream,
    ];

    proptest! {
        #[test]
        fn invariants(cap in 1usize..10, ops in proptest::collection::vec(op(), 1..200)) {
            let mut t: Table<16> = Table::new(Budget::new(cap + 2, cap).unwrap(), Policy::default());
            let mut ids: std::vec::Vec<ConnId> = std::vec::Vec::new();
            let mut now = 0;
            for op in ops {
                now += 1;
                match op {
                    Op::Admit(p) => {
                        let busy_before: std::vec::Vec<ConnId> = t
                            .connections(at(now))
                            .filter(|c| c.state.is_busy())
                            .map(|c| c.id)
                            .collect();
                        let any_idle = t.count(ConnState::Idle) > 0;
                        let full = t.open() == t.cap();
                        match t.admit(peer(p, 1), at(now)) {
                            Admission::Admitted(id) => ids.push(id),
                            Admission::Evicted { id, victim, .. } => {
                                prop_assert!(full);
                                prop_assert!(!busy_before.contains(&victim));
                                prop_assert!(!t.is_live(victim));
                                ids.push(id);
                            }
                            Admission::Full => {
                                prop_assert!(full);
                                // A newcomer is always admitted while an idle connection exists.
                                prop_assert!(!any_idle);
                            }
                        }
                        // Busy connections survive any admission.
                        for b in busy_before {
                            prop_assert!(t.is_live(b));
                        }
                    }
                    Op::State(i, s) => {
                        if let Some(id) = ids.get(i % ids.len().max(1)) {
                            let _ = t.set_state(*id, STATES[s as usize], at(now));
                        }
                    }
                    Op::Touch(i) => {
                        if let Some(id) = ids.get(i % ids.len().max(1)) {
                            let _ = t.touch(*id, at(now));
                        }
                    }
                    Op::Close(i) => {
                        if let Some(id) = ids.get(i % ids.len().max(1)) {
                            // Closing a stale id must never remove a live successor.
                            let live_before = t.open();
                            let was_live = t.is_live(*id);
                            let r = t.close(*id);
                            prop_assert_eq!(r.is_ok(), was_live);
                            prop_assert_eq!(t.open(), live_before - usize::from(was_live));
                        }
                    }
                }
                prop_assert!(t.open() <= t.cap());
                prop_assert_eq!(t.open(), t.connections(at(now)).count());
            }
        }
    }
}
