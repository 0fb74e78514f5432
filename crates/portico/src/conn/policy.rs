//! The table's policy knobs: what may be evicted, and for whom.

use crate::time::Duration;

/// The policy knobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Evict idle connections when full (`--no-lru-purge` turns it off).
    pub lru_purge: bool,
    /// Also evict streams, after every idle connection.
    pub evict_streams: bool,
    /// Connections per peer address above which its own idle ones go first. Fairness
    /// only ever picks among *idle* connections: a busy one is judged by what it does.
    pub per_peer_cap: usize,
    /// How long a newly admitted connection that has sent nothing is protected. After
    /// it, such a connection (a browser's speculative preconnect) may be evicted — after
    /// every idle keep-alive. A real request arrives within milliseconds of the connect.
    pub fresh_grace: Duration,
}

impl Policy {
    /// The defaults.
    pub const fn const_default() -> Self {
        Policy {
            lru_purge: true,
            evict_streams: false,
            per_peer_cap: 8,
            fresh_grace: Duration::from_secs(1),
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self::const_default()
    }
}
