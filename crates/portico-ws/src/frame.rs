//! RFC 6455 §5.2 frame headers: a pure decoder that says how many more bytes it needs,
//! and an encoder that lays a whole frame (header + masked payload) into one buffer.
//!
//! Why one buffer: the ESP-IDF client writes a frame's header and payload in two calls;
//! without `TCP_NODELAY` the second write waits for the peer's delayed ACK, and every
//! echo costs ~41 ms. Building the frame contiguously lets the driver issue one write.
//!
//! The decoder rejects what this client can never accept — reserved bits (RSV1 only
//! passes once permessage-deflate is agreed, and only on a message's first frame),
//! reserved opcodes, fragmented or oversized control frames and
//! 64-bit lengths with the top bit set — so the protocol layer only maps the error to
//! close code 1002.

use core::fmt;

use crate::mask::apply_mask;

/// Largest header: 2 bytes + 8 bytes of extended length + 4 bytes of mask.
pub const MAX_HEADER_LEN: usize = 14;

/// Largest payload a control frame may carry (RFC 6455 §5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// A frame's opcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Opcode {
    /// Continues a fragmented message.
    Continuation,
    /// UTF-8 text.
    Text,
    /// Binary data.
    Binary,
    /// Close handshake.
    Close,
    /// Keep-alive request.
    Ping,
    /// Keep-alive answer.
    Pong,
}

impl Opcode {
    /// The 4-bit wire value.
    pub const fn bits(self) -> u8 {
        match self {
            Opcode::Continuation => 0x0,
            Opcode::Text => 0x1,
            Opcode::Binary => 0x2,
            Opcode::Close => 0x8,
            Opcode::Ping => 0x9,
            Opcode::Pong => 0xA,
        }
    }

    /// Parses a wire value; `None` for the reserved ones.
    pub const fn from_bits(bits: u8) -> Option<Self> {
        Some(match bits {
            0x0 => Opcode::Continuation,
            0x1 => Opcode::Text,
            0x2 => Opcode::Binary,
            0x8 => Opcode::Close,
            0x9 => Opcode::Ping,
            0xA => Opcode::Pong,
            _ => return None,
        })
    }

    /// Close, ping and pong.
    pub const fn is_control(self) -> bool {
        matches!(self, Opcode::Close | Opcode::Ping | Opcode::Pong)
    }
}

/// A decoded frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Final fragment of a message.
    pub fin: bool,
    /// RSV1: the message is compressed (permessage-deflate, RFC 7692 §6).
    pub rsv1: bool,
    /// The opcode.
    pub opcode: Opcode,
    /// Masking key, present on client-to-server frames.
    pub mask: Option<[u8; 4]>,
    /// Payload length in bytes.
    pub payload_len: u64,
}

impl FrameHeader {
    /// Bytes this header takes on the wire.
    pub const fn encoded_len(&self) -> usize {
        header_len(self.payload_len, self.mask.is_some())
    }
}

/// Result of a decoder that may need more input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded<T> {
    /// A value and the bytes it used.
    Complete {
        /// The decoded value.
        value: T,
        /// Bytes consumed from the input.
        consumed: usize,
    },
    /// Not enough input yet: at least `needed` more bytes are required.
    Incomplete {
        /// Minimum number of additional bytes.
        needed: usize,
    },
}

/// Why a frame header was refused. Every variant maps to close code 1002.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// RSV1–3 set although no extension was negotiated.
    ReservedBits(u8),
    /// Opcodes 0x3–0x7 and 0xB–0xF.
    ReservedOpcode(u8),
    /// A control frame with a payload over 125 bytes.
    ControlTooLong(u64),
    /// A control frame without FIN.
    ControlFragmented,
    /// A 64-bit length with its most significant bit set.
    LengthOverflow,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::ReservedBits(b) => write!(f, "reserved bits set: {b:#x}"),
            DecodeError::ReservedOpcode(o) => write!(f, "reserved opcode {o:#x}"),
            DecodeError::ControlTooLong(n) => write!(f, "control frame of {n} bytes"),
            DecodeError::ControlFragmented => f.write_str("fragmented control frame"),
            DecodeError::LengthOverflow => f.write_str("payload length has its top bit set"),
        }
    }
}

impl core::error::Error for DecodeError {}

/// Decodes one frame header from the start of `buf`, with every reserved bit refused.
pub fn decode_header(buf: &[u8]) -> Result<Decoded<FrameHeader>, DecodeError> {
    decode_header_with(buf, false)
}

/// Decodes one frame header; `rsv1_allowed` once an extension gave RSV1 a meaning. RSV1
/// on a control or continuation frame is refused even then (RFC 7692 §6.1).
pub fn decode_header_with(
    buf: &[u8],
    rsv1_allowed: bool,
) -> Result<Decoded<FrameHeader>, DecodeError> {
    if buf.len() < 2 {
        return Ok(Decoded::Incomplete {
            needed: 2 - buf.len(),
        });
    }
    let (b0, b1) = (buf[0], buf[1]);
    let rsv = (b0 >> 4) & 0x7;
    let rsv1 = rsv == 0x4 && rsv1_allowed;
    if rsv != 0 && !rsv1 {
        return Err(DecodeError::ReservedBits(rsv));
    }
    let fin = b0 & 0x80 != 0;
    let opcode = Opcode::from_bits(b0 & 0x0F).ok_or(DecodeError::ReservedOpcode(b0 & 0x0F))?;
    if rsv1 && (opcode.is_control() || opcode == Opcode::Continuation) {
        return Err(DecodeError::ReservedBits(rsv));
    }
    let masked = b1 & 0x80 != 0;
    let len7 = b1 & 0x7F;
    let ext = match len7 {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let total = 2 + ext + if masked { 4 } else { 0 };
    if buf.len() < total {
        return Ok(Decoded::Incomplete {
            needed: total - buf.len(),
        });
    }
    let payload_len = match ext {
        2 => u16::from_be_bytes([buf[2], buf[3]]) as u64,
        8 => {
            let mut b = [0u8; 8];
            b.copy_from_slice(&buf[2..10]);
            let n = u64::from_be_bytes(b);
            if n >> 63 != 0 {
                return Err(DecodeError::LengthOverflow);
            }
            n
        }
        _ => len7 as u64,
    };
    if opcode.is_control() {
        if payload_len > MAX_CONTROL_PAYLOAD as u64 {
            return Err(DecodeError::ControlTooLong(payload_len));
        }
        if !fin {
            return Err(DecodeError::ControlFragmented);
        }
    }
    let mask = masked.then(|| {
        let m = 2 + ext;
        [buf[m], buf[m + 1], buf[m + 2], buf[m + 3]]
    });
    Ok(Decoded::Complete {
        value: FrameHeader {
            fin,
            rsv1,
            opcode,
            mask,
            payload_len,
        },
        consumed: total,
    })
}

/// Header bytes for a payload of `len` bytes.
pub const fn header_len(len: u64, masked: bool) -> usize {
    let base = if len < 126 {
        2
    } else if len <= u16::MAX as u64 {
        4
    } else {
        10
    };
    if masked {
        base + 4
    } else {
        base
    }
}

/// Why a frame could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodeError {
    /// The destination is too small; `needed` bytes are required.
    BufferTooSmall {
        /// Bytes the whole frame needs.
        needed: usize,
    },
    /// A control frame payload over 125 bytes.
    ControlTooLong,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::BufferTooSmall { needed } => {
                write!(f, "frame needs {needed} bytes of buffer")
            }
            EncodeError::ControlTooLong => f.write_str("control payload over 125 bytes"),
        }
    }
}

impl core::error::Error for EncodeError {}

/// Writes a header for `payload_len` bytes into `dst`, returning its length.
pub fn encode_header(
    dst: &mut [u8],
    fin: bool,
    opcode: Opcode,
    mask: Option<[u8; 4]>,
    payload_len: u64,
) -> Result<usize, EncodeError> {
    encode_header_with(dst, fin, false, opcode, mask, payload_len)
}

/// [`encode_header`] with RSV1 (a compressed message's first frame).
pub fn encode_header_with(
    dst: &mut [u8],
    fin: bool,
    rsv1: bool,
    opcode: Opcode,
    mask: Option<[u8; 4]>,
    payload_len: u64,
) -> Result<usize, EncodeError> {
    if opcode.is_control() && payload_len > MAX_CONTROL_PAYLOAD as u64 {
        return Err(EncodeError::ControlTooLong);
    }
    let n = header_len(payload_len, mask.is_some());
    if dst.len() < n {
        return Err(EncodeError::BufferTooSmall { needed: n });
    }
    dst[0] = (if fin { 0x80 } else { 0 }) | (if rsv1 { 0x40 } else { 0 }) | opcode.bits();
    let mbit = if mask.is_some() { 0x80 } else { 0 };
    let mut at = 2;
    if payload_len < 126 {
        dst[1] = mbit | payload_len as u8;
    } else if payload_len <= u16::MAX as u64 {
        dst[1] = mbit | 126;
        dst[2..4].copy_from_slice(&(payload_len as u16).to_be_bytes());
        at = 4;
    } else {
        dst[1] = mbit | 127;
        dst[2..10].copy_from_slice(&payload_len.to_be_bytes());
        at = 10;
    }
    if let Some(m) = mask {
        dst[at..at + 4].copy_from_slice(&m);
    }
    Ok(n)
}

/// Writes a whole frame — header, then the payload masked with `mask` — into `dst`,
/// returning the frame's length, so that the caller can send it with one write.
pub fn encode_frame(
    dst: &mut [u8],
    fin: bool,
    opcode: Opcode,
    mask: Option<[u8; 4]>,
    payload: &[u8],
) -> Result<usize, EncodeError> {
    let h = header_len(payload.len() as u64, mask.is_some());
    let needed = h + payload.len();
    if dst.len() < needed {
        if opcode.is_control() && payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(EncodeError::ControlTooLong);
        }
        return Err(EncodeError::BufferTooSmall { needed });
    }
    encode_header(dst, fin, opcode, mask, payload.len() as u64)?;
    let body = &mut dst[h..needed];
    body.copy_from_slice(payload);
    if let Some(m) = mask {
        apply_mask(body, m, 0);
    }
    Ok(needed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(buf: &[u8]) -> (FrameHeader, usize) {
        match decode_header(buf).unwrap() {
            Decoded::Complete { value, consumed } => (value, consumed),
            d => panic!("incomplete: {d:?}"),
        }
    }

    // RFC 6455 §5.7 examples.
    #[test]
    fn rfc_unmasked_hello() {
        let wire = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
        let (h, n) = complete(&wire);
        assert_eq!(n, 2);
        assert_eq!(
            (h.fin, h.opcode, h.mask, h.payload_len),
            (true, Opcode::Text, None, 5)
        );
        let mut out = [0u8; 16];
        let len = encode_frame(&mut out, true, Opcode::Text, None, b"Hello").unwrap();
        assert_eq!(&out[..len], &wire);
    }

    #[test]
    fn rfc_masked_hello() {
        let wire = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        let mut out = [0u8; 16];
        let len = encode_frame(
            &mut out,
            true,
            Opcode::Text,
            Some([0x37, 0xfa, 0x21, 0x3d]),
            b"Hello",
        )
        .unwrap();
        assert_eq!(&out[..len], &wire);
        let (h, n) = complete(&wire);
        assert_eq!((n, h.mask), (6, Some([0x37, 0xfa, 0x21, 0x3d])));
    }

    #[test]
    fn rfc_fragments_and_ping() {
        assert!(!complete(&[0x01, 0x03]).0.fin);
        assert_eq!(complete(&[0x80, 0x02]).0.opcode, Opcode::Continuation);
        let mut out = [0u8; 16];
        let len = encode_frame(&mut out, true, Opcode::Ping, None, b"Hello").unwrap();
        assert_eq!(&out[..len], &[0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    }

    #[test]
    fn rfc_extended_lengths() {
        let mut out = [0u8; 16];
        assert_eq!(
            encode_header(&mut out, true, Opcode::Binary, None, 256).unwrap(),
            4
        );
        assert_eq!(&out[..4], &[0x82, 0x7E, 0x01, 0x00]);
        assert_eq!(
            encode_header(&mut out, true, Opcode::Binary, None, 65536).unwrap(),
            10
        );
        assert_eq!(&out[..10], &[0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]);
        assert_eq!(complete(&out[..10]).0.payload_len, 65536);
        assert_eq!(
            encode_header(&mut out, true, Opcode::Binary, None, 125).unwrap(),
            2
        );
        assert_eq!(
            encode_header(&mut out, true, Opcode::Binary, None, 126).unwrap(),
            4
        );
        assert_eq!(
            encode_header(&mut out, true, Opcode::Binary, None, 65535).unwrap(),
            4
        );
    }

    #[test]
    fn incomplete_says_how_much_more() {
        assert_eq!(decode_header(&[]), Ok(Decoded::Incomplete { needed: 2 }));
        assert_eq!(
            decode_header(&[0x82]),
            Ok(Decoded::Incomplete { needed: 1 })
        );
        assert_eq!(
            decode_header(&[0x82, 0x7E, 0x01]),
            Ok(Decoded::Incomplete { needed: 1 })
        );
        assert_eq!(
            decode_header(&[0x82, 0xFF]),
            Ok(Decoded::Incomplete { needed: 12 })
        );
    }

    #[test]
    fn refuses_protocol_violations() {
        assert_eq!(
            decode_header(&[0xC1, 0x00]),
            Err(DecodeError::ReservedBits(4))
        );
        assert_eq!(
            decode_header(&[0x93, 0x00]),
            Err(DecodeError::ReservedBits(1))
        );
        assert_eq!(
            decode_header(&[0x83, 0x00]),
            Err(DecodeError::ReservedOpcode(3))
        );
        assert_eq!(
            decode_header(&[0x8B, 0x00]),
            Err(DecodeError::ReservedOpcode(0xB))
        );
        assert_eq!(
            decode_header(&[0x09, 0x00]),
            Err(DecodeError::ControlFragmented)
        );
        assert_eq!(
            decode_header(&[0x89, 0x7E, 0, 126]),
            Err(DecodeError::ControlTooLong(126))
        );
        assert_eq!(
            decode_header(&[0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0]),
            Err(DecodeError::LengthOverflow)
        );
    }

    #[test]
    fn rsv1_only_where_permessage_deflate_allows_it() {
        // RFC 7692 §7.2.3.1: "Hello" compressed, one frame, RSV1 set.
        let wire = [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        assert_eq!(decode_header(&wire), Err(DecodeError::ReservedBits(4)));
        let (h, _) = match decode_header_with(&wire, true).unwrap() {
            Decoded::Complete { value, consumed } => (value, consumed),
            d => panic!("{d:?}"),
        };
        assert!(h.rsv1 && h.fin && h.payload_len == 7);
        let mut out = [0u8; 2];
        encode_header_with(&mut out, true, true, Opcode::Text, None, 7).unwrap();
        assert_eq!(out, [0xc1, 0x07]);
        for bad in [[0xc0, 0x00], [0xc9, 0x00], [0xa1, 0x00], [0xd1, 0x00]] {
            assert!(decode_header_with(&bad, true).is_err(), "{bad:x?}");
        }
    }

    #[test]
    fn encoder_reports_needed_space_and_control_limit() {
        let mut small = [0u8; 4];
        assert_eq!(
            encode_frame(&mut small, true, Opcode::Text, Some([1, 2, 3, 4]), b"abc"),
            Err(EncodeError::BufferTooSmall { needed: 9 })
        );
        let mut big = [0u8; 200];
        assert_eq!(
            encode_frame(&mut big, true, Opcode::Ping, None, &[0u8; 126]),
            Err(EncodeError::ControlTooLong)
        );
    }
}
