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
    /// every idle keep-alive. A browser sends its request as soon as the handshake
    /// completes, so it arrives half a round trip later — or, if that segment is lost,
    /// one retransmission timeout later (Linux: 200 ms plus the round trip; 210–460 ms
    /// measured over the emulated Wi-Fi link). 500 ms covers one loss; 250 ms did not
    /// (a fresh connection's request lost once, then the connection evicted as silent:
    /// two failed requests in one of three runs of the Wi-Fi crowd). Every socket a silent
    /// preconnect holds past the grace is one a crowd's newcomers wait for.
    pub fresh_grace: Duration,
    /// How long a request head may take to arrive before, still incomplete, it may be
    /// evicted for a newcomer or a buffer (a slowloris; a phone on a weak link sends a
    /// head in a few segments within a round trip or two). After every idle keep-alive
    /// and silent preconnect.
    pub head_grace: Duration,
}

impl Policy {
    /// The defaults.
    pub const fn const_default() -> Self {
        Policy {
            lru_purge: true,
            evict_streams: false,
            per_peer_cap: 8,
            fresh_grace: Duration::from_millis(500),
            head_grace: Duration::from_secs(1),
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self::const_default()
    }
}
