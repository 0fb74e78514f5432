//! The host's request buffers behind the core's `Buffers`: the fixed pool, or one block
//! per request (the baseline the pool benchmark compares against).

use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use portico::placement::place;
use portico::placement::sim::{SimBlock, SimHeap};
use portico::pool::Lease;
use portico::server::Buffers;

use crate::options::BufferStrategy;
use crate::shared::{Shared, POOL_CHUNKS, POOL_WAITERS};

/// The buffers of one server, as the engine sees them.
pub(crate) struct HostBuffers<'a>(pub &'a Shared);

/// A pool lease, or a block placed for this request alone.
pub(crate) enum HostLease<'a> {
    Pooled(Lease<'a, SimHeap, NoopRawMutex, POOL_CHUNKS, POOL_WAITERS>),
    Block(SimBlock),
}

impl core::ops::Deref for HostLease<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            HostLease::Pooled(l) => l,
            HostLease::Block(b) => b.as_ref(),
        }
    }
}

impl core::ops::DerefMut for HostLease<'_> {
    fn deref_mut(&mut self) -> &mut [u8] {
        match self {
            HostLease::Pooled(l) => l,
            HostLease::Block(b) => b.as_mut(),
        }
    }
}

impl Buffers for HostBuffers<'_> {
    type Lease<'a>
        = HostLease<'a>
    where
        Self: 'a;

    async fn acquire(&self) -> Option<HostLease<'_>> {
        let s = self.0;
        match s.options.buffers {
            BufferStrategy::Pool => s.pool.acquire().await.ok().map(HostLease::Pooled),
            BufferStrategy::PerRequest => {
                place(&s.heap, s.options.pool.placement, s.options.pool.chunk_size)
                    .ok()
                    .map(|p| HostLease::Block(p.block))
            }
        }
    }

    fn exhausted(&self) -> bool {
        self.0.options.buffers == BufferStrategy::Pool && self.0.pool.exhausted()
    }
}
