//! State shared by the pool's sockets: the connection table plus what only the port
//! knows — which socket listens, which holds a newcomer, which is closing.
//!
//! Everything runs on one executor, so a `NoopRawMutex` guards it and no lock is ever
//! held across an `.await`.

use core::cell::RefCell;
use core::net::SocketAddr;
use core::task::{Context, Poll};

use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_sync::blocking_mutex::Mutex;
use embassy_sync::waitqueue::{MultiWakerRegistration, WakerRegistration};
use portico::conn::{Admission, Budget, ConnId, ConnState, Counters, Stale, Table};
use portico::time::{Duration, Instant};

use crate::config::PortConfig;
use crate::syn_gate::ListenGate;

/// What one socket of the pool is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotPhase {
    /// Not started yet.
    Starting,
    /// In `LISTEN`: a SYN that arrives now is accepted.
    Listening,
    /// A SYN arrived and the handshake is under way: no longer listening.
    Handshake,
    /// Accepted while the table was full and nothing could be evicted; left unread.
    Held,
    /// Admitted by the table and served.
    Serving,
    /// Closing gracefully; listens again when the peer has answered the FIN.
    Closing,
}

/// Counters only the port can keep (the table keeps its own, see [`Counters`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortCounters {
    /// TCP connections accepted by a listening socket.
    pub accepted: u64,
    /// Newcomers held unread because the table was full with nothing to evict.
    pub held: u64,
    /// Held newcomers later admitted.
    pub held_admitted: u64,
    /// Held newcomers answered `503` at their deadline.
    pub refused_503: u64,
    /// Victims named by the table and closed by this port.
    pub evictions: u64,
    /// Closes where the peer answered the FIN in time.
    pub graceful_closes: u64,
    /// Closes that ran out of linger time and ended with a reset.
    pub aborts: u64,
    /// Times the last listening socket left `LISTEN` while the table held a connection
    /// it could give up and nothing was on its way back to listening. The accept
    /// strategy promises zero.
    pub listen_gaps: u64,
    /// Sockets reset to get back to `LISTEN` at once because none was listening: a
    /// close that had stalled (lost FIN or ACK), or, with nothing closing, an idle
    /// keep-alive.
    pub urgent_aborts: u64,
    /// Most newcomers held at once.
    pub max_held: usize,
}

/// A picture of the pool at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortSnapshot {
    /// Sockets in `LISTEN`.
    pub listening: usize,
    /// Sockets in a handshake.
    pub handshake: usize,
    /// Sockets holding an unread newcomer.
    pub held: usize,
    /// Sockets serving an admitted connection.
    pub serving: usize,
    /// Sockets closing.
    pub closing: usize,
    /// Connections the table could give up now (idle, or streams when allowed).
    pub evictable: usize,
    /// Port counters.
    pub port: PortCounters,
    /// Table counters.
    pub table: Counters,
}

struct Inner<const N: usize> {
    table: Table<N>,
    phase: [SlotPhase; N],
    conn: [Option<ConnId>; N],
    evict: [bool; N],
    evict_wakers: [WakerRegistration; N],
    /// Bumped whenever a table slot may have become available to a held newcomer.
    freed_epoch: u32,
    freed_wakers: MultiWakerRegistration<N>,
    /// Set to cut a close short with a reset.
    abort: [bool; N],
    closing_since: [Instant; N],
    keeper_waker: WakerRegistration,
    counters: PortCounters,
}

impl<const N: usize> Inner<N> {
    fn count(&self, phase: SlotPhase) -> usize {
        self.phase.iter().filter(|&&p| p == phase).count()
    }

    /// Sockets listening, or on their way back to it (closing, named as a victim, or
    /// being reset).
    fn listening_or_returning(&self) -> usize {
        (0..N)
            .filter(|&j| {
                matches!(self.phase[j], SlotPhase::Listening | SlotPhase::Closing)
                    || self.evict[j]
                    || self.abort[j]
            })
            .count()
    }

    fn evictable(&self) -> usize {
        let streams = if self.table.policy().evict_streams {
            self.table.count(ConnState::Stream)
        } else {
            0
        };
        self.table.count(ConnState::Idle) + streams
    }

    /// Closes `id` on the owner's request (not a policy eviction: not counted as one).
    fn close_by_request(&mut self, id: ConnId) -> Result<(), Stale> {
        self.table.close(id)?;
        portico::report::closed_by_owner(id);
        if let Some(j) = self.conn.iter().position(|c| *c == Some(id)) {
            self.evict[j] = true;
            self.evict_wakers[j].wake();
        }
        Ok(())
    }

    fn request_evict(&mut self, victim: ConnId) {
        if let Some(j) = self.conn.iter().position(|c| *c == Some(victim)) {
            self.evict[j] = true;
            self.evict_wakers[j].wake();
            self.counters.evictions += 1;
        }
    }

    /// Called whenever a socket may have left `LISTEN`.
    fn check_listening(&mut self, now: Instant) {
        if self.count(SlotPhase::Listening) > 0 {
            return;
        }
        self.keeper_waker.wake();
        if self.evictable() > 0 && self.listening_or_returning() == 0 {
            self.counters.listen_gaps += 1;
        }
        self.keep_listening(now);
    }

    /// With no socket listening, gets one back now: reset the close that has stalled
    /// longest, or, with nothing closing, evict the least recently used idle connection
    /// with a reset. Young closes (under `STALLED_CLOSE_MS`) are left to finish
    /// gracefully; the keeper looks again shortly.
    fn keep_listening(&mut self, now: Instant) {
        if self.count(SlotPhase::Listening) > 0 {
            return;
        }
        let closing = (0..N).filter(|&j| self.phase[j] == SlotPhase::Closing && !self.abort[j]);
        if let Some(j) = closing.min_by_key(|&j| self.closing_since[j]) {
            if now.saturating_duration_since(self.closing_since[j]) >= STALLED_CLOSE_MS {
                self.abort[j] = true;
                self.evict_wakers[j].wake();
                self.counters.urgent_aborts += 1;
            }
            return;
        }
        if (0..N).any(|j| self.abort[j] || self.evict[j]) {
            return;
        }
        // The table chooses, by its own rules and with its counters kept.
        if let Some((v, _)) = self.table.evict_one(now) {
            if let Some(j) = self.conn.iter().position(|c| *c == Some(v)) {
                self.evict[j] = true;
                self.abort[j] = true;
                self.evict_wakers[j].wake();
                self.counters.urgent_aborts += 1;
            }
        }
    }

    /// SYNs wait in the driver for sockets (`waiting` of them): while the table is full,
    /// names one victim for each SYN that no socket listening or on its way back will
    /// take, by the table's own rules (idle keep-alives, least recently used first;
    /// never a request in flight). Each closes gracefully and listens again, and the
    /// driver hands it the oldest SYN — the device's accept queue.
    fn make_room(&mut self, waiting: usize, now: Instant) {
        let mut short = waiting.saturating_sub(self.listening_or_returning());
        while short > 0 && self.table.open() >= self.table.cap() {
            let Some((victim, _)) = self.table.evict_one(now) else {
                break;
            };
            self.request_evict(victim);
            short -= 1;
        }
    }

    /// Whether the keeper has work: no socket listens, or SYNs wait that the sockets
    /// on their way back will not cover while the table is full (a victim may be there
    /// now, or appear when a preconnect's grace period ends, with no event: the keeper
    /// looks again every tick while this holds).
    fn keeper_due(&self, waiting: usize) -> bool {
        let started = self.count(SlotPhase::Starting) == 0;
        let none = self.count(SlotPhase::Listening) == 0;
        let short =
            waiting > self.listening_or_returning() && self.table.open() >= self.table.cap();
        started && (none || short)
    }

    fn freed(&mut self) {
        self.freed_epoch = self.freed_epoch.wrapping_add(1);
        self.freed_wakers.wake();
        // A connection gone idle may be the victim a waiting SYN needs.
        self.keeper_waker.wake();
    }
}

/// The outcome of an admission attempt for socket `i`.
pub(crate) enum Admit {
    /// Serve it under this identity.
    Serve(ConnId),
    /// Hold it; retry when the epoch moves past this value.
    Hold(u32),
}

/// A close still unfinished after this long has lost a packet (a LAN round trip is a
/// few milliseconds; smoltcp retransmits after a second at the earliest).
pub(crate) const STALLED_CLOSE_MS: Duration = Duration::from_millis(50);

pub(crate) struct Shared<const N: usize> {
    inner: Mutex<NoopRawMutex, RefCell<Inner<N>>>,
    gate: Option<&'static ListenGate>,
}

impl<const N: usize> Shared<N> {
    pub(crate) fn new(config: &PortConfig, gate: Option<&'static ListenGate>) -> Self {
        let budget = Budget {
            stack_sockets: N,
            max_sockets: config.cap,
            backlog: N - config.cap,
            reserved: 0,
        };
        Shared {
            inner: Mutex::new(RefCell::new(Inner {
                table: Table::new(budget, config.policy),
                phase: [SlotPhase::Starting; N],
                conn: [None; N],
                evict: [false; N],
                evict_wakers: core::array::from_fn(|_| WakerRegistration::new()),
                freed_epoch: 0,
                freed_wakers: MultiWakerRegistration::new(),
                abort: [false; N],
                closing_since: [Instant::EPOCH; N],
                keeper_waker: WakerRegistration::new(),
                counters: PortCounters::default(),
            })),
            gate,
        }
    }

    /// Every change to the pool's state goes through here, so the driver's gate always
    /// knows whether a socket listens.
    /// Closes connection `id` (an admin action); `Err(Stale)` when it is not open.
    pub(crate) fn close_connection(&self, id: ConnId) -> Result<(), Stale> {
        self.with(|s| s.close_by_request(id))
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inner<N>) -> R) -> R {
        self.inner.lock(|c| {
            let mut s = c.borrow_mut();
            let r = f(&mut s);
            if let Some(g) = self.gate {
                g.set_listening(s.count(SlotPhase::Listening));
            }
            r
        })
    }

    pub(crate) fn with_table<R>(&self, f: impl FnOnce(&mut Table<N>) -> R) -> R {
        self.with(|s| f(&mut s.table))
    }

    /// Socket `i` is in `LISTEN`.
    pub(crate) fn listening(&self, i: usize) {
        self.with(|s| {
            s.phase[i] = SlotPhase::Listening;
            s.abort[i] = false;
        })
    }

    /// A SYN from `peer` reached socket `i`: it no longer listens.
    ///
    /// The newcomer is admitted right away, before the handshake completes, so that the
    /// victim the table names starts closing one round trip earlier — and a handshake
    /// that stalls on a lost packet still has its replacement listener on the way.
    pub(crate) fn handshake(&self, i: usize, peer: Option<SocketAddr>, now: Instant) {
        self.with(|s| {
            if s.phase[i] == SlotPhase::Handshake {
                return;
            }
            s.phase[i] = SlotPhase::Handshake;
            if let Some(peer) = peer {
                let id = match s.table.admit(peer, now) {
                    Admission::Admitted(id) => Some(id),
                    Admission::Evicted { id, victim, .. } => {
                        s.request_evict(victim);
                        Some(id)
                    }
                    Admission::Full => None,
                };
                if let Some(id) = id {
                    // Admitted silent (`Head`, not yet heard from): protected for the
                    // grace period, then evictable as a preconnect if still silent — as on
                    // the host. Reporting a state here would mark it as heard from and
                    // protect it until its head deadline.
                    s.conn[i] = Some(id);
                    s.evict[i] = false;
                }
            }
            s.check_listening(now);
        })
    }

    /// The identity admitted during the handshake, if any.
    pub(crate) fn admitted_early(&self, i: usize) -> Option<ConnId> {
        self.with(|s| {
            let id = s.conn[i]?;
            if s.table.is_live(id) {
                s.phase[i] = SlotPhase::Serving;
                Some(id)
            } else {
                s.conn[i] = None;
                None
            }
        })
    }

    /// Socket `i` left `LISTEN` with a connection.
    pub(crate) fn accepted(&self, i: usize, now: Instant) {
        self.with(|s| {
            let was_listening = s.phase[i] == SlotPhase::Listening;
            s.phase[i] = SlotPhase::Held;
            if let Some(id) = s.conn[i] {
                // Admitted at its SYN: the grace period starts with the connection.
                let _ = s.table.connected(id, now);
            }
            s.counters.accepted += 1;
            if was_listening {
                s.check_listening(now);
            }
        })
    }

    /// SYNs waiting in the driver's backlog (none without a gate).
    fn waiting(&self) -> usize {
        self.gate.map_or(0, |g| g.waiting())
    }

    /// The keeper's round: ready when no socket listens, or SYNs wait for sockets that
    /// an eviction would free.
    pub(crate) fn poll_keeper_due(&self, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(g) = self.gate {
            g.register_pool(cx.waker());
        }
        let waiting = self.waiting();
        self.with(|s| {
            if s.keeper_due(waiting) {
                Poll::Ready(())
            } else {
                s.keeper_waker.register(cx.waker());
                Poll::Pending
            }
        })
    }

    /// Gets a socket back to `LISTEN` if none is ([`Inner::keep_listening`]) and makes
    /// room for the SYNs waiting ([`Inner::make_room`]).
    pub(crate) fn keep_listening(&self, now: Instant) {
        let waiting = self.waiting();
        self.with(|s| {
            s.keep_listening(now);
            s.make_room(waiting, now);
        })
    }

    /// Ready when socket `i`'s close should end with a reset now.
    pub(crate) fn poll_abort_requested(&self, i: usize, cx: &mut Context<'_>) -> Poll<()> {
        self.with(|s| {
            if s.abort[i] {
                Poll::Ready(())
            } else {
                s.evict_wakers[i].register(cx.waker());
                Poll::Pending
            }
        })
    }

    /// Asks the table to admit the newcomer on socket `i`. `first` is true on the first
    /// attempt, when the accept-strategy invariant is checked.
    pub(crate) fn admit(&self, i: usize, peer: SocketAddr, now: Instant, first: bool) -> Admit {
        self.with(|s| {
            let decision = s.table.admit(peer, now);
            let admitted = match decision {
                Admission::Admitted(id) => Some(id),
                Admission::Evicted { id, victim, .. } => {
                    s.request_evict(victim);
                    Some(id)
                }
                Admission::Full => None,
            };
            match admitted {
                Some(id) => {
                    if !first {
                        s.counters.held_admitted += 1;
                    }
                    s.phase[i] = SlotPhase::Serving;
                    s.conn[i] = Some(id);
                    s.evict[i] = false;
                    s.table.set_pending(s.count(SlotPhase::Held));
                    Admit::Serve(id)
                }
                None => {
                    if first {
                        s.counters.held += 1;
                    }
                    s.phase[i] = SlotPhase::Held;
                    let held = s.count(SlotPhase::Held);
                    s.counters.max_held = s.counters.max_held.max(held);
                    s.table.set_pending(held);
                    Admit::Hold(s.freed_epoch)
                }
            }
        })
    }

    /// Ready when a held newcomer is worth another admission attempt.
    pub(crate) fn poll_freed_since(&self, epoch: u32, cx: &mut Context<'_>) -> Poll<()> {
        self.with(|s| {
            if s.freed_epoch != epoch {
                Poll::Ready(())
            } else {
                s.freed_wakers.register(cx.waker());
                Poll::Pending
            }
        })
    }

    /// Ready when the table has named socket `i`'s connection as a victim.
    pub(crate) fn poll_evicted(&self, i: usize, cx: &mut Context<'_>) -> Poll<()> {
        self.with(|s| {
            if s.evict[i] {
                Poll::Ready(())
            } else {
                s.evict_wakers[i].register(cx.waker());
                Poll::Pending
            }
        })
    }

    pub(crate) fn set_state(
        &self,
        id: ConnId,
        state: ConnState,
        now: Instant,
    ) -> Result<(), Stale> {
        self.with(|s| {
            let r = s.table.set_state(id, state, now);
            let gives_up = state == ConnState::Idle
                || (state == ConnState::Stream && s.table.policy().evict_streams);
            if r.is_ok() && gives_up {
                s.freed();
            }
            r
        })
    }

    pub(crate) fn touch(&self, id: ConnId, now: Instant) -> Result<(), Stale> {
        self.with(|s| s.table.touch(id, now))
    }

    pub(crate) fn is_live(&self, id: ConnId) -> bool {
        self.with(|s| s.table.is_live(id))
    }

    /// Every request buffer is taken: the connection dripping its head the longest past
    /// the grace period gives its socket and buffer up, whatever its address.
    pub(crate) fn shed_slow_head(&self, now: Instant) {
        self.with(|s| {
            if let Some(victim) = s.table.evict_slow_head(now) {
                s.request_evict(victim);
            }
        })
    }

    pub(crate) fn request_done(&self, id: ConnId) -> Result<(), Stale> {
        self.with(|s| s.table.request_done(id))
    }

    /// Socket `i`'s connection is over (served, evicted, refused or failed).
    pub(crate) fn release(&self, i: usize, now: Instant) {
        self.with(|s| {
            s.closing_since[i] = now;
            if let Some(id) = s.conn[i].take() {
                // Stale when the table already gave the slot away (eviction): harmless.
                let _ = s.table.close(id);
            }
            s.evict[i] = false;
            s.phase[i] = SlotPhase::Closing;
            s.freed();
        })
    }

    pub(crate) fn refused(&self) {
        self.with(|s| {
            s.table.refused();
            s.counters.refused_503 += 1;
        })
    }

    pub(crate) fn closed(&self, graceful: bool) {
        self.with(|s| {
            if graceful {
                s.counters.graceful_closes += 1;
            } else {
                s.counters.aborts += 1;
            }
        })
    }

    pub(crate) fn snapshot(&self) -> PortSnapshot {
        self.with(|s| PortSnapshot {
            listening: s.count(SlotPhase::Listening),
            handshake: s.count(SlotPhase::Handshake),
            held: s.count(SlotPhase::Held),
            serving: s.count(SlotPhase::Serving),
            closing: s.count(SlotPhase::Closing),
            evictable: s.evictable(),
            port: s.counters,
            table: s.table.counters(),
        })
    }
}
