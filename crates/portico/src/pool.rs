//! A fixed pool of I/O buffers, allocated on first use, leased while a transfer runs.
//!
//! This replaces the single shared scratch buffer of the C design, where concurrent
//! handlers overwrote each other's data. Here each transfer holds a [`Lease`] on its own
//! chunk, and the chunk comes back to the pool when the lease is dropped — on every path,
//! including errors and cancelled futures.
//!
//! - Chunks are allocated lazily, through [`crate::placement::place`], so memory grows
//!   only to the real peak of concurrent transfers and then stays put: no per-request
//!   `malloc`/`free`, no fragmentation.
//! - When every chunk is leased, [`Pool::acquire`] waits in FIFO order instead of
//!   failing; the caller bounds the wait with a deadline (the port's timer) and answers
//!   503 when it passes. The queue itself is bounded (`W`), so waiting costs no heap.
//! - [`Pool::shrink`] frees unleased chunks above a baseline, for a device that had a
//!   spike and wants its RAM back.

use core::cell::RefCell;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

use embassy_sync::blocking_mutex::{raw::RawMutex, Mutex};

use crate::placement::{place, MemoryRegions, OutOfMemory, Placement, Region};

/// Pool settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    /// Chunks in use at most (≤ the pool's `N`).
    pub chunks: usize,
    /// Bytes per chunk.
    pub chunk_size: usize,
    /// Where chunks are allocated.
    pub placement: Placement,
}

impl PoolConfig {
    /// The device default: 10 chunks of 4 KiB in internal RAM first.
    pub const fn const_default() -> Self {
        PoolConfig {
            chunks: 10,
            chunk_size: 4096,
            placement: Placement::PreferInternal,
        }
    }
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self::const_default()
    }
}

/// Why a lease could not be had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcquireError {
    /// Every chunk is leased and the wait queue is full.
    Busy,
    /// A chunk was needed but no region could supply it.
    OutOfMemory(OutOfMemory),
}

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AcquireError::Busy => f.write_str("buffer pool busy"),
            AcquireError::OutOfMemory(e) => write!(f, "buffer pool: {e}"),
        }
    }
}

impl core::error::Error for AcquireError {}

/// Pool counters, as served by `/api/pool`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct PoolStats {
    /// Configured chunk count.
    pub chunks: usize,
    /// Bytes per chunk.
    pub chunk_size: usize,
    /// Chunks currently allocated (leased or free).
    pub allocated: usize,
    /// Chunks currently leased.
    pub leased: usize,
    /// Most chunks leased at once.
    pub high_water: usize,
    /// Acquisitions that had to wait.
    pub waits: u64,
    /// Waits that ended without a lease (deadline passed or the client left).
    pub timeouts: u64,
    /// Chunk allocations refused by every region.
    pub alloc_failures: u64,
    /// Allocated chunks in internal RAM.
    pub in_internal: usize,
    /// Allocated chunks in external RAM.
    pub in_external: usize,
    /// Leases handed out in total.
    pub leases: u64,
}

enum Slot<B> {
    /// Never allocated, or freed by `shrink`.
    Empty,
    /// Allocated and free.
    Free(B, Region),
    /// Out on a lease.
    Leased,
    /// Handed to the waiter with this ticket, not yet picked up.
    Granted(B, Region, u32),
}

struct Waiter {
    ticket: u32,
    waker: Option<Waker>,
    granted: bool,
}

struct State<B, const N: usize, const W: usize> {
    slots: [Slot<B>; N],
    waiters: heapless::Deque<Waiter, W>,
    next_ticket: u32,
    stats: PoolStats,
}

/// The pool. `N` bounds the chunk count in the type; `W` bounds the wait queue.
pub struct Pool<M: MemoryRegions, R: RawMutex, const N: usize = 16, const W: usize = 64> {
    mem: M,
    config: PoolConfig,
    state: Mutex<R, RefCell<State<M::Block, N, W>>>,
}

impl<M: MemoryRegions, R: RawMutex, const N: usize, const W: usize> Pool<M, R, N, W> {
    /// A pool over `mem`. `config.chunks` is clamped to `N`.
    pub fn new(mem: M, mut config: PoolConfig) -> Self {
        config.chunks = config.chunks.clamp(1, N);
        let stats = PoolStats {
            chunks: config.chunks,
            chunk_size: config.chunk_size,
            ..PoolStats::default()
        };
        Pool {
            mem,
            config,
            state: Mutex::new(RefCell::new(State {
                slots: core::array::from_fn(|_| Slot::Empty),
                waiters: heapless::Deque::new(),
                next_ticket: 0,
                stats,
            })),
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &PoolConfig {
        &self.config
    }

    /// The memory the pool allocates from.
    pub fn memory(&self) -> &M {
        &self.mem
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> PoolStats {
        self.state.lock(|s| s.borrow().stats)
    }

    /// Whether an acquisition now would have to wait: every chunk leased (or handed to a
    /// waiter), or others already queued.
    pub fn exhausted(&self) -> bool {
        self.state.lock(|s| {
            let s = s.borrow();
            !s.waiters.is_empty()
                || !s.slots[..self.config.chunks]
                    .iter()
                    .any(|x| matches!(x, Slot::Free(..) | Slot::Empty))
        })
    }

    /// Takes a chunk now if one is free (or can be allocated) and nobody is queued.
    pub fn try_acquire(&self) -> Result<Option<Lease<'_, M, R, N, W>>, AcquireError> {
        self.state.lock(|s| {
            let mut s = s.borrow_mut();
            if !s.waiters.is_empty() {
                return Ok(None);
            }
            self.take_locked(&mut s)
        })
    }

    /// Waits for a chunk in FIFO order. Bound it with a deadline; dropping the future
    /// leaves the queue cleanly and passes on a chunk it had been granted.
    pub fn acquire(&self) -> Acquire<'_, M, R, N, W> {
        Acquire {
            pool: self,
            ticket: None,
            done: false,
        }
    }

    /// Frees unleased chunks so that at most `baseline` stay allocated.
    pub fn shrink(&self, baseline: usize) -> usize {
        self.state.lock(|s| {
            let mut s = s.borrow_mut();
            let mut freed = 0;
            for i in 0..self.config.chunks {
                if s.stats.allocated <= baseline {
                    break;
                }
                if let Slot::Free(_, region) = s.slots[i] {
                    s.slots[i] = Slot::Empty;
                    s.stats.allocated -= 1;
                    match region {
                        Region::Internal => s.stats.in_internal -= 1,
                        Region::External => s.stats.in_external -= 1,
                    }
                    freed += 1;
                }
            }
            freed
        })
    }

    fn take_locked(
        &self,
        s: &mut State<M::Block, N, W>,
    ) -> Result<Option<Lease<'_, M, R, N, W>>, AcquireError> {
        let chunks = self.config.chunks;
        // Reuse an allocated chunk before allocating a new one.
        let idx = (0..chunks)
            .find(|&i| matches!(s.slots[i], Slot::Free(..)))
            .or_else(|| (0..chunks).find(|&i| matches!(s.slots[i], Slot::Empty)));
        let Some(i) = idx else {
            return Ok(None);
        };
        let (block, region) = match core::mem::replace(&mut s.slots[i], Slot::Empty) {
            Slot::Free(b, r) => (b, r),
            _ => match place(&self.mem, self.config.placement, self.config.chunk_size) {
                Ok(p) => {
                    s.stats.allocated += 1;
                    match p.region {
                        Region::Internal => s.stats.in_internal += 1,
                        Region::External => s.stats.in_external += 1,
                    }
                    (p.block, p.region)
                }
                Err(e) => {
                    s.stats.alloc_failures += 1;
                    return Err(AcquireError::OutOfMemory(e));
                }
            },
        };
        s.slots[i] = Slot::Leased;
        Self::note_leased(s);
        Ok(Some(Lease {
            pool: self,
            slot: i,
            region,
            block: Some(block),
        }))
    }

    fn note_leased(s: &mut State<M::Block, N, W>) {
        s.stats.leased += 1;
        s.stats.leases += 1;
        s.stats.high_water = s.stats.high_water.max(s.stats.leased);
    }

    /// A chunk comes back: hand it to the oldest waiter without one, or keep it.
    fn give_back(&self, slot: usize, block: M::Block, region: Region) {
        self.state.lock(|s| {
            let mut s = s.borrow_mut();
            s.stats.leased -= 1;
            Self::hand_on(&mut s, slot, block, region);
        })
    }

    fn hand_on(s: &mut State<M::Block, N, W>, slot: usize, block: M::Block, region: Region) {
        if let Some(w) = s.waiters.iter_mut().find(|w| !w.granted) {
            w.granted = true;
            let ticket = w.ticket;
            if let Some(waker) = w.waker.take() {
                waker.wake();
            }
            s.slots[slot] = Slot::Granted(block, region, ticket);
        } else {
            s.slots[slot] = Slot::Free(block, region);
        }
    }
}

/// A chunk on loan. Derefs to its bytes; returns to the pool on drop.
pub struct Lease<'p, M: MemoryRegions, R: RawMutex, const N: usize, const W: usize> {
    pool: &'p Pool<M, R, N, W>,
    slot: usize,
    region: Region,
    block: Option<M::Block>,
}

impl<M: MemoryRegions, R: RawMutex, const N: usize, const W: usize> Lease<'_, M, R, N, W> {
    /// Region the chunk lives in.
    pub fn region(&self) -> Region {
        self.region
    }

    /// Slot index (stable for the chunk's lifetime).
    pub fn slot(&self) -> usize {
        self.slot
    }
}

impl<M: MemoryRegions, R: RawMutex, const N: usize, const W: usize> core::ops::Deref
    for Lease<'_, M, R, N, W>
{
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.block.as_ref().map(|b| b.as_ref()).unwrap_or(&[])
    }
}

impl<M: MemoryRegions, R: RawMutex, const N: usize, const W: usize> core::ops::DerefMut
    for Lease<'_, M, R, N, W>
{
    fn deref_mut(&mut self) -> &mut [u8] {
        self.block.as_mut().map(|b| b.as_mut()).unwrap_or(&mut [])
    }
}

impl<M: MemoryRegions, R: RawMutex, const N: usize, const W: usize> Drop for Lease<'_, M, R, N, W> {
    fn drop(&mut self) {
        if let Some(b) = self.block.take() {
            self.pool.give_back(self.slot, b, self.region);
        }
    }
}

/// Future returned by [`Pool::acquire`].
pub struct Acquire<'p, M: MemoryRegions, R: RawMutex, const N: usize, const W: usize> {
    pool: &'p Pool<M, R, N, W>,
    ticket: Option<u32>,
    done: bool,
}

impl<'p, M: MemoryRegions, R: RawMutex, const N: usize, const W: usize> Future
    for Acquire<'p, M, R, N, W>
{
    type Output = Result<Lease<'p, M, R, N, W>, AcquireError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let pool = this.pool;
        pool.state.lock(|s| {
            let mut s = s.borrow_mut();
            match this.ticket {
                None => {
                    if s.waiters.is_empty() {
                        match pool.take_locked(&mut s) {
                            Ok(Some(lease)) => {
                                this.done = true;
                                return Poll::Ready(Ok(lease));
                            }
                            Ok(None) => {}
                            Err(e) => {
                                this.done = true;
                                return Poll::Ready(Err(e));
                            }
                        }
                    }
                    let ticket = s.next_ticket;
                    s.next_ticket = s.next_ticket.wrapping_add(1);
                    let w = Waiter {
                        ticket,
                        waker: Some(cx.waker().clone()),
                        granted: false,
                    };
                    if s.waiters.push_back(w).is_err() {
                        this.done = true;
                        return Poll::Ready(Err(AcquireError::Busy));
                    }
                    s.stats.waits += 1;
                    this.ticket = Some(ticket);
                    // A chunk may be free while others were queued ahead of us and
                    // have since left: take it if nobody older is waiting for it.
                    Poll::Pending
                }
                Some(ticket) => {
                    let granted = (0..pool.config.chunks)
                        .find(|&i| matches!(s.slots[i], Slot::Granted(_, _, t) if t == ticket));
                    if let Some(i) = granted {
                        let Slot::Granted(block, region, _) =
                            core::mem::replace(&mut s.slots[i], Slot::Empty)
                        else {
                            unreachable!()
                        };
                        s.slots[i] = Slot::Leased;
                        if let Some(pos) = s.waiters.iter().position(|w| w.ticket == ticket) {
                            remove_at(&mut s.waiters, pos);
                        }
                        Pool::<M, R, N, W>::note_leased(&mut s);
                        this.done = true;
                        return Poll::Ready(Ok(Lease {
                            pool,
                            slot: i,
                            region,
                            block: Some(block),
                        }));
                    }
                    if let Some(w) = s.waiters.iter_mut().find(|w| w.ticket == ticket) {
                        w.waker = Some(cx.waker().clone());
                    }
                    Poll::Pending
                }
            }
        })
    }
}

impl<M: MemoryRegions, R: RawMutex, const N: usize, const W: usize> Drop
    for Acquire<'_, M, R, N, W>
{
    fn drop(&mut self) {
        let (Some(ticket), false) = (self.ticket, self.done) else {
            return;
        };
        self.pool.state.lock(|s| {
            let mut s = s.borrow_mut();
            s.stats.timeouts += 1;
            if let Some(pos) = s.waiters.iter().position(|w| w.ticket == ticket) {
                remove_at(&mut s.waiters, pos);
            }
            // If a chunk had been granted to us, pass it on.
            let granted = (0..self.pool.config.chunks)
                .find(|&i| matches!(s.slots[i], Slot::Granted(_, _, t) if t == ticket));
            if let Some(i) = granted {
                if let Slot::Granted(block, region, _) =
                    core::mem::replace(&mut s.slots[i], Slot::Empty)
                {
                    Pool::<M, R, N, W>::hand_on(&mut s, i, block, region);
                }
            }
        })
    }
}

fn remove_at<T, const W: usize>(q: &mut heapless::Deque<T, W>, pos: usize) {
    // heapless::Deque has no remove(i); rotate the element out, keeping order.
    let len = q.len();
    for i in 0..len {
        let Some(item) = q.pop_front() else { break };
        if i != pos {
            let _ = q.push_back(item);
        }
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use crate::placement::sim::SimHeap;
    use crate::placement::RegionStats;
    use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
    use std::sync::Arc;

    type TestPool = Pool<SimHeap, CriticalSectionRawMutex, 16, 8>;

    fn pool(chunks: usize, heap: &SimHeap) -> TestPool {
        Pool::new(
            heap.clone(),
            PoolConfig {
                chunks,
                chunk_size: 1024,
                placement: Placement::PreferExternal,
            },
        )
    }

    #[test]
    fn lazy_allocation_and_reuse() {
        let heap = SimHeap::new(64 * 1024, 0);
        let p = pool(4, &heap);
        assert_eq!(heap.stats(Region::Internal).used, 0);
        {
            let mut a = p.try_acquire().unwrap().unwrap();
            a[0] = 7;
            assert_eq!(a.region(), Region::Internal);
        }
        let b = p.try_acquire().unwrap().unwrap();
        assert_eq!(b.len(), 1024);
        let s = p.stats();
        assert_eq!(
            (s.allocated, s.leased, s.high_water, s.leases),
            (1, 1, 1, 2)
        );
        drop(b);
        assert_eq!(heap.stats(Region::Internal).used, 1024);
        assert_eq!(p.shrink(0), 1);
        assert_eq!(
            heap.stats(Region::Internal),
            RegionStats {
                capacity: 65536,
                used: 0,
                peak: 1024,
                free: 65536,
                failures: 0
            }
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn waiters_are_served_in_order_and_timeouts_leave_cleanly() {
        let heap = SimHeap::new(64 * 1024, 0);
        let p = Arc::new(pool(1, &heap));
        let first = p.try_acquire().unwrap().unwrap();
        let order = Arc::new(std::sync::Mutex::new(std::vec::Vec::new()));
        let mut tasks = std::vec::Vec::new();
        let local = tokio::task::LocalSet::new();
        for i in 0..5 {
            let p = p.clone();
            let order = order.clone();
            tasks.push(local.spawn_local(async move {
                if i == 2 {
                    // This one gives up: its place must not block the others.
                    let r = tokio::time::timeout(std::time::Duration::from_millis(5), p.acquire())
                        .await;
                    assert!(r.is_err());
                    return;
                }
                let lease = p.acquire().await.unwrap();
                order.lock().unwrap().push(i);
                tokio::task::yield_now().await;
                drop(lease);
            }));
        }
        local
            .run_until(async {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                drop(first);
                for t in tasks {
                    t.await.unwrap();
                }
            })
            .await;
        assert_eq!(*order.lock().unwrap(), [0, 1, 3, 4]);
        let s = p.stats();
        assert_eq!((s.leased, s.waits, s.timeouts), (0, 5, 1));
    }

    #[test]
    fn allocation_failure_is_typed_and_recovers() {
        let heap = SimHeap::new(64 * 1024, 0);
        let p = pool(2, &heap);
        heap.fail_region(Region::Internal, true);
        assert!(matches!(p.try_acquire(), Err(AcquireError::OutOfMemory(_))));
        heap.clear_faults();
        assert!(p.try_acquire().unwrap().is_some());
        assert_eq!(p.stats().alloc_failures, 1);
    }

    #[test]
    fn busy_when_queue_full() {
        let heap = SimHeap::new(64 * 1024, 0);
        let p: Pool<SimHeap, CriticalSectionRawMutex, 1, 1> = Pool::new(
            heap,
            PoolConfig {
                chunks: 1,
                chunk_size: 16,
                placement: Placement::Internal,
            },
        );
        assert!(!p.exhausted());
        let _a = p.try_acquire().unwrap().unwrap();
        assert!(p.exhausted());
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut f1 = core::pin::pin!(p.acquire());
        assert!(f1.as_mut().poll(&mut cx).is_pending());
        let mut f2 = core::pin::pin!(p.acquire());
        assert!(matches!(
            f2.as_mut().poll(&mut cx),
            Poll::Ready(Err(AcquireError::Busy))
        ));
    }
}
