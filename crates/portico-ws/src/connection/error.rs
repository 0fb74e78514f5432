//! The two ways a connection refuses: the peer's bytes broke the protocol
//! ([`ProtocolError`], answered with a close), or our own send would break message order
//! ([`FrameOrderError`], refused before anything is written). The server endpoint fails
//! with the same errors.

use core::fmt;

use crate::close::CloseCode;
use crate::frame;

/// What was wrong with the peer's bytes; the close that answers it is queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolError {
    /// A malformed or forbidden frame header.
    Frame(frame::DecodeError),
    /// A masked frame from the server.
    MaskedFrame,
    /// An unmasked frame from a client (the server's side, RFC 6455 §5.1).
    UnmaskedFrame,
    /// A continuation without a message, or a new message inside a fragmented one.
    BadContinuation,
    /// Invalid UTF-8 in a text message or close reason.
    InvalidUtf8,
    /// A malformed close payload or close code.
    BadClose(crate::close::CloseParseError),
    /// A message over `max_message`.
    MessageTooBig,
    /// The reassembly block could not grow.
    OutOfMemory,
    /// A compressed message that is not valid DEFLATE data.
    BadDeflate,
}

impl ProtocolError {
    /// The close code sent in answer.
    pub const fn close_code(self) -> CloseCode {
        match self {
            ProtocolError::InvalidUtf8 | ProtocolError::BadDeflate => CloseCode::INVALID_PAYLOAD,
            ProtocolError::BadClose(e) => e.reply_code(),
            ProtocolError::MessageTooBig | ProtocolError::OutOfMemory => CloseCode::TOO_BIG,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::Frame(e) => write!(f, "bad frame: {e}"),
            ProtocolError::MaskedFrame => f.write_str("masked frame from server"),
            ProtocolError::UnmaskedFrame => f.write_str("unmasked frame from client"),
            ProtocolError::BadContinuation => f.write_str("bad fragment sequence"),
            ProtocolError::InvalidUtf8 => f.write_str("invalid UTF-8"),
            ProtocolError::BadClose(e) => write!(f, "bad close frame: {e}"),
            ProtocolError::MessageTooBig => f.write_str("message over the configured maximum"),
            ProtocolError::OutOfMemory => f.write_str("no memory to reassemble the message"),
            ProtocolError::BadDeflate => f.write_str("invalid compressed data"),
        }
    }
}

impl core::error::Error for ProtocolError {}

/// Why a send was refused before anything was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameOrderError {
    /// A new message while a fragmented one is being sent.
    FragmentInProgress,
    /// A continuation with no fragmented message started.
    NoFragmentInProgress,
    /// Data after a close frame was sent.
    Closing,
}

impl fmt::Display for FrameOrderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FrameOrderError::FragmentInProgress => "a fragmented message is being sent",
            FrameOrderError::NoFragmentInProgress => "no fragmented message to continue",
            FrameOrderError::Closing => "the connection is closing",
        })
    }
}

impl core::error::Error for FrameOrderError {}
