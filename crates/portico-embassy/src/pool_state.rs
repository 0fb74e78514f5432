//! The pool's shared state behind an object-safe trait, so that [`crate::SocketPool`]
//! carries no socket count in its type.
//!
//! Why a trait object rather than an unsized tail (a state struct ending in `[Slot]`,
//! coerced from `[Slot; N]`): the state holds the core's `Table<N>`, whose slots are two
//! arrays of `N`, and a waker registration sized by `N`; a struct can leave only its last
//! field unsized, so hiding `N` that way would mean reshaping the core's table. The trait
//! keeps every line of the pool's logic in [`Shared`], generic as before, at the cost of
//! one indirect call per socket event.

use core::future::poll_fn;
use core::net::SocketAddr;
use core::task::{Context, Poll};

use portico::conn::{ConnId, Stale};
use portico::time::Instant;

use crate::connection::Hooks;
use crate::shared::{Admit, PortSnapshot, Shared};
use crate::table_view::TableView;

/// What the pool's sockets, keeper and owner ask of the shared state (see
/// [`Shared`], which does the work). The waits are `poll_*` methods, since a trait object
/// cannot return a future without an allocator; `dyn PoolState` wraps them as `async`.
pub(crate) trait PoolState {
    /// The sockets the state was sized for.
    fn sockets(&self) -> usize;
    /// The same state, as a connection's hooks.
    fn hooks(&self) -> &dyn Hooks;
    fn close_connection(&self, id: ConnId) -> Result<(), Stale>;
    /// Calls `f` once with the connection table.
    fn with_table(&self, f: &mut dyn FnMut(&(dyn TableView + 'static)));
    fn listening(&self, i: usize);
    fn handshake(&self, i: usize, peer: Option<SocketAddr>, now: Instant);
    fn admitted_early(&self, i: usize) -> Option<ConnId>;
    fn accepted(&self, i: usize, now: Instant);
    fn poll_keeper_due(&self, cx: &mut Context<'_>) -> Poll<()>;
    fn keep_listening(&self, now: Instant);
    fn poll_abort_requested(&self, i: usize, cx: &mut Context<'_>) -> Poll<()>;
    fn admit(&self, i: usize, peer: SocketAddr, now: Instant, first: bool) -> Admit;
    fn poll_freed_since(&self, epoch: u32, cx: &mut Context<'_>) -> Poll<()>;
    fn poll_evicted(&self, i: usize, cx: &mut Context<'_>) -> Poll<()>;
    fn release(&self, i: usize, now: Instant);
    fn refused(&self);
    fn closed(&self, graceful: bool);
    fn snapshot(&self) -> PortSnapshot;
}

impl<const N: usize> PoolState for Shared<N> {
    fn sockets(&self) -> usize {
        N
    }
    fn hooks(&self) -> &dyn Hooks {
        self
    }
    fn close_connection(&self, id: ConnId) -> Result<(), Stale> {
        Shared::close_connection(self, id)
    }
    fn with_table(&self, f: &mut dyn FnMut(&(dyn TableView + 'static))) {
        Shared::with_table(self, |t| f(&*t))
    }
    fn listening(&self, i: usize) {
        Shared::listening(self, i)
    }
    fn handshake(&self, i: usize, peer: Option<SocketAddr>, now: Instant) {
        Shared::handshake(self, i, peer, now)
    }
    fn admitted_early(&self, i: usize) -> Option<ConnId> {
        Shared::admitted_early(self, i)
    }
    fn accepted(&self, i: usize, now: Instant) {
        Shared::accepted(self, i, now)
    }
    fn poll_keeper_due(&self, cx: &mut Context<'_>) -> Poll<()> {
        Shared::poll_keeper_due(self, cx)
    }
    fn keep_listening(&self, now: Instant) {
        Shared::keep_listening(self, now)
    }
    fn poll_abort_requested(&self, i: usize, cx: &mut Context<'_>) -> Poll<()> {
        Shared::poll_abort_requested(self, i, cx)
    }
    fn admit(&self, i: usize, peer: SocketAddr, now: Instant, first: bool) -> Admit {
        Shared::admit(self, i, peer, now, first)
    }
    fn poll_freed_since(&self, epoch: u32, cx: &mut Context<'_>) -> Poll<()> {
        Shared::poll_freed_since(self, epoch, cx)
    }
    fn poll_evicted(&self, i: usize, cx: &mut Context<'_>) -> Poll<()> {
        Shared::poll_evicted(self, i, cx)
    }
    fn release(&self, i: usize, now: Instant) {
        Shared::release(self, i, now)
    }
    fn refused(&self) {
        Shared::refused(self)
    }
    fn closed(&self, graceful: bool) {
        Shared::closed(self, graceful)
    }
    fn snapshot(&self) -> PortSnapshot {
        Shared::snapshot(self)
    }
}

impl dyn PoolState + '_ {
    /// The keeper's round: waits until no socket listens, or SYNs wait for sockets that
    /// an eviction would free.
    pub(crate) async fn keeper_due(&self) {
        poll_fn(|cx| self.poll_keeper_due(cx)).await
    }

    /// Waits until socket `i`'s close should end with a reset.
    pub(crate) async fn abort_requested(&self, i: usize) {
        poll_fn(|cx| self.poll_abort_requested(i, cx)).await
    }

    /// Waits until a held newcomer is worth another admission attempt.
    pub(crate) async fn freed_since(&self, epoch: u32) {
        poll_fn(|cx| self.poll_freed_since(epoch, cx)).await
    }

    /// Completes when the table has named socket `i`'s connection as a victim.
    pub(crate) async fn evicted(&self, i: usize) {
        poll_fn(|cx| self.poll_evicted(i, cx)).await
    }
}
