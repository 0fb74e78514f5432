//! What a handle is told when a send or a close cannot be done. Here, not beside a port,
//! because every port's handle fails with the same errors (re-exported at the crate
//! root).

use crate::connection::FrameOrderError;

/// Why a send failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// The client is stopped or stopping.
    Closed,
    /// Not connected right now (connecting or in backoff).
    NotConnected,
    /// The send was not done within `send_timeout_ms`; the connection stays up. If the
    /// frame had not started going out, it never will.
    Timeout,
    /// The frame would break message order (see [`FrameOrderError`]).
    Order(FrameOrderError),
    /// Too many sends are waiting.
    QueueFull,
    /// The connection failed while the frame was being written.
    Io,
    /// A control payload over 125 bytes (close reason too long).
    TooLong,
}

impl core::fmt::Display for SendError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SendError::Closed => f.write_str("client is stopped"),
            SendError::NotConnected => f.write_str("not connected"),
            SendError::Timeout => f.write_str("send timed out"),
            SendError::Order(e) => write!(f, "{e}"),
            SendError::QueueFull => f.write_str("send queue full"),
            SendError::Io => f.write_str("connection failed during send"),
            SendError::TooLong => f.write_str("payload too long"),
        }
    }
}

impl core::error::Error for SendError {}

/// Why `close` was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseError {
    /// The client is already stopped (or the run the caller belongs to has ended).
    Closed,
    /// The code or reason cannot be sent.
    Invalid(crate::close::CloseBuildError),
}

impl core::fmt::Display for CloseError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CloseError::Closed => f.write_str("client is stopped"),
            CloseError::Invalid(e) => write!(f, "{e}"),
        }
    }
}

impl core::error::Error for CloseError {}
