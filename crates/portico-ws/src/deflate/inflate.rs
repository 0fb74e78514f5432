//! Decompression of incoming messages with `miniz_oxide`'s core inflater over a ring the
//! size of the server's agreed window.
//!
//! Why a ring and not `miniz_oxide`'s streaming `InflateState`: that one carries its own
//! 32 KiB dictionary whatever window was agreed. The core decompressor writes into any
//! power-of-two buffer used as a ring, and a raw DEFLATE stream never reaches further
//! back than its window, so a server held to `server_max_window_bits = N` needs exactly
//! `1 << N` bytes here. The decompressor's own state (Huffman tables, about 11 KB) is a
//! fixed cost on top, boxed from the global allocator: it is a struct, not bytes, and
//! cannot live in a placed block without `unsafe`.

use alloc::boxed::Box;
use core::ops::Range;

use miniz_oxide::inflate::core::{decompress, inflate_flags, DecompressorOxide};
use miniz_oxide::inflate::TINFLStatus;

/// Bytes the decompressor's fixed state takes (outside the placed window).
pub const STATE_BYTES: usize = core::mem::size_of::<DecompressorOxide>();

/// The `00 00 ff ff` a sender strips from each message (RFC 7692 §7.2.2).
pub const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// One step's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Input bytes used.
    pub consumed: usize,
    /// Where the new output is in the window.
    pub output: Range<usize>,
    /// More output is pending for the same input (call again, possibly with no input).
    pub more_output: bool,
    /// The data is invalid. `output` still holds what was decoded before the fault, so
    /// that the caller checks those bytes first: its verdict then does not depend on how
    /// the input was split.
    pub failed: bool,
}

/// The decompressor of one connection.
pub struct Inflater {
    state: Box<DecompressorOxide>,
    pos: usize,
    takeover: bool,
    ended: bool,
}

impl core::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Inflater")
            .field("pos", &self.pos)
            .field("takeover", &self.takeover)
            .finish()
    }
}

impl Inflater {
    /// A decompressor; `takeover` unless the server agreed to `server_no_context_takeover`.
    pub fn new(takeover: bool) -> Self {
        Inflater {
            state: Box::default(),
            pos: 0,
            takeover,
            ended: false,
        }
    }

    /// Prepares for the next message: a fresh stream unless the server keeps context.
    pub fn begin_message(&mut self) {
        if !self.takeover || self.ended {
            self.state.init();
            self.ended = false;
        }
        if !self.takeover {
            self.pos = 0;
        }
    }

    /// Decompresses from `input` into `window` (the same power-of-two block every call).
    /// Invalid data is reported in [`Step::failed`], after the output decoded before it.
    pub fn step(&mut self, input: &[u8], window: &mut [u8]) -> Step {
        if self.ended {
            // A final block ended the stream; what follows in this message (the tail we
            // append, or a sender's padding) carries nothing.
            return Step {
                consumed: input.len(),
                output: 0..0,
                more_output: false,
                failed: false,
            };
        }
        let flags = inflate_flags::TINFL_FLAG_HAS_MORE_INPUT;
        let (status, consumed, written) =
            decompress(&mut self.state, input, window, self.pos, flags);
        let start = self.pos;
        self.pos = (self.pos + written) & (window.len() - 1);
        let (more_output, failed) = match status {
            TINFLStatus::HasMoreOutput => (true, false),
            TINFLStatus::NeedsMoreInput => (false, false),
            TINFLStatus::Done => {
                self.ended = true;
                (false, false)
            }
            _ => (false, true),
        };
        Step {
            consumed,
            output: start..start + written,
            more_output,
            failed,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// Inflates one message (tail appended) through a `1 << bits` ring, input fed a
    /// byte at a time.
    pub(crate) fn inflate_in_window(data: &[u8], bits: u8) -> Vec<u8> {
        let mut inf = Inflater::new(false);
        let mut window = alloc::vec![0u8; 1 << bits];
        inflate_message(&mut inf, &mut window, data)
    }

    fn inflate_message(inf: &mut Inflater, window: &mut [u8], data: &[u8]) -> Vec<u8> {
        inf.begin_message();
        let mut out = Vec::new();
        let mut input = data.to_vec();
        input.extend_from_slice(&TAIL);
        let mut at = 0;
        loop {
            let end = (at + 1).min(input.len());
            let s = inf.step(&input[at..end], window);
            assert!(!s.failed);
            out.extend_from_slice(&window[s.output.clone()]);
            at += s.consumed;
            if at == input.len() && !s.more_output {
                return out;
            }
        }
    }

    #[test]
    fn rfc_7692_examples() {
        // §7.2.3.1 and §7.2.3.2: "Hello" compressed; the second with context takeover
        // refers back into the first.
        let mut inf = Inflater::new(true);
        let mut window = [0u8; 512];
        let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        assert_eq!(inflate_message(&mut inf, &mut window, &hello), b"Hello");
        assert_eq!(
            inflate_message(&mut inf, &mut window, &[0xf2, 0x00, 0x11, 0x00, 0x00]),
            b"Hello"
        );
        // §7.2.3.3: an uncompressed (stored) block; §7.2.3.4: a final block, after which
        // the appended tail is ignored and the next message starts a new stream.
        let mut inf = Inflater::new(false);
        let stored = [
            0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
        ];
        assert_eq!(inflate_message(&mut inf, &mut window, &stored), b"Hello");
        let final_block = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
        assert_eq!(
            inflate_message(&mut inf, &mut window, &final_block),
            b"Hello"
        );
        assert_eq!(inflate_message(&mut inf, &mut window, &hello), b"Hello");
        // §7.2.3.6: an empty message is a single 00 byte.
        assert_eq!(inflate_message(&mut inf, &mut window, &[0x00]), b"");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut inf = Inflater::new(false);
        let mut window = [0u8; 512];
        inf.begin_message();
        // BTYPE = 11 is reserved.
        assert!(inf.step(&[0xff, 0xff], &mut window).failed);
    }
}
