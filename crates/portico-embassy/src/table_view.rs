//! The connection table as its owner reads it (for `/api/connections`), whatever its
//! slot count.

use portico::conn::{ConnInfo, ConnState, Counters, Eviction, Table};
use portico::time::Instant;

/// A read-only view of the pool's connection table, object-safe so that
/// [`crate::SocketPool::with_table`] hands it out without naming the socket count.
///
/// Rows are read by position rather than as an iterator (a trait object cannot return
/// one without an allocator): `connection(k)` walks the table's slots, so reading every
/// row is quadratic in the slot count — a few hundred steps for a device's sockets.
pub trait TableView {
    /// Cap on admitted connections.
    fn cap(&self) -> usize;
    /// Admitted connections.
    fn open(&self) -> usize;
    /// Newcomers held, waiting for a slot.
    fn pending(&self) -> usize;
    /// The table's counters.
    fn counters(&self) -> Counters;
    /// Connections in `state`.
    fn count(&self, state: ConnState) -> usize;
    /// The `k`-th live connection in slot order (`None` past the last).
    fn connection(&self, k: usize, now: Instant) -> Option<ConnInfo>;
    /// The `k`-th recent eviction, oldest first (`None` past the last).
    fn recent_eviction(&self, k: usize) -> Option<&Eviction>;
}

impl<const N: usize> TableView for Table<N> {
    fn cap(&self) -> usize {
        Table::cap(self)
    }
    fn open(&self) -> usize {
        Table::open(self)
    }
    fn pending(&self) -> usize {
        Table::pending(self)
    }
    fn counters(&self) -> Counters {
        Table::counters(self)
    }
    fn count(&self, state: ConnState) -> usize {
        Table::count(self, state)
    }
    fn connection(&self, k: usize, now: Instant) -> Option<ConnInfo> {
        self.connections(now).nth(k)
    }
    fn recent_eviction(&self, k: usize) -> Option<&Eviction> {
        self.recent_evictions().nth(k)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec::Vec;

    use core::net::SocketAddr;

    use portico::conn::{Admission, Budget, ConnId, ConnState, Policy, Table};
    use portico::time::Instant;

    use super::TableView;

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    fn admit(t: &mut Table<6>, host: u8, ms: u64) -> ConnId {
        match t.admit(SocketAddr::from(([10, 0, 0, host], 5000)), at(ms)) {
            Admission::Admitted(id) => id,
            other => panic!("not admitted: {other:?}"),
        }
    }

    /// Rows read by position, as `/api/connections` reads them through the view: the
    /// same rows and evictions as the table's own iterators, also when the live slots
    /// are not contiguous (a row per live connection, not per slot).
    #[test]
    fn view_reads_the_same_rows_as_the_table() {
        let mut t: Table<6> = Table::new(Budget::new(16, 5).unwrap(), Policy::default());
        let ids: Vec<ConnId> = (1..=5).map(|h| admit(&mut t, h, h as u64)).collect();
        // Slots 1 and 3 become idle and are evicted (least recently used first); slot 0
        // closes: live connections remain in slots 2 and 4 only.
        t.set_state(ids[1], ConnState::Idle, at(10)).unwrap();
        t.set_state(ids[3], ConnState::Idle, at(20)).unwrap();
        assert_eq!(t.evict_one(at(30)).map(|(v, _)| v), Some(ids[1]));
        assert_eq!(t.evict_one(at(40)).map(|(v, _)| v), Some(ids[3]));
        t.close(ids[0]).unwrap();
        t.set_state(ids[4], ConnState::Idle, at(50)).unwrap();

        let now = at(100);
        let view: &dyn TableView = &t;
        let rows: Vec<_> = (0..).map_while(|k| view.connection(k, now)).collect();
        assert_eq!(rows, t.connections(now).collect::<Vec<_>>());
        assert_eq!(
            rows.iter().map(|c| c.id).collect::<Vec<_>>(),
            [ids[2], ids[4]]
        );
        let evictions: Vec<_> = (0..).map_while(|k| view.recent_eviction(k)).collect();
        assert_eq!(evictions, t.recent_evictions().collect::<Vec<_>>());
        assert_eq!(
            evictions.iter().map(|e| e.id).collect::<Vec<_>>(),
            [ids[1], ids[3]]
        );
        assert_eq!(
            (view.cap(), view.open(), view.count(ConnState::Idle)),
            (5, 2, 1)
        );
        assert_eq!(view.counters(), t.counters());
    }
}
