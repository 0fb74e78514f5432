//! A simulated two-region heap for the host: real allocations from the system allocator,
//! accounted against the device's budgets, with fault injection for tests.
//!
//! The host has plenty of RAM, so the budget is what makes `cargo run` behave like the
//! device: a block that would not fit in the ESP32-S3's internal SRAM does not fit here
//! either, and the code under test sees the same `RegionError` it would see there.

use std::boxed::Box;
use std::sync::{Arc, Mutex};

use super::{MemoryRegions, Region, RegionError, RegionStats};

#[derive(Debug, Default)]
struct RegionState {
    capacity: usize,
    used: usize,
    peak: usize,
    failures: u64,
    fail: bool,
}

#[derive(Debug, Default)]
struct State {
    internal: RegionState,
    external: RegionState,
    allocations: u64,
    fail_nth: Option<u64>,
}

impl State {
    fn region(&mut self, r: Region) -> &mut RegionState {
        match r {
            Region::Internal => &mut self.internal,
            Region::External => &mut self.external,
        }
    }
}

/// The simulated heap. Cheap to clone: clones share one state.
#[derive(Debug, Clone)]
pub struct SimHeap {
    state: Arc<Mutex<State>>,
}

impl SimHeap {
    /// A heap with `internal` bytes of SRAM and `external` bytes of PSRAM (0 = absent).
    pub fn new(internal: usize, external: usize) -> Self {
        let mut s = State::default();
        s.internal.capacity = internal;
        s.external.capacity = external;
        SimHeap {
            state: Arc::new(Mutex::new(s)),
        }
    }

    /// Makes every allocation in `region` fail (or stop failing).
    pub fn fail_region(&self, region: Region, fail: bool) {
        self.lock().region(region).fail = fail;
    }

    /// Makes the `n`th allocation from now (1 = the next one) fail, in any region.
    pub fn fail_nth(&self, n: u64) {
        let mut s = self.lock();
        s.fail_nth = Some(s.allocations + n);
    }

    /// Clears all injected faults.
    pub fn clear_faults(&self) {
        let mut s = self.lock();
        s.fail_nth = None;
        s.internal.fail = false;
        s.external.fail = false;
    }

    /// Allocations attempted so far (successful or not): the numbering `fail_nth` uses.
    pub fn allocations(&self) -> u64 {
        self.lock().allocations
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the counters inconsistent in a way
        // that matters more than losing the heap, so recover the guard.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A block from the [`SimHeap`]; returns its bytes to the region on drop.
#[derive(Debug)]
pub struct SimBlock {
    data: Box<[u8]>,
    region: Region,
    heap: Arc<Mutex<State>>,
}

impl SimBlock {
    /// Region the block lives in.
    pub fn region(&self) -> Region {
        self.region
    }
}

impl AsRef<[u8]> for SimBlock {
    fn as_ref(&self) -> &[u8] {
        &self.data
    }
}

impl AsMut<[u8]> for SimBlock {
    fn as_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }
}

impl Drop for SimBlock {
    fn drop(&mut self) {
        let mut s = self.heap.lock().unwrap_or_else(|e| e.into_inner());
        let r = s.region(self.region);
        r.used -= self.data.len();
    }
}

impl MemoryRegions for SimHeap {
    type Block = SimBlock;

    fn alloc_in(&self, region: Region, size: usize) -> Result<SimBlock, RegionError> {
        // Account first (budget, faults, counters), then hold the real bytes; the block
        // returns them to the region on its drop.
        self.account(region, size)?;
        Ok(SimBlock {
            data: std::vec![0u8; size].into_boxed_slice(),
            region,
            heap: self.state.clone(),
        })
    }

    fn stats(&self, region: Region) -> RegionStats {
        let mut s = self.lock();
        let r = s.region(region);
        RegionStats {
            capacity: r.capacity,
            used: r.used,
            peak: r.peak,
            free: r.capacity - r.used,
            failures: r.failures,
        }
    }
}

/// Bytes charged to a region without holding real memory: for state that lives
/// elsewhere on the host (a task's future) but would take this much on the device.
/// Returns the bytes on drop.
#[derive(Debug)]
pub struct SimCharge {
    bytes: usize,
    region: Region,
    heap: Arc<Mutex<State>>,
}

impl Drop for SimCharge {
    fn drop(&mut self) {
        let mut s = self.heap.lock().unwrap_or_else(|e| e.into_inner());
        s.region(self.region).used -= self.bytes;
    }
}

impl SimHeap {
    /// Charges `size` bytes to `region` under the same rules (budget, faults, counters)
    /// as [`MemoryRegions::alloc_in`], without allocating them on the host.
    pub fn charge(&self, region: Region, size: usize) -> Result<SimCharge, RegionError> {
        self.account(region, size)?;
        Ok(SimCharge {
            bytes: size,
            region,
            heap: self.state.clone(),
        })
    }

    /// Applies the budget, the injected faults and the counters to one allocation.
    fn account(&self, region: Region, size: usize) -> Result<(), RegionError> {
        let mut s = self.lock();
        s.allocations += 1;
        let nth_hit = s.fail_nth == Some(s.allocations);
        let r = s.region(region);
        let err = if r.capacity == 0 {
            Some(RegionError::Absent)
        } else if r.fail || nth_hit {
            Some(RegionError::Injected)
        } else if r.capacity - r.used < size {
            Some(RegionError::Exhausted)
        } else {
            None
        };
        if let Some(e) = err {
            r.failures += 1;
            return Err(e);
        }
        r.used += size;
        r.peak = r.peak.max(r.used);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{place, Placement};
    use super::*;

    #[test]
    fn prefer_external_falls_back_when_absent() {
        let heap = SimHeap::new(10_000, 0);
        let p = place(&heap, Placement::PreferExternal, 4096).unwrap();
        assert_eq!(p.region, Region::Internal);
        assert!(p.fell_back);
        assert_eq!(heap.stats(Region::Internal).used, 4096);
        drop(p);
        assert_eq!(heap.stats(Region::Internal).used, 0);
        assert_eq!(heap.stats(Region::Internal).peak, 4096);
    }

    #[test]
    fn external_full_mid_way_then_both_full() {
        let heap = SimHeap::new(5000, 5000);
        let a = place(&heap, Placement::PreferExternal, 4096).unwrap();
        assert_eq!((a.region, a.fell_back), (Region::External, false));
        let b = place(&heap, Placement::PreferExternal, 4096).unwrap();
        assert_eq!((b.region, b.fell_back), (Region::Internal, true));
        let c = place(&heap, Placement::PreferExternal, 4096).unwrap_err();
        assert_eq!(c.last, RegionError::Exhausted);
        assert_eq!(heap.stats(Region::External).failures, 2);
    }

    #[test]
    fn injected_faults() {
        let heap = SimHeap::new(100_000, 100_000);
        heap.fail_region(Region::External, true);
        let p = place(&heap, Placement::PreferExternal, 10).unwrap();
        assert_eq!(p.region, Region::Internal);
        heap.clear_faults();
        heap.fail_nth(2);
        assert!(place(&heap, Placement::Internal, 10).is_ok());
        assert_eq!(
            place(&heap, Placement::Internal, 10).unwrap_err().last,
            RegionError::Injected
        );
        assert!(place(&heap, Placement::Internal, 10).is_ok());
    }
}
