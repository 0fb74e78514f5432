//! permessage-deflate's codec (feature `deflate`): one connection's compressor and
//! decompressor over blocks placed like the client's other buffers.
//!
//! Memory, per connection with compression agreed (measured by `memory_per_direction`
//! in this module's tests):
//! - receive: the server's window, `1 << server_max_window_bits` bytes (placed, block
//!   `"inflate_window"`), plus the decompressor's fixed state, [`INFLATE_STATE_BYTES`]
//!   (global allocator, block `"inflate_state"`, region `null`);
//! - send: the hash table, [`crate::compression::Plan::hash_bytes`] (placed, block
//!   `"deflate_hash"`), plus a few words of encoder state. No window by default: the
//!   compressor reads the message being sent and keeps nothing between messages; with
//!   client context takeover, a history window of `1 << client bits` bytes (placed,
//!   block `"deflate_window"`).

mod encode;
pub(crate) mod inflate;

use portico::placement::{MemoryRegions, OutOfMemory, Placed};

use crate::buffers::{Buffers, MemoryBlock};
use crate::compression::{Agreed, Plan};

pub use encode::Encoder;
pub use inflate::{Inflater, Step, TAIL};

/// Bytes of the decompressor's fixed state (`miniz_oxide`'s tables), outside the cap.
pub const INFLATE_STATE_BYTES: usize = inflate::STATE_BYTES;

/// The compression state of one connection.
pub struct Codec<B> {
    window: Placed<B>,
    hash: Placed<B>,
    /// With client context takeover: the end of what we compressed, and how much of it.
    history: Option<(Placed<B>, usize)>,
    inflater: Inflater,
    encoder: Encoder,
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> Codec<B> {
    /// Places the blocks for `agreed` terms within `plan`'s sizes.
    pub fn new<M: MemoryRegions<Block = B>>(
        buffers: &Buffers<M>,
        plan: Plan,
        agreed: Agreed,
    ) -> Result<Self, OutOfMemory> {
        // The negotiation refused windows over the plan's, so this is at most the cap.
        let window = buffers.place(1 << agreed.server_window_bits.min(plan.server_window_bits))?;
        let hash = buffers.place(plan.hash_bytes)?;
        // Our history window: the smaller of what we planned and what the server allows,
        // and none if the server asked us not to keep context.
        let client_bits = match plan.client_window_bits {
            Some(b) if !agreed.client_no_context_takeover => Some(b.min(agreed.client_window_bits)),
            _ => None,
        };
        let history = match client_bits {
            Some(b) => Some((buffers.place(1 << b)?, 0)),
            None => None,
        };
        Ok(Codec {
            window,
            hash,
            history,
            inflater: Inflater::new(!agreed.server_no_context_takeover),
            encoder: Encoder::new(client_bits.unwrap_or(agreed.client_window_bits)),
        })
    }

    /// The blocks, for the memory report.
    pub fn report(&self, mut add: impl FnMut(MemoryBlock)) {
        add(MemoryBlock {
            block: "inflate_window",
            bytes: self.window.block.as_ref().len(),
            region: Some(self.window.region),
        });
        add(MemoryBlock {
            block: "inflate_state",
            bytes: INFLATE_STATE_BYTES,
            region: None,
        });
        add(MemoryBlock {
            block: "deflate_hash",
            bytes: self.hash.block.as_ref().len(),
            region: Some(self.hash.region),
        });
        if let Some((h, _)) = &self.history {
            add(MemoryBlock {
                block: "deflate_window",
                bytes: h.block.as_ref().len(),
                region: Some(h.region),
            });
        }
    }

    /// Starts decompressing a message.
    pub fn begin_inflate(&mut self) {
        self.inflater.begin_message();
    }

    /// Decompresses from `input`; the output is [`window`](Self::window)`[step.output]`.
    pub fn inflate(&mut self, input: &[u8]) -> Step {
        self.inflater.step(input, self.window.block.as_mut())
    }

    /// The decompressor's window (where [`inflate`](Self::inflate) puts its output).
    pub fn window(&self) -> &[u8] {
        self.window.block.as_ref()
    }

    /// Starts compressing a message.
    pub fn begin_deflate(&mut self) {
        self.encoder.begin();
    }

    /// Compresses more of `data` into `out`: (bytes written, message complete). Once
    /// complete, `data` joins the history (with client context takeover).
    pub fn deflate(&mut self, data: &[u8], out: &mut [u8]) -> (usize, bool) {
        let history = match &self.history {
            Some((h, used)) => &h.block.as_ref()[..*used],
            None => &[][..],
        };
        let (n, done) = self
            .encoder
            .fill(data, history, self.hash.block.as_mut(), out);
        if done {
            if let Some((h, used)) = &mut self.history {
                *used = remember(h.block.as_mut(), *used, data);
            }
        }
        (n, done)
    }
}

/// Appends `data` to the `used` bytes of history in `h`, keeping the last `h.len()`;
/// returns the new length.
fn remember(h: &mut [u8], used: usize, data: &[u8]) -> usize {
    let w = h.len();
    if data.len() >= w {
        h.copy_from_slice(&data[data.len() - w..]);
        return w;
    }
    let keep = used.min(w - data.len());
    h.copy_within(used - keep..used, 0);
    h[keep..keep + data.len()].copy_from_slice(data);
    keep + data.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compression::{Compression, CompressionMode};
    use crate::BufferSizes;
    use portico::placement::sim::SimHeap;
    use portico::placement::Placement;

    #[test]
    fn memory_per_direction() {
        let heap = SimHeap::new(1 << 20, 0);
        let buffers = Buffers::allocate(
            &heap,
            Placement::PreferInternal,
            BufferSizes::const_default(),
        )
        .unwrap();
        let base = heap.stats(portico::placement::Region::Internal).used;
        let cap = Compression {
            mode: CompressionMode::Prefer,
            max_memory: 4096,
            ..Compression::const_default()
        };
        let plan = cap.plan().unwrap();
        let agreed = Agreed {
            server_window_bits: plan.server_window_bits,
            client_window_bits: 15,
            server_no_context_takeover: false,
            client_no_context_takeover: false,
        };
        let codec = Codec::new(&buffers, plan, agreed).unwrap();
        let placed = heap.stats(portico::placement::Region::Internal).used - base;
        let mut blocks = alloc::vec::Vec::new();
        codec.report(|b| blocks.push(b));
        let reported: usize = blocks
            .iter()
            .filter(|b| b.region.is_some())
            .map(|b| b.bytes)
            .sum();
        assert_eq!(placed, reported);
        assert!(placed <= 4096, "{placed}");
        // The fixed state is what it is; this documents its size (see the README).
        const { assert!(INFLATE_STATE_BYTES > 8 * 1024 && INFLATE_STATE_BYTES < 16 * 1024) };
        std::println!("inflate state {INFLATE_STATE_BYTES} B, placed {placed} B: {blocks:?}");
    }
}
