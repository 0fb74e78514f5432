//! Close codes and close frame payloads (RFC 6455 §5.5.1, §7.4).
//!
//! A received close code is checked before it is echoed: 1005, 1006 and 1015 only ever
//! describe a close locally and must never appear on the wire, and 0–999, 1004 and
//! 1016–2999 are reserved. Any of them — or a one-byte payload, or a reason that is not
//! UTF-8 — is a protocol error, answered with 1002 (or 1007 for the reason).

use core::fmt;

/// A close status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: normal closure.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: the endpoint is going away.
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: protocol error.
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003: a data type the endpoint cannot accept.
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// 1005: no status code was present (local only).
    pub const NO_STATUS: CloseCode = CloseCode(1005);
    /// 1006: the connection dropped without a close frame (local only).
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    /// 1007: payload inconsistent with the message type (bad UTF-8).
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008: policy violation.
    pub const POLICY: CloseCode = CloseCode(1008);
    /// 1009: message too big to process.
    pub const TOO_BIG: CloseCode = CloseCode(1009);
    /// 1011: unexpected condition.
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);

    /// Whether this code may appear in a close frame (sent or received).
    pub const fn is_valid_on_wire(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A parsed close frame payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClosePayload<'a> {
    /// The code; [`CloseCode::NO_STATUS`] when the payload was empty.
    pub code: CloseCode,
    /// The reason, valid UTF-8.
    pub reason: &'a str,
}

/// Why a received close payload is invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseParseError {
    /// A one-byte payload (a code needs two).
    Truncated,
    /// A code that must not appear on the wire.
    InvalidCode(u16),
    /// The reason is not UTF-8.
    InvalidReason,
}

impl CloseParseError {
    /// The code to close with in answer.
    pub const fn reply_code(self) -> CloseCode {
        match self {
            CloseParseError::InvalidReason => CloseCode::INVALID_PAYLOAD,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }
}

impl fmt::Display for CloseParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseParseError::Truncated => f.write_str("one-byte close payload"),
            CloseParseError::InvalidCode(c) => write!(f, "invalid close code {c}"),
            CloseParseError::InvalidReason => f.write_str("close reason is not UTF-8"),
        }
    }
}

impl core::error::Error for CloseParseError {}

/// Parses and validates a received close payload.
pub fn parse_close(payload: &[u8]) -> Result<ClosePayload<'_>, CloseParseError> {
    match payload.len() {
        0 => Ok(ClosePayload {
            code: CloseCode::NO_STATUS,
            reason: "",
        }),
        1 => Err(CloseParseError::Truncated),
        _ => {
            let code = CloseCode(u16::from_be_bytes([payload[0], payload[1]]));
            if !code.is_valid_on_wire() {
                return Err(CloseParseError::InvalidCode(code.0));
            }
            let reason =
                core::str::from_utf8(&payload[2..]).map_err(|_| CloseParseError::InvalidReason)?;
            Ok(ClosePayload { code, reason })
        }
    }
}

/// Why a close could not be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseBuildError {
    /// The code must not be sent (1005, 1006, 1015, reserved ranges).
    InvalidCode(u16),
    /// Code plus reason exceed the 125-byte control payload.
    ReasonTooLong,
}

impl fmt::Display for CloseBuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseBuildError::InvalidCode(c) => write!(f, "close code {c} may not be sent"),
            CloseBuildError::ReasonTooLong => f.write_str("close reason over 123 bytes"),
        }
    }
}

impl core::error::Error for CloseBuildError {}

/// A close payload to send: at most 125 bytes, kept inline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFrame {
    bytes: heapless::Vec<u8, 125>,
}

impl CloseFrame {
    /// Builds a payload with `code` and `reason`.
    pub fn new(code: CloseCode, reason: &str) -> Result<Self, CloseBuildError> {
        if !code.is_valid_on_wire() {
            return Err(CloseBuildError::InvalidCode(code.0));
        }
        let mut bytes = heapless::Vec::new();
        bytes
            .extend_from_slice(&code.0.to_be_bytes())
            .and_then(|_| bytes.extend_from_slice(reason.as_bytes()))
            .map_err(|_| CloseBuildError::ReasonTooLong)?;
        Ok(CloseFrame { bytes })
    }

    /// An empty close payload (no code).
    pub const fn empty() -> Self {
        CloseFrame {
            bytes: heapless::Vec::new(),
        }
    }

    /// The payload bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_and_invalid_codes() {
        for c in [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999,
        ] {
            assert!(parse_close(&u16::to_be_bytes(c)).is_ok(), "{c}");
        }
        for c in [
            0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
        ] {
            assert_eq!(
                parse_close(&u16::to_be_bytes(c)),
                Err(CloseParseError::InvalidCode(c)),
                "{c}"
            );
        }
    }

    #[test]
    fn payload_shapes() {
        assert_eq!(parse_close(&[]).unwrap().code, CloseCode::NO_STATUS);
        assert_eq!(parse_close(&[0x03]), Err(CloseParseError::Truncated));
        let p = parse_close(&[0x03, 0xE8, b'b', b'y', b'e']).unwrap();
        assert_eq!((p.code, p.reason), (CloseCode::NORMAL, "bye"));
        assert_eq!(
            parse_close(&[0x03, 0xE8, 0xff]).unwrap_err().reply_code(),
            CloseCode::INVALID_PAYLOAD
        );
    }

    #[test]
    fn build_limits() {
        assert_eq!(
            CloseFrame::new(CloseCode::NORMAL, "ok").unwrap().as_bytes(),
            &[0x03, 0xE8, b'o', b'k']
        );
        assert_eq!(
            CloseFrame::new(CloseCode(1005), ""),
            Err(CloseBuildError::InvalidCode(1005))
        );
        assert!(CloseFrame::new(CloseCode::NORMAL, &"x".repeat(123)).is_ok());
        assert_eq!(
            CloseFrame::new(CloseCode::NORMAL, &"x".repeat(124)),
            Err(CloseBuildError::ReasonTooLong)
        );
    }
}
