//! `esp-alloc` heap regions behind the core's `MemoryRegions`: internal SRAM, and on
//! modules with PSRAM (ESP32-S3) the external region.

use allocator_api2::vec::Vec;
use esp_alloc::{ExternalMemory, InternalMemory, MemoryCapability};
use portico::placement::{MemoryRegions, Region, RegionError, RegionStats};

/// The global `esp-alloc` heap, seen region by region.
#[derive(Debug, Clone, Copy, Default)]
pub struct EspRegions;

/// A block in one region; freed on drop.
pub enum EspBlock {
    /// In internal SRAM.
    Internal(Vec<u8, InternalMemory>),
    /// In PSRAM.
    External(Vec<u8, ExternalMemory>),
}

impl AsRef<[u8]> for EspBlock {
    fn as_ref(&self) -> &[u8] {
        match self {
            EspBlock::Internal(v) => v,
            EspBlock::External(v) => v,
        }
    }
}

impl AsMut<[u8]> for EspBlock {
    fn as_mut(&mut self) -> &mut [u8] {
        match self {
            EspBlock::Internal(v) => v,
            EspBlock::External(v) => v,
        }
    }
}

fn capability(region: Region) -> MemoryCapability {
    match region {
        Region::Internal => MemoryCapability::Internal,
        Region::External => MemoryCapability::External,
    }
}

impl MemoryRegions for EspRegions {
    type Block = EspBlock;

    fn alloc_in(&self, region: Region, size: usize) -> Result<EspBlock, RegionError> {
        if self.stats(region).capacity == 0 {
            return Err(RegionError::Absent);
        }
        // `try_reserve_exact` fails cleanly instead of aborting when the region is full.
        match region {
            Region::Internal => {
                let mut v = Vec::new_in(InternalMemory);
                v.try_reserve_exact(size)
                    .map_err(|_| RegionError::Exhausted)?;
                v.resize(size, 0);
                Ok(EspBlock::Internal(v))
            }
            Region::External => {
                let mut v = Vec::new_in(ExternalMemory);
                v.try_reserve_exact(size)
                    .map_err(|_| RegionError::Exhausted)?;
                v.resize(size, 0);
                Ok(EspBlock::External(v))
            }
        }
    }

    fn stats(&self, region: Region) -> RegionStats {
        let cap = capability(region);
        let heap = esp_alloc::HEAP.stats();
        let mut s = RegionStats::default();
        for r in heap.region_stats.iter().flatten() {
            if r.capabilities.contains(cap) {
                s.capacity += r.size;
                s.used += r.used;
                s.free += r.free;
            }
        }
        s.peak = s.used;
        s
    }
}

/// Keeps `block` for the program's life (the link's socket buffers, placed at start-up).
pub fn leak(block: EspBlock) -> &'static mut [u8] {
    match block {
        EspBlock::Internal(v) => v.leak(),
        EspBlock::External(v) => v.leak(),
    }
}
