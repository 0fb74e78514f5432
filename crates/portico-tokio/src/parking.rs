//! Idle keep-alive connections, parked without a task.
//!
//! A tokio task costs several hundred bytes however small its future, and an idle
//! keep-alive connection has nothing to run. So when a connection goes idle its task
//! ends and the socket is parked here; one watcher task polls every parked socket's
//! readiness and the earliest idle deadline, and resumes a connection in a new task when
//! its next request arrives. An idle connection then costs its socket, its table entry
//! and one map entry — what the device's port pays, where an idle socket is just a slot.

use std::cell::RefCell;
use std::task::{Context, Waker};

use portico::conn::ConnId;
use portico::placement::sim::SimCharge;
use portico::time::Instant;

use crate::transport::TcpTransport;

/// One parked connection.
pub(crate) struct Parked {
    pub io: TcpTransport,
    pub id: ConnId,
    /// When it is closed if its peer stays silent.
    pub deadline: Instant,
    /// Never served yet: the deadline is the head deadline, not the idle timeout.
    pub fresh: bool,
    /// Its state's charge to internal RAM, returned when the connection ends.
    pub charge: SimCharge,
}

/// What one look over the parked sockets found.
pub(crate) struct Sweep {
    /// Connections whose peer sent something (or closed): resume them.
    pub ready: Vec<Parked>,
    /// Connections silent past their deadline: close them.
    pub expired: Vec<Parked>,
    /// The earliest idle deadline among those still parked.
    pub next_deadline: Option<Instant>,
}

/// The parking lot: one place per table slot, allocated up front (fixed capacity, like
/// the device's socket set), so parking a connection allocates nothing.
pub(crate) struct Parking {
    slots: RefCell<Vec<Option<Parked>>>,
    count: std::cell::Cell<usize>,
    watcher: RefCell<Option<Waker>>,
}

impl Parking {
    /// A lot with a place for each of `capacity` table slots.
    pub fn new(capacity: usize) -> Self {
        Parking {
            slots: RefCell::new((0..capacity).map(|_| None).collect()),
            count: std::cell::Cell::new(0),
            watcher: RefCell::new(None),
        }
    }

    /// Parks a connection and wakes the watcher so it starts watching this socket.
    pub fn park(&self, p: Parked) {
        let slot = p.id.slot as usize;
        let mut slots = self.slots.borrow_mut();
        if slots[slot].replace(p).is_none() {
            self.count.set(self.count.get() + 1);
        }
        drop(slots);
        if let Some(w) = self.watcher.borrow().as_ref() {
            w.wake_by_ref();
        }
    }

    /// Takes a parked connection out, if `id` (slot and generation) is parked.
    pub fn take(&self, id: ConnId) -> Option<Parked> {
        let mut slots = self.slots.borrow_mut();
        let place = slots.get_mut(id.slot as usize)?;
        if place.as_ref().is_some_and(|p| p.id == id) {
            self.count.set(self.count.get() - 1);
            place.take()
        } else {
            None
        }
    }

    /// Parked connections.
    pub fn len(&self) -> usize {
        self.count.get()
    }

    /// Polls every parked socket's readiness (registering the watcher's waker with each)
    /// and sorts out the ready and the expired.
    pub fn sweep(&self, cx: &mut Context<'_>, now: Instant) -> Sweep {
        *self.watcher.borrow_mut() = Some(cx.waker().clone());
        let mut slots = self.slots.borrow_mut();
        let (mut ready, mut expired) = (Vec::new(), Vec::new());
        let mut next_deadline: Option<Instant> = None;
        for place in slots.iter_mut() {
            let Some(p) = place.as_ref() else { continue };
            if p.io.stream().poll_read_ready(cx).is_ready() {
                ready.extend(place.take());
            } else if now >= p.deadline {
                expired.extend(place.take());
            } else {
                let d = p.deadline;
                next_deadline = Some(next_deadline.map_or(d, |n| n.min(d)));
            }
        }
        self.count
            .set(self.count.get() - ready.len() - expired.len());
        Sweep {
            ready,
            expired,
            next_deadline,
        }
    }
}
