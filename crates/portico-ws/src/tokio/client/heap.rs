//! The allocator handle the client's blocks share.

use std::sync::Arc;

use portico::placement::{MemoryRegions, Region, RegionError, RegionStats};

/// An allocator shared by the client's blocks (cloning shares it).
pub struct SharedHeap<M>(pub(super) Arc<M>);

impl<M> Clone for SharedHeap<M> {
    fn clone(&self) -> Self {
        SharedHeap(self.0.clone())
    }
}

impl<M: MemoryRegions> MemoryRegions for SharedHeap<M> {
    type Block = M::Block;

    fn alloc_in(&self, region: Region, size: usize) -> Result<M::Block, RegionError> {
        self.0.alloc_in(region, size)
    }

    fn stats(&self, region: Region) -> RegionStats {
        self.0.stats(region)
    }
}
