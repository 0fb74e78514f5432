//! The totals `/api/connections` serves: admissions, evictions by reason, refusals,
//! timeouts by phase, closes and requests.

/// Counters served by `/api/connections`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counters {
    /// Connections admitted.
    pub accepted: u64,
    /// Evicted as least recently used idle.
    pub evicted_idle: u64,
    /// Admitted, then silent past the grace period (a speculative preconnect), evicted.
    pub evicted_silent: u64,
    /// Evicted to keep one peer within its share.
    pub evicted_peer_cap: u64,
    /// Streams evicted.
    pub evicted_stream: u64,
    /// Connections still dripping their head evicted under pressure.
    pub evicted_slow: u64,
    /// Newcomers answered 503.
    pub refused_503: u64,
    /// Head deadline missed.
    pub timeout_head: u64,
    /// Body deadline missed.
    pub timeout_body: u64,
    /// Send deadline missed.
    pub timeout_send: u64,
    /// Idle keep-alive timeout reached.
    pub timeout_idle: u64,
    /// Connections closed (any reason, evictions included).
    pub closed: u64,
    /// Requests served.
    pub requests: u64,
}
