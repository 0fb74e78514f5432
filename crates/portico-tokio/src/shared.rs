//! State shared by the accept loop, the connection tasks and the API handlers.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Instant;

use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use portico::conn::{ConnId, Stale, Table};
use portico::placement::sim::SimHeap;
use portico::pool::Pool;
use tokio::sync::Notify;

use crate::options::ServerOptions;
use crate::parking::Parking;

/// Most connection slots the host table can hold (the cap itself is `--max-sockets`).
pub const TABLE_SLOTS: usize = 1024;
/// Most chunks the host's pool type can hold (the count itself is `--pool-buffers`).
pub const POOL_CHUNKS: usize = 64;
/// Most connections that may queue for a chunk at once.
pub const POOL_WAITERS: usize = 256;

/// The host's buffer pool: no lock (one thread).
pub type HostPool = Pool<SimHeap, NoopRawMutex, POOL_CHUNKS, POOL_WAITERS>;

/// State shared by the accept loop, the connection tasks and the API handlers.
pub struct Shared {
    pub(crate) start: Instant,
    /// The connection table.
    pub table: RefCell<Box<Table<TABLE_SLOTS>>>,
    /// The buffer pool.
    pub pool: HostPool,
    /// The simulated heap.
    pub heap: SimHeap,
    /// Options in force.
    pub options: ServerOptions,
    evictors: RefCell<HashMap<u16, (u32, Rc<Notify>)>>,
    pub(crate) parking: Parking,
    pub(crate) slot_freed: Notify,
}

impl Shared {
    pub(crate) fn new(options: ServerOptions) -> Self {
        let heap = SimHeap::new(options.internal_ram, options.psram);
        Shared {
            start: Instant::now(),
            table: RefCell::new(Box::new(Table::new(options.budget, options.policy))),
            pool: Pool::new(heap.clone(), options.pool),
            heap,
            options,
            evictors: RefCell::new(HashMap::new()),
            parking: Parking::new(TABLE_SLOTS.min(options.budget.max_sockets)),
            slot_freed: Notify::new(),
        }
    }

    /// The time on the core's clock: its epoch is the server's start.
    pub fn now(&self) -> portico::time::Instant {
        portico::time::Instant::EPOCH + self.start.elapsed().into()
    }

    /// Tells the accept loop that admission may now succeed.
    pub(crate) fn wake_acceptor(&self) {
        self.slot_freed.notify_one();
    }

    /// Idle connections parked without a task.
    pub fn parked(&self) -> usize {
        self.parking.len()
    }

    /// The notification that ends connection `id`'s task when the table evicts it.
    pub(crate) fn register(&self, id: ConnId) -> Rc<Notify> {
        let n = Rc::new(Notify::new());
        self.evictors
            .borrow_mut()
            .insert(id.slot, (id.generation, n.clone()));
        n
    }

    pub(crate) fn unregister(&self, id: ConnId) {
        let mut e = self.evictors.borrow_mut();
        if e.get(&id.slot).map(|(g, _)| *g) == Some(id.generation) {
            e.remove(&id.slot);
        }
    }

    /// Closes connection `id` at the owner's request (the dashboard's admin action);
    /// `Err(Stale)` when it is no longer open — closed, or its slot reused, so a stale
    /// id can never close the connection that took its place.
    pub fn close_connection(&self, id: ConnId) -> Result<(), Stale> {
        self.table.borrow_mut().close(id)?;
        portico::report::closed_by_owner(id);
        self.evict(id);
        Ok(())
    }

    /// Closes the evicted connection: a parked one right here, a running one by
    /// signalling its task. The table has already let it go.
    pub(crate) fn evict(&self, victim: ConnId) {
        if let Some(p) = self.parking.take(victim) {
            // Dropping the socket sends FIN.
            drop(p);
            self.slot_freed.notify_one();
            return;
        }
        if let Some((g, n)) = self.evictors.borrow().get(&victim.slot) {
            if *g == victim.generation {
                n.notify_one();
            }
        }
    }
}
