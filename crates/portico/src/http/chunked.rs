//! Decoder for `Transfer-Encoding: chunked` request bodies (RFC 9112 §7.1).
//!
//! Zero-copy and incremental: [`ChunkedDecoder::decode`] is handed whatever bytes have
//! arrived and says how many it consumed and which sub-range of them is body data. The
//! caller never needs a second buffer.

use core::fmt;
use core::ops::Range;

/// Longest chunk-size line (size, extensions) or trailer line we accept.
const MAX_LINE: u16 = 1024;

/// Why a chunked body was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkError {
    /// Not valid chunked framing (400).
    Malformed,
    /// The decoded body exceeds the configured limit (413).
    TooLarge,
}

impl fmt::Display for ChunkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChunkError::Malformed => "malformed chunked body",
            ChunkError::TooLarge => "chunked body too large",
        })
    }
}

impl core::error::Error for ChunkError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading hex digits of a chunk size.
    Size { digits: u8 },
    /// After the size: extensions up to CR.
    Ext,
    /// Expecting LF after the size line's CR.
    SizeLf,
    /// Inside chunk data.
    Data,
    /// Expecting CR after chunk data.
    DataCr,
    /// Expecting LF after chunk data.
    DataLf,
    /// At the start of a trailer line (or the final empty line).
    TrailerStart,
    /// Inside a trailer line.
    Trailer,
    /// Expecting LF after a trailer line's CR.
    TrailerLf { empty: bool },
    /// The body is complete.
    Done,
}

/// Incremental chunked-body decoder.
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: State,
    size: u64,
    remaining: u64,
    line: u16,
    total: u64,
    max_body: u64,
}

/// Result of one [`ChunkedDecoder::decode`] step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Bytes of the input consumed.
    pub consumed: usize,
    /// Body data within the input, if this step produced any.
    pub data: Option<Range<usize>>,
}

impl ChunkedDecoder {
    /// A decoder that refuses bodies longer than `max_body` bytes.
    pub const fn new(max_body: u64) -> Self {
        ChunkedDecoder {
            state: State::Size { digits: 0 },
            size: 0,
            remaining: 0,
            line: 0,
            total: 0,
            max_body,
        }
    }

    /// Whether the terminating chunk and trailers have been consumed.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decoded body bytes so far.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Consumes framing from `input` until it produces one run of data, needs more
    /// input, or finishes.
    pub fn decode(&mut self, input: &[u8]) -> Result<Step, ChunkError> {
        let mut i = 0;
        while i < input.len() {
            let b = input[i];
            match self.state {
                State::Done => break,
                State::Data => {
                    let n = (input.len() - i).min(self.remaining as usize);
                    self.remaining -= n as u64;
                    if self.remaining == 0 {
                        self.state = State::DataCr;
                    }
                    return Ok(Step {
                        consumed: i + n,
                        data: Some(i..i + n),
                    });
                }
                State::Size { digits } => {
                    if let Some(v) = hex(b) {
                        if digits >= 16 {
                            return Err(ChunkError::Malformed);
                        }
                        self.size = (self.size << 4) | u64::from(v);
                        self.state = State::Size { digits: digits + 1 };
                    } else if digits == 0 {
                        return Err(ChunkError::Malformed);
                    } else if b == b'\r' {
                        self.state = State::SizeLf;
                    } else if b == b';' || b == b' ' || b == b'\t' {
                        self.line = digits.into();
                        self.state = State::Ext;
                    } else {
                        return Err(ChunkError::Malformed);
                    }
                }
                State::Ext => {
                    self.line += 1;
                    if self.line > MAX_LINE || b == b'\n' {
                        return Err(ChunkError::Malformed);
                    }
                    if b == b'\r' {
                        self.state = State::SizeLf;
                    }
                }
                State::SizeLf => {
                    if b != b'\n' {
                        return Err(ChunkError::Malformed);
                    }
                    self.total = self.total.saturating_add(self.size);
                    if self.total > self.max_body {
                        return Err(ChunkError::TooLarge);
                    }
                    if self.size == 0 {
                        self.state = State::TrailerStart;
                    } else {
                        self.remaining = self.size;
                        self.state = State::Data;
                    }
                    self.size = 0;
                }
                State::DataCr => {
                    if b != b'\r' {
                        return Err(ChunkError::Malformed);
                    }
                    self.state = State::DataLf;
                }
                State::DataLf => {
                    if b != b'\n' {
                        return Err(ChunkError::Malformed);
                    }
                    self.state = State::Size { digits: 0 };
                }
                State::TrailerStart => {
                    self.line = 0;
                    if b == b'\r' {
                        self.state = State::TrailerLf { empty: true };
                    } else if b == b'\n' {
                        return Err(ChunkError::Malformed);
                    } else {
                        self.state = State::Trailer;
                    }
                }
                State::Trailer => {
                    self.line += 1;
                    if self.line > MAX_LINE || b == b'\n' {
                        return Err(ChunkError::Malformed);
                    }
                    if b == b'\r' {
                        self.state = State::TrailerLf { empty: false };
                    }
                }
                State::TrailerLf { empty } => {
                    if b != b'\n' {
                        return Err(ChunkError::Malformed);
                    }
                    if empty {
                        self.state = State::Done;
                        return Ok(Step {
                            consumed: i + 1,
                            data: None,
                        });
                    }
                    self.state = State::TrailerStart;
                }
            }
            i += 1;
        }
        Ok(Step {
            consumed: i,
            data: None,
        })
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    /// Feeds `input` in pieces of `step` bytes; returns the body or the error.
    fn decode_all(input: &[u8], step: usize, max: u64) -> Result<(Vec<u8>, usize), ChunkError> {
        let mut d = ChunkedDecoder::new(max);
        let mut out = Vec::new();
        let mut pos = 0;
        let mut avail = step.min(input.len());
        while !d.is_done() {
            let s = d.decode(&input[pos..avail])?;
            if let Some(r) = s.data.clone() {
                out.extend_from_slice(&input[pos + r.start..pos + r.end]);
            }
            pos += s.consumed;
            if s.consumed == 0 || pos == avail {
                if avail == input.len() {
                    if d.is_done() {
                        break;
                    }
                    return Err(ChunkError::Malformed);
                }
                avail = (avail + step).min(input.len());
            }
        }
        Ok((out, pos))
    }

    #[test]
    fn golden() {
        let raw =
            b"4\r\nWiki\r\n6;ext=1\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\nX-T: y\r\n\r\nNEXT";
        for step in 1..raw.len() {
            let (body, used) = decode_all(raw, step, 1000).unwrap();
            assert_eq!(body, b"Wikipedia in \r\n\r\nchunks.");
            assert_eq!(&raw[used..], b"NEXT", "step {step}");
        }
    }

    #[test]
    fn rejects_bad_framing() {
        for bad in [
            &b"x\r\n"[..],
            b"4\nWiki\r\n0\r\n\r\n",
            b"4\r\nWikiX\r\n0\r\n\r\n",
            b"0\r\n\n",
            b"11111111111111111\r\n",
            b"\r\n",
        ] {
            assert_eq!(
                decode_all(bad, 64, 1 << 20).unwrap_err(),
                ChunkError::Malformed,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn enforces_limit() {
        assert_eq!(
            decode_all(b"10\r\n0123456789abcdef\r\n0\r\n\r\n", 64, 15).unwrap_err(),
            ChunkError::TooLarge
        );
    }

    proptest! {
        #[test]
        fn round_trip(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..300), 0..8), step in 1usize..64) {
            let mut raw = Vec::new();
            let mut want = Vec::new();
            for c in &chunks {
                raw.extend_from_slice(std::format!("{:x}\r\n", c.len()).as_bytes());
                raw.extend_from_slice(c);
                raw.extend_from_slice(b"\r\n");
                want.extend_from_slice(c);
            }
            raw.extend_from_slice(b"0\r\n\r\n");
            let (got, used) = decode_all(&raw, step, u64::MAX).unwrap();
            prop_assert_eq!(got, want);
            prop_assert_eq!(used, raw.len());
        }
    }
}
