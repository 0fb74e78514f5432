//! Where memory lives: internal SRAM or external PSRAM, decided by policy and reported.
//!
//! A device has two kinds of RAM. Internal SRAM is fast and is needed by Wi-Fi, DMA and
//! TLS; external PSRAM is large and slower. Every block Portico owns is placed through
//! [`place`], which tries the regions a [`Placement`] names in order, falls back when a
//! region is absent or full, and returns a [`Placed`] that records where the block went —
//! so the dashboard can say so, and tests can check it.
//!
//! The allocator itself is behind [`MemoryRegions`]: `esp-alloc` regions on the device, a
//! simulated two-region heap with budgets and fault injection on the host
//! ([`sim::SimHeap`], `std` only).

use core::fmt;

#[cfg(feature = "std")]
pub mod sim;

/// A physical memory region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Region {
    /// On-chip SRAM.
    Internal,
    /// External PSRAM.
    External,
}

impl Region {
    /// Lower-case name used in reports and JSON.
    pub const fn name(self) -> &'static str {
        match self {
            Region::Internal => "internal",
            Region::External => "external",
        }
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A placement policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    /// Internal only; fail if internal is full.
    Internal,
    /// External only; fail if external is absent or full.
    External,
    /// External first, internal when external is absent or full.
    PreferExternal,
    /// Internal first, external when internal is full.
    PreferInternal,
}

impl Placement {
    /// Regions to try, in order.
    pub const fn order(self) -> &'static [Region] {
        match self {
            Placement::Internal => &[Region::Internal],
            Placement::External => &[Region::External],
            Placement::PreferExternal => &[Region::External, Region::Internal],
            Placement::PreferInternal => &[Region::Internal, Region::External],
        }
    }

    /// Lower-case name used in reports and JSON.
    pub const fn name(self) -> &'static str {
        match self {
            Placement::Internal => "internal",
            Placement::External => "external",
            Placement::PreferExternal => "prefer_external",
            Placement::PreferInternal => "prefer_internal",
        }
    }
}

/// Why one region refused an allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionError {
    /// The region does not exist on this device (no PSRAM fitted or enabled).
    Absent,
    /// Not enough free memory in the region.
    Exhausted,
    /// A fault injected by a test.
    Injected,
}

impl fmt::Display for RegionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RegionError::Absent => "region absent",
            RegionError::Exhausted => "region exhausted",
            RegionError::Injected => "injected allocation failure",
        })
    }
}

impl core::error::Error for RegionError {}

/// No region named by the placement could supply the block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfMemory {
    /// The policy that was tried.
    pub placement: Placement,
    /// Bytes requested.
    pub size: usize,
    /// What the last region tried said.
    pub last: RegionError,
}

impl fmt::Display for OutOfMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "out of memory: {} bytes with placement {} ({})",
            self.size,
            self.placement.name(),
            self.last
        )
    }
}

impl core::error::Error for OutOfMemory {}

/// Usage counters of one region.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RegionStats {
    /// Bytes the region can hold (0 when absent).
    pub capacity: usize,
    /// Bytes in use.
    pub used: usize,
    /// Highest `used` seen.
    pub peak: usize,
    /// Bytes free.
    pub free: usize,
    /// Allocations refused.
    pub failures: u64,
}

/// A region-aware allocator of byte blocks. Blocks free themselves on drop.
pub trait MemoryRegions {
    /// An owned block of bytes; returning it to its region happens in its `Drop`.
    type Block: AsRef<[u8]> + AsMut<[u8]>;

    /// Allocates `size` zeroed bytes in exactly this region.
    fn alloc_in(&self, region: Region, size: usize) -> Result<Self::Block, RegionError>;

    /// Current counters of a region.
    fn stats(&self, region: Region) -> RegionStats;
}

impl<M: MemoryRegions> MemoryRegions for &M {
    type Block = M::Block;

    fn alloc_in(&self, region: Region, size: usize) -> Result<Self::Block, RegionError> {
        (**self).alloc_in(region, size)
    }

    fn stats(&self, region: Region) -> RegionStats {
        (**self).stats(region)
    }
}

/// A block together with where it landed.
#[derive(Debug)]
pub struct Placed<B> {
    /// The block.
    pub block: B,
    /// The region it is in.
    pub region: Region,
    /// Whether the policy's first choice refused it.
    pub fell_back: bool,
}

/// Allocates `size` bytes following `placement`, falling back in the policy's order.
pub fn place<M: MemoryRegions>(
    mem: &M,
    placement: Placement,
    size: usize,
) -> Result<Placed<M::Block>, OutOfMemory> {
    let mut last = RegionError::Absent;
    for (i, &region) in placement.order().iter().enumerate() {
        match mem.alloc_in(region, size) {
            Ok(block) => {
                return Ok(Placed {
                    block,
                    region,
                    fell_back: i > 0,
                })
            }
            Err(e) => last = e,
        }
    }
    Err(OutOfMemory {
        placement,
        size,
        last,
    })
}
