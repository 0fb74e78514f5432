//! What the client reports about itself, as one serialisable snapshot.

use crate::buffers::MemoryBlock;
use crate::event::State;

/// A snapshot of the client's state and counters.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// `"connecting"`, `"connected"`, `"backoff"` or `"stopped"`.
    pub state: State,
    /// The URL.
    pub url: String,
    /// Successful upgrades since the client was created.
    pub connects: u64,
    /// Of those, the ones that were reconnects within a run.
    pub reconnects: u64,
    /// The latest error, as text.
    pub last_error: Option<String>,
    /// Round-trip time of the last answered ping.
    pub rtt_ms: Option<u64>,
    /// Whole messages received.
    pub messages_in: u64,
    /// Blocks held now (empty when stopped).
    pub memory: Vec<MemoryBlock>,
}
