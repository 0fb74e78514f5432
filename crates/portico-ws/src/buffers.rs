//! The client's memory: every block it owns is placed through `portico::placement` and
//! listed in a [`MemoryBlock`] report.
//!
//! Why placement matters: the ESP-IDF client keeps its buffers in internal SRAM, which
//! Wi-Fi, DMA and TLS need, and its PSRAM option fails outright when PSRAM is short.
//! Here each block follows a [`Placement`] (`PreferExternal` by default) and falls back
//! to the other region; the report says where each block landed.

use portico::placement::{place, MemoryRegions, OutOfMemory, Placed, Placement, Region};

/// Most blocks a client reports: `rx`, `tx`, `message` (and `task`); with
/// permessage-deflate (`deflate`) `inflate_window`, `inflate_state`, `deflate_hash` and
/// `deflate_window`; with device TLS (`embassy-tls`) the session's blocks. Sized by the
/// features built in (flash and RAM: the report is copied into `/api/link`'s snapshot).
pub const MAX_BLOCKS: usize = 4
    + if cfg!(feature = "deflate") { 4 } else { 0 }
    + if cfg!(feature = "embassy-tls") { 4 } else { 0 };

/// A memory report: each block held, with its size and region.
pub type MemoryReport = heapless::Vec<MemoryBlock, MAX_BLOCKS>;

/// One entry of a memory report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct MemoryBlock {
    /// What the block holds: `"rx"`, `"tx"`, `"message"`, `"task"`; with
    /// permessage-deflate `"inflate_window"`, `"inflate_state"`, `"deflate_hash"`,
    /// `"deflate_window"`; a TLS session's `"tls_rx"`, `"tls_tx"`, `"tls_session"`.
    pub block: &'static str,
    /// Its size in bytes.
    pub bytes: usize,
    /// Where it lives; `None` for memory not placed by policy: the executor's (a host
    /// task's future) or the global allocator's (the decompressor's fixed state).
    pub region: Option<Region>,
}

/// Sizes of the blocks a connection needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferSizes {
    /// Receive buffer: bytes read from the socket before they are decoded.
    pub rx: usize,
    /// Send buffer: one whole frame (header + masked payload) is built here, so that it
    /// goes out in one write. Larger messages are split into frames of this size.
    pub tx: usize,
    /// Reassembly buffer allocated up front; it grows (through placement) as far as
    /// `max_message` and shrinks back after a large message.
    pub message_initial: usize,
    /// Largest message reassembled; a larger one is refused with close code 1009.
    pub max_message: usize,
}

impl BufferSizes {
    /// Smallest receive and send buffers: a 14-byte header plus a 125-byte control frame
    /// must fit whole.
    pub const MIN: usize = 256;

    /// 4 KiB receive and send buffers, 1 KiB initial reassembly, 64 KiB messages.
    pub const fn const_default() -> Self {
        BufferSizes {
            rx: 4096,
            tx: 4096,
            message_initial: 1024,
            max_message: 64 * 1024,
        }
    }
}

impl Default for BufferSizes {
    fn default() -> Self {
        Self::const_default()
    }
}

/// The blocks of one client, with the allocator they return to.
pub struct Buffers<M: MemoryRegions> {
    mem: M,
    placement: Placement,
    pub(crate) rx: Placed<M::Block>,
    pub(crate) tx: Placed<M::Block>,
    pub(crate) message: Option<Placed<M::Block>>,
    initial: usize,
    pub(crate) max_message: usize,
}

impl<M: MemoryRegions> core::fmt::Debug for Buffers<M> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Buffers")
            .field("placement", &self.placement)
            .field("report", &self.report())
            .finish()
    }
}

/// What it takes to place the same blocks again: the driver frees them while the link is
/// down and places them anew for the next connection.
#[derive(Debug, Clone)]
pub struct BufferSpec<M> {
    mem: M,
    placement: Placement,
    sizes: BufferSizes,
}

impl<M: MemoryRegions + Clone> BufferSpec<M> {
    /// Places a fresh set.
    pub fn allocate(&self) -> Result<Buffers<M>, OutOfMemory> {
        Buffers::allocate(self.mem.clone(), self.placement, self.sizes)
    }
}

impl<M: MemoryRegions + Clone> Buffers<M> {
    /// How to place these blocks again once they are freed.
    pub fn spec(&self) -> BufferSpec<M> {
        BufferSpec {
            mem: self.mem.clone(),
            placement: self.placement,
            sizes: BufferSizes {
                rx: self.rx.block.as_ref().len(),
                tx: self.tx.block.as_ref().len(),
                message_initial: self.initial,
                max_message: self.max_message,
            },
        }
    }
}

impl<M: MemoryRegions> Buffers<M> {
    /// Allocates the receive, send and initial reassembly blocks.
    pub fn allocate(mem: M, placement: Placement, sizes: BufferSizes) -> Result<Self, OutOfMemory> {
        let rx = place(&mem, placement, sizes.rx.max(BufferSizes::MIN))?;
        let tx = place(&mem, placement, sizes.tx.max(BufferSizes::MIN))?;
        let initial = sizes.message_initial.min(sizes.max_message);
        let message = if initial > 0 {
            Some(place(&mem, placement, initial)?)
        } else {
            None
        };
        Ok(Buffers {
            mem,
            placement,
            rx,
            tx,
            message,
            initial,
            max_message: sizes.max_message,
        })
    }

    /// The placement policy every block follows.
    pub fn placement(&self) -> Placement {
        self.placement
    }

    /// Places another block of the client's (the compression blocks) by the same policy.
    #[cfg(feature = "deflate")]
    pub(crate) fn place(&self, size: usize) -> Result<Placed<M::Block>, OutOfMemory> {
        place(&self.mem, self.placement, size)
    }

    /// Where every block is, right now.
    pub fn report(&self) -> MemoryReport {
        let mut v = heapless::Vec::new();
        let mut add = |block, p: &Placed<M::Block>| {
            let _ = v.push(MemoryBlock {
                block,
                bytes: p.block.as_ref().len(),
                region: Some(p.region),
            });
        };
        add("rx", &self.rx);
        add("tx", &self.tx);
        if let Some(m) = &self.message {
            add("message", m);
        }
        v
    }

    /// Total bytes held.
    pub fn total_bytes(&self) -> usize {
        self.report().iter().map(|b| b.bytes).sum()
    }

    /// Makes the reassembly block hold at least `needed` bytes, keeping the first `keep`.
    /// Grows geometrically so that a message arriving in many frames is copied O(n).
    pub(crate) fn grow_message(&mut self, keep: usize, needed: usize) -> Result<(), OutOfMemory> {
        let cur = self.message.as_ref().map_or(0, |m| m.block.as_ref().len());
        if cur >= needed {
            return Ok(());
        }
        let size = needed.max(cur * 2).min(self.max_message.max(needed));
        let mut new = place(&self.mem, self.placement, size)?;
        if let Some(old) = &self.message {
            new.block.as_mut()[..keep].copy_from_slice(&old.block.as_ref()[..keep]);
        }
        self.message = Some(new);
        Ok(())
    }

    /// Returns a grown reassembly block to its initial size, so that one large message
    /// does not pin its memory for the life of the connection.
    pub(crate) fn shrink_message(&mut self) {
        let cur = self.message.as_ref().map_or(0, |m| m.block.as_ref().len());
        if cur > self.initial {
            // Free first: the small block may fit only once the big one is gone. If it
            // then fails, the next message grows from nothing.
            self.message = None;
            if self.initial > 0 {
                self.message = place(&self.mem, self.placement, self.initial).ok();
            }
        }
    }
}
