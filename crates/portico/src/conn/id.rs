//! Naming a connection so that a late message cannot hit its successor: a slot plus
//! that slot's generation, and the error for an id whose connection has gone.

use core::fmt;

/// A connection's identity: its slot and that slot's generation when it was admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnId {
    /// Slot index in the table.
    pub slot: u16,
    /// Bumped every time the slot is reused.
    pub generation: u32,
}

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.slot, self.generation)
    }
}

/// A close, state change or touch aimed at a connection that is no longer there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stale;

impl fmt::Display for Stale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection no longer in the table (closed or evicted)")
    }
}

impl core::error::Error for Stale {}
