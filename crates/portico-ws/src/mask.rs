//! Client masking (RFC 6455 §5.3): XOR with a 4-byte key drawn fresh for every frame.
//!
//! The key must be unpredictable to the application (it defends proxies against cache
//! poisoning), so it comes from a caller-supplied [`MaskRng`]: the device passes its
//! hardware RNG; on `std`, [`OsRng`] reads `getrandom`.

/// A source of masking keys and handshake nonces.
pub trait MaskRng {
    /// Fills `dst` with unpredictable bytes.
    fn fill(&mut self, dst: &mut [u8]);

    /// A fresh masking key.
    fn mask(&mut self) -> [u8; 4] {
        let mut m = [0u8; 4];
        self.fill(&mut m);
        m
    }
}

impl<R: MaskRng + ?Sized> MaskRng for &mut R {
    fn fill(&mut self, dst: &mut [u8]) {
        (**self).fill(dst)
    }
}

/// The operating system's RNG (`getrandom`).
#[cfg(feature = "std")]
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRng;

#[cfg(feature = "std")]
impl MaskRng for OsRng {
    fn fill(&mut self, dst: &mut [u8]) {
        // The OS RNG does not fail on the platforms std supports once the process runs;
        // if it ever did, a constant-time fallback is worse than a loud stop would be, but
        // panicking inside the client task is forbidden, so mix in the address entropy.
        if getrandom::fill(dst).is_err() {
            let seed = dst.as_ptr() as usize as u64 ^ 0x9E37_79B9_7F4A_7C15;
            let mut x = XorShift(seed | 1);
            x.fill(dst);
        }
    }
}

/// A tiny xorshift generator: deterministic, for tests and jitter, not for masks that
/// must be unpredictable.
#[derive(Debug, Clone, Copy)]
pub struct XorShift(pub u64);

impl XorShift {
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0.max(1);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

impl MaskRng for XorShift {
    fn fill(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

/// XORs `buf` with `mask`, as if `buf` started `offset` bytes into the payload.
///
/// Works eight bytes at a time: masking is on the path of every byte sent and every
/// masked byte received, and the byte loop is several times slower on 16 KB messages.
pub fn apply_mask(buf: &mut [u8], mask: [u8; 4], offset: usize) {
    let mut key = [0u8; 8];
    for (i, k) in key.iter_mut().enumerate() {
        *k = mask[(offset + i) % 4];
    }
    let wide = u64::from_ne_bytes(key);
    let mut chunks = buf.chunks_exact_mut(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        c.copy_from_slice(&(u64::from_ne_bytes(w) ^ wide).to_ne_bytes());
    }
    // Whole 8-byte chunks keep the key phase, so the tail starts at phase 0 of `key`.
    for (b, k) in chunks.into_remainder().iter_mut().zip(key.iter()) {
        *b ^= k;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_bytewise_masking_at_any_offset() {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        for offset in 0..5 {
            for len in 0..40 {
                let src: [u8; 40] = core::array::from_fn(|i| (i * 7) as u8);
                let mut fast = src;
                apply_mask(&mut fast[..len], mask, offset);
                for i in 0..len {
                    assert_eq!(
                        fast[i],
                        src[i] ^ mask[(offset + i) % 4],
                        "off {offset} len {len}"
                    );
                }
            }
        }
    }

    #[test]
    fn masks_differ_frame_to_frame() {
        let mut r = XorShift(42);
        assert_ne!(r.mask(), r.mask());
    }
}
