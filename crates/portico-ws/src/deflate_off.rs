//! Without the `deflate` feature: a codec that cannot exist, so the connection's
//! compression paths compile to nothing and firmware carries no compression code.

use portico::placement::{MemoryRegions, OutOfMemory, RegionError};

use crate::buffers::{Buffers, MemoryBlock};
use crate::compression::{Agreed, Plan};

/// Never constructed: an offer is never made without the feature.
pub enum Codec<B> {
    #[doc(hidden)]
    _Never(core::convert::Infallible, core::marker::PhantomData<B>),
}

/// One decompression step (never produced here).
pub struct Step {
    /// Input bytes used.
    pub consumed: usize,
    /// Where the new output is in the window.
    pub output: core::ops::Range<usize>,
    /// More output is pending.
    pub more_output: bool,
    /// The data is invalid.
    pub failed: bool,
}

/// The `00 00 ff ff` a sender strips from each message (RFC 7692 §7.2.2).
pub const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

impl<B> Codec<B> {
    /// Always fails: nothing to place without the feature.
    pub fn new<M: MemoryRegions<Block = B>>(
        buffers: &Buffers<M>,
        _: Plan,
        _: Agreed,
    ) -> Result<Self, OutOfMemory> {
        Err(OutOfMemory {
            placement: buffers.placement(),
            size: 0,
            last: RegionError::Absent,
        })
    }

    fn never(&self) -> ! {
        match self {
            Codec::_Never(n, _) => match *n {},
        }
    }

    /// Unreachable.
    pub fn report(&self, _: impl FnMut(MemoryBlock)) {
        self.never()
    }

    /// Unreachable.
    pub fn begin_inflate(&mut self) {
        self.never()
    }

    /// Unreachable.
    pub fn inflate(&mut self, _: &[u8]) -> Step {
        self.never()
    }

    /// Unreachable.
    pub fn window(&self) -> &[u8] {
        self.never()
    }

    /// Unreachable.
    pub fn begin_deflate(&mut self) {
        self.never()
    }

    /// Unreachable.
    pub fn deflate(&mut self, _: &[u8], _: &mut [u8]) -> (usize, bool) {
        self.never()
    }
}
