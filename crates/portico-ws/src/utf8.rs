//! Incremental UTF-8 validation for text messages that arrive in pieces.
//!
//! A text message may be split across frames and across reads at any byte, including in
//! the middle of a code point. Autobahn's 6.x cases require failing *fast*: the
//! connection is closed with 1007 as soon as a byte makes the text invalid, not when the
//! message ends. `core::str::from_utf8` tells "invalid" (`error_len() == Some`) apart
//! from "cut short" (`None`), so at most three trailing bytes are carried over.

/// The text so far is not UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidUtf8;

impl core::fmt::Display for InvalidUtf8 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("invalid UTF-8 in text message")
    }
}

impl core::error::Error for InvalidUtf8 {}

/// Validates a byte stream chunk by chunk.
#[derive(Debug, Clone, Copy, Default)]
pub struct Utf8Validator {
    pending: [u8; 4],
    len: u8,
}

impl Utf8Validator {
    /// A validator at the start of a message.
    pub const fn new() -> Self {
        Utf8Validator {
            pending: [0; 4],
            len: 0,
        }
    }

    /// Feeds the next chunk; errors as soon as the stream cannot be valid UTF-8.
    pub fn feed(&mut self, mut chunk: &[u8]) -> Result<(), InvalidUtf8> {
        // Finish a code point left incomplete by the previous chunk, byte by byte.
        while self.len > 0 {
            let Some((&b, rest)) = chunk.split_first() else {
                return Ok(());
            };
            self.pending[self.len as usize] = b;
            self.len += 1;
            chunk = rest;
            match core::str::from_utf8(&self.pending[..self.len as usize]) {
                Ok(_) => self.len = 0,
                Err(e) if e.error_len().is_some() => return Err(InvalidUtf8),
                Err(_) if self.len == 4 => return Err(InvalidUtf8),
                Err(_) => {}
            }
        }
        match core::str::from_utf8(chunk) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_some() => Err(InvalidUtf8),
            Err(e) => {
                let tail = &chunk[e.valid_up_to()..];
                self.pending[..tail.len()].copy_from_slice(tail);
                self.len = tail.len() as u8;
                Ok(())
            }
        }
    }

    /// Ends the message: valid only if no code point was left cut short.
    pub fn finish(&mut self) -> Result<(), InvalidUtf8> {
        let ok = self.len == 0;
        self.len = 0;
        if ok {
            Ok(())
        } else {
            Err(InvalidUtf8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_everywhere(bytes: &[u8]) -> bool {
        let whole = core::str::from_utf8(bytes).is_ok();
        for cut1 in 0..=bytes.len() {
            for cut2 in cut1..=bytes.len() {
                let mut v = Utf8Validator::new();
                let ok = v.feed(&bytes[..cut1]).is_ok()
                    && v.feed(&bytes[cut1..cut2]).is_ok()
                    && v.feed(&bytes[cut2..]).is_ok()
                    && v.finish().is_ok();
                assert_eq!(ok, whole, "{bytes:x?} cut at {cut1},{cut2}");
            }
        }
        whole
    }

    #[test]
    fn agrees_with_core_at_every_split() {
        assert!(split_everywhere("κόσμε".as_bytes()));
        assert!(split_everywhere("a€𝄞b".as_bytes()));
        assert!(!split_everywhere(&[
            0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80,
            0x65, 0x64, 0x69, 0x74, 0x65, 0x64
        ]));
        assert!(!split_everywhere(&[0xf4, 0x90, 0x80, 0x80]));
        assert!(!split_everywhere(&[0xe0, 0x80]));
    }

    #[test]
    fn fails_fast_before_the_message_ends() {
        // 0xF4 0x90 can never start a valid code point: reject at the second byte.
        let mut v = Utf8Validator::new();
        assert!(v.feed(&[b'a', 0xf4]).is_ok());
        assert_eq!(v.feed(&[0x90]), Err(InvalidUtf8));
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(&[0xff]), Err(InvalidUtf8));
    }

    #[test]
    fn truncated_at_end_is_invalid() {
        let mut v = Utf8Validator::new();
        assert!(v.feed(&[0xe2, 0x82]).is_ok());
        assert_eq!(v.finish(), Err(InvalidUtf8));
    }
}
