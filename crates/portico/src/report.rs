//! What the stack tells whoever watches its log: an eviction and why, a `503`, a missed
//! deadline and its phase, a connection closed by its owner, a change of the upstream
//! link's state.
//!
//! One function per event, called from the one place that decides it (the connection
//! table, the link's statistics), so the host and the device say the same thing. With
//! the `log` feature the lines go to the `log` crate (on the host, `tracing-subscriber`
//! picks them up; on the device, the board's logger), with `defmt` to `defmt`; without
//! either they compile to nothing.
#![allow(unused_variables)] // Without a logging feature the arguments go unused.

use core::fmt::Display;
use core::net::SocketAddr;

use crate::conn::{ConnId, EvictReason, TimeoutPhase};

/// Where the table's lines come from (`RUST_LOG=portico::conn=debug`).
#[cfg(feature = "log")]
const CONN: &str = "portico::conn";
/// Where the link's lines come from.
#[cfg(feature = "log")]
const LINK: &str = "portico::link";

/// The table let `id` (of `peer`) go for a newcomer or a waiting request.
pub fn evicted(id: ConnId, peer: Option<SocketAddr>, reason: EvictReason) {
    #[cfg(feature = "log")]
    match peer {
        Some(p) => log::info!(target: CONN, "evicted connection {id} from {p}: {}", reason.name()),
        None => log::info!(target: CONN, "evicted connection {id}: {}", reason.name()),
    }
    #[cfg(feature = "defmt")]
    defmt::info!(
        "evicted connection {}.{}: {}",
        id.slot,
        id.generation,
        reason.name()
    );
}

/// A newcomer or a waiting request was answered `503` with `Retry-After`.
pub fn refused() {
    #[cfg(feature = "log")]
    log::warn!(target: CONN, "503: no socket or buffer within the queue deadline");
    #[cfg(feature = "defmt")]
    defmt::warn!("503: no socket or buffer within the queue deadline");
}

/// A connection missed the deadline of `phase` and was closed.
pub fn timed_out(phase: TimeoutPhase) {
    #[cfg(feature = "log")]
    match phase {
        // An idle keep-alive ending is routine; the others mean a slow or silent client.
        TimeoutPhase::Idle => log::debug!(target: CONN, "deadline passed: {}", phase.name()),
        _ => log::info!(target: CONN, "deadline passed: {}", phase.name()),
    }
    #[cfg(feature = "defmt")]
    defmt::info!("deadline passed: {}", phase.name());
}

/// The owner closed connection `id` (`DELETE /api/connections/{id}`).
pub fn closed_by_owner(id: ConnId) {
    #[cfg(feature = "log")]
    log::info!(target: CONN, "connection {id} closed by the owner");
    #[cfg(feature = "defmt")]
    defmt::info!(
        "connection {}.{} closed by the owner",
        id.slot,
        id.generation
    );
}

/// The upstream link went from `from` to `to` (`connecting`, `connected`, `backoff`,
/// `stopped`).
pub fn link_state(from: &str, to: &str) {
    #[cfg(feature = "log")]
    log::info!(target: LINK, "link {from} -> {to}");
    #[cfg(feature = "defmt")]
    defmt::info!("link {} -> {}", from, to);
}

/// The upstream link failed: `error` says why.
pub fn link_error(error: &dyn Display) {
    #[cfg(feature = "log")]
    log::warn!(target: LINK, "link error: {error}");
    #[cfg(feature = "defmt")]
    defmt::warn!("link error: {}", defmt::Display2Format(error));
}
