//! A small raw-DEFLATE (RFC 1951) compressor for outgoing messages: LZ77 over the
//! message itself with a one-slot hash table, fixed Huffman codes, and output that
//! resumes wherever the caller's buffer ran out.
//!
//! Why not `miniz_oxide`'s compressor: its state is over 200 KiB of boxed tables
//! (32 KiB window, 2×64 KiB hash chains, a 64 KiB symbol buffer), whatever window the
//! peer allows — no device can place that. This one holds only the hash table (a placed
//! block, sized from the memory cap) and, with client context takeover, the history
//! the caller keeps (another placed block); without it a message is compressed from its
//! own bytes, which the caller keeps until the last frame is out. Fixed codes cost some ratio against
//! dynamic ones (JSON shrinks to roughly 35–45 % instead of 25–30 %); they need no
//! symbol buffer, so the output can stream straight into the send buffer's frames.

/// Lengths 3..=258: base of each length code (257..=285) and its extra bits.
const LEN_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LEN_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
/// Distances 1..=32768: base of each distance code and its extra bits.
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];
const MIN_MATCH: usize = 3;
const MAX_MATCH: usize = 258;
/// Most bits one step writes (a length code with its extra bits, a distance code with
/// its extra bits: 8 + 5 + 5 + 13) plus up to 7 bits pending: always under 8 bytes.
const STEP_BYTES: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Header,
    Body,
    Trailer,
    Flush,
    Done,
}

/// The compressor of one message at a time. Its hash table is the caller's block.
#[derive(Debug)]
pub struct Encoder {
    window: usize,
    pos: usize,
    bits: u64,
    nbits: u32,
    phase: Phase,
}

impl Encoder {
    /// A compressor whose matches reach back at most `1 << window_bits` bytes.
    pub const fn new(window_bits: u8) -> Self {
        Encoder {
            window: 1 << window_bits,
            pos: 0,
            bits: 0,
            nbits: 0,
            phase: Phase::Done,
        }
    }

    /// Starts a new message.
    pub fn begin(&mut self) {
        self.pos = 0;
        self.bits = 0;
        self.nbits = 0;
        self.phase = Phase::Header;
    }

    /// Compresses more of `data` (the same slice on every call of one message) into
    /// `out`, using `table` (an even number of bytes, a power of two) as the hash table
    /// and `history` (the end of the earlier messages, unchanged during this one; empty
    /// without context takeover) as bytes it may refer back to.
    /// Returns the bytes written and whether the message is complete. The output is a
    /// non-final fixed-Huffman block followed by the header bits of an empty stored
    /// block, padded to a byte: exactly what a sync flush gives once its `00 00 ff ff`
    /// is removed (RFC 7692 §7.2.1). `out` must hold at least 8 bytes.
    pub fn fill(
        &mut self,
        data: &[u8],
        history: &[u8],
        table: &mut [u8],
        out: &mut [u8],
    ) -> (usize, bool) {
        let v = View { history, data };
        let mut w = BitOut {
            out,
            at: 0,
            bits: &mut self.bits,
            nbits: &mut self.nbits,
        };
        let slots = table.len() / 2;
        let hash_shift = 32 - slots.trailing_zeros();
        loop {
            if w.out.len() - w.at < STEP_BYTES && self.phase != Phase::Done {
                return (w.at, false);
            }
            match self.phase {
                // BFINAL = 0, BTYPE = 01 (fixed Huffman codes).
                Phase::Header => {
                    w.put(0b010, 3);
                    // Positions count through the history, then the message. Index the
                    // history under them (its old slots are stale; see `longest_match`).
                    let start = history.len().saturating_sub(self.window);
                    for p in start..history.len() {
                        if p + MIN_MATCH <= v.len() {
                            set(table, v.hash(p, hash_shift), p as u16);
                        }
                    }
                    self.pos = history.len();
                    self.phase = Phase::Body;
                }
                Phase::Body => {
                    if self.pos >= v.len() {
                        self.phase = Phase::Trailer;
                        continue;
                    }
                    let (len, dist) = longest_match(&v, self.pos, table, hash_shift, self.window);
                    if len >= MIN_MATCH {
                        put_match(&mut w, len, dist);
                        // Index the positions inside the match too: later repeats of
                        // them are found without a chain.
                        for p in self.pos + 1..self.pos + len {
                            if p + MIN_MATCH <= v.len() {
                                set(table, v.hash(p, hash_shift), p as u16);
                            }
                        }
                        self.pos += len;
                    } else {
                        put_literal(&mut w, u16::from(v.at(self.pos)));
                        self.pos += 1;
                    }
                }
                Phase::Trailer => {
                    put_literal(&mut w, 256); // end of block
                    w.put(0, 3); // BFINAL = 0, BTYPE = 00: the stored block's header
                    let pad = (8 - *w.nbits % 8) % 8;
                    w.put(0, pad);
                    self.phase = Phase::Flush;
                }
                Phase::Flush => {
                    w.drain();
                    self.phase = Phase::Done;
                }
                Phase::Done => return (w.at, true),
            }
        }
    }
}

/// The history followed by the message, as one stream of positions.
struct View<'a> {
    history: &'a [u8],
    data: &'a [u8],
}

impl View<'_> {
    fn len(&self) -> usize {
        self.history.len() + self.data.len()
    }

    fn at(&self, i: usize) -> u8 {
        match i.checked_sub(self.history.len()) {
            Some(d) => self.data[d],
            None => self.history[i],
        }
    }

    fn hash(&self, p: usize, shift: u32) -> usize {
        let v = u32::from(self.at(p))
            | u32::from(self.at(p + 1)) << 8
            | u32::from(self.at(p + 2)) << 16;
        (v.wrapping_mul(0x9E37_79B1) >> shift) as usize
    }
}

fn get(table: &[u8], slot: usize) -> u16 {
    u16::from_le_bytes([table[2 * slot], table[2 * slot + 1]])
}

fn set(table: &mut [u8], slot: usize, pos: u16) {
    table[2 * slot..2 * slot + 2].copy_from_slice(&pos.to_le_bytes());
}

/// The match at `pos` through the hash table (and records `pos` in it). The table keeps
/// only the low 16 bits of a position, and stale slots from earlier messages are never
/// cleared: a candidate is used only after its bytes are compared, so a wrong guess
/// costs a comparison, never a wrong output.
fn longest_match(
    v: &View<'_>,
    pos: usize,
    table: &mut [u8],
    shift: u32,
    window: usize,
) -> (usize, usize) {
    if pos + MIN_MATCH > v.len() {
        return (0, 0);
    }
    let slot = v.hash(pos, shift);
    let stored = get(table, slot);
    set(table, slot, pos as u16);
    let dist = (pos as u16).wrapping_sub(stored) as usize;
    if dist == 0 || dist > pos || dist > window {
        return (0, 0);
    }
    let max = (v.len() - pos).min(MAX_MATCH);
    let len = if pos - dist >= v.history.len() {
        // Both inside the message: compare slices (the common case, and the fast one).
        let d = &v.data[pos - v.history.len() - dist..];
        let m = &v.data[pos - v.history.len()..][..max];
        d.iter().zip(m).take_while(|(a, b)| a == b).count()
    } else {
        (0..max)
            .take_while(|&i| v.at(pos - dist + i) == v.at(pos + i))
            .count()
    };
    (len, dist)
}

fn put_literal(w: &mut BitOut<'_>, sym: u16) {
    let (code, len) = match sym {
        0..=143 => (0x30 + sym, 8),
        144..=255 => (0x190 + sym - 144, 9),
        256..=279 => (sym - 256, 7),
        _ => (0xC0 + sym - 280, 8),
    };
    w.put(reverse(code, len), len);
}

fn put_match(w: &mut BitOut<'_>, len: usize, dist: usize) {
    let li = LEN_BASE.partition_point(|&b| usize::from(b) <= len) - 1;
    put_literal(w, 257 + li as u16);
    w.put(
        (len - usize::from(LEN_BASE[li])) as u16,
        u32::from(LEN_EXTRA[li]),
    );
    let di = DIST_BASE.partition_point(|&b| usize::from(b) <= dist) - 1;
    w.put(reverse(di as u16, 5), 5);
    w.put(
        (dist - usize::from(DIST_BASE[di])) as u16,
        u32::from(DIST_EXTRA[di]),
    );
}

/// Huffman codes go on the wire most significant bit first, inside an LSB-first stream.
fn reverse(code: u16, len: u32) -> u16 {
    code.reverse_bits() >> (16 - len)
}

struct BitOut<'a> {
    out: &'a mut [u8],
    at: usize,
    bits: &'a mut u64,
    nbits: &'a mut u32,
}

impl BitOut<'_> {
    fn put(&mut self, v: u16, n: u32) {
        *self.bits |= u64::from(v) << *self.nbits;
        *self.nbits += n;
        while *self.nbits >= 8 {
            self.out[self.at] = *self.bits as u8;
            self.at += 1;
            *self.bits >>= 8;
            *self.nbits -= 8;
        }
    }

    fn drain(&mut self) {
        // The trailer padded to a byte, so `put` has already written everything.
        debug_assert_eq!(*self.nbits, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn compress(data: &[u8], window_bits: u8, table_bytes: usize, chunk: usize) -> Vec<u8> {
        let mut e = Encoder::new(window_bits);
        let mut table = alloc::vec![0u8; table_bytes];
        let mut out = Vec::new();
        e.begin();
        loop {
            let mut buf = alloc::vec![0u8; chunk];
            let (n, done) = e.fill(data, &[], &mut table, &mut buf);
            out.extend_from_slice(&buf[..n]);
            if done {
                return out;
            }
        }
    }

    /// Raw inflate with the RFC 7692 tail appended, as a receiver does, through a
    /// full 32 KiB window.
    fn inflate(data: &[u8]) -> Vec<u8> {
        crate::deflate::inflate::tests::inflate_in_window(data, 15)
    }

    #[test]
    fn rfc_7692_hello_uses_fixed_codes() {
        // §7.2.3.1: "Hello" is f2 48 cd c9 c9 07 00 with fixed codes, as here.
        assert_eq!(
            compress(b"Hello", 15, 256, 64),
            [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]
        );
    }

    #[test]
    fn round_trips_through_miniz_whatever_the_chunk() {
        let json = br#"{"version":"0.1.0","uptime_ms":123456,"config":{"max_sockets":24,"stack_sockets":32,"pool_buffers":10,"pool_chunk":4096}}"#.repeat(40);
        let mut rng = 0x1234_5678u32;
        let noise: Vec<u8> = (0..5000)
            .map(|_| {
                rng ^= rng << 13;
                rng ^= rng >> 17;
                rng ^= rng << 5;
                rng as u8
            })
            .collect();
        for data in [
            &json[..],
            &noise[..],
            b"",
            b"a",
            b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        ] {
            for chunk in [8, 13, 300, 1 << 16] {
                for (bits, table) in [(9, 256), (15, 8192)] {
                    let c = compress(data, bits, table, chunk);
                    assert_eq!(inflate(&c), data, "chunk {chunk} bits {bits}");
                }
            }
        }
        let c = compress(&json, 15, 2048, 4096);
        assert!(c.len() * 4 < json.len(), "{} of {}", c.len(), json.len());
    }

    #[test]
    fn distances_stay_inside_the_window() {
        // A 512-byte window: a repeat 1000 bytes back must not be referenced, so a
        // decoder holding only 512 bytes still gets it right.
        let mut data: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
        data.extend_from_slice(&data.clone()[..600]);
        let c = compress(&data, 9, 1024, 64);
        assert_eq!(
            crate::deflate::inflate::tests::inflate_in_window(&c, 9),
            data
        );
    }
}
