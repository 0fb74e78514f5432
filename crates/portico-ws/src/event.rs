//! What the client tells its handler, and the states it reports.

use core::fmt;

use crate::close::CloseCode;
use crate::connection::ProtocolError;
use crate::frame::Opcode;
use crate::handshake::{RequestError, ResponseError};
use crate::url::UrlError;

/// The client's externally visible state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Opening TCP, TLS and the upgrade handshake.
    Connecting,
    /// Upgraded; frames flow.
    Connected,
    /// Waiting before the next attempt.
    Backoff,
    /// Not running.
    Stopped,
}

impl State {
    /// Lower-case name used in JSON.
    pub const fn name(self) -> &'static str {
        match self {
            State::Connecting => "connecting",
            State::Connected => "connected",
            State::Backoff => "backoff",
            State::Stopped => "stopped",
        }
    }
}

/// Why a connection attempt failed before the upgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectError {
    /// The URL is invalid.
    Url(UrlError),
    /// Name resolution failed.
    Resolve,
    /// TCP connect failed.
    Tcp,
    /// The TLS handshake failed, or `wss://` without TLS support.
    Tls,
    /// The server's certificate was refused: not issued by the configured CA, badly
    /// signed, or not for the URL's host.
    #[cfg(feature = "embassy-tls")]
    TlsCertificate,
    /// `wss://` with no CA configured to check the server against.
    #[cfg(feature = "embassy-tls")]
    TlsNoTrustAnchor,
    /// No memory for the TLS record buffers.
    #[cfg(feature = "embassy-tls")]
    TlsMemory,
    /// No memory for the client's buffers (placed anew for each connection).
    Memory,
    /// The upgrade request could not be built.
    Request(RequestError),
    /// The server's upgrade response was refused.
    Handshake(ResponseError),
    /// The connection closed or failed during the handshake.
    Io,
    /// Connect + handshake took longer than `connect_timeout_ms`.
    Timeout,
    /// `CompressionMode::Require`, and the server declined permessage-deflate or
    /// answered with terms outside the memory cap, or no offer could be made (a cap
    /// too small for any window, or built without the `deflate` feature).
    CompressionRequired,
    /// The compression blocks could not be placed.
    OutOfMemory,
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::Url(e) => write!(f, "{e}"),
            ConnectError::Resolve => f.write_str("cannot resolve host"),
            ConnectError::Tcp => f.write_str("TCP connect failed"),
            ConnectError::Tls => f.write_str("TLS handshake failed"),
            #[cfg(feature = "embassy-tls")]
            ConnectError::TlsCertificate => {
                f.write_str("server certificate refused (CA or host name)")
            }
            #[cfg(feature = "embassy-tls")]
            ConnectError::TlsNoTrustAnchor => f.write_str("wss:// without a CA to trust"),
            #[cfg(feature = "embassy-tls")]
            ConnectError::TlsMemory => f.write_str("no memory for the TLS buffers"),
            ConnectError::Memory => f.write_str("no memory for the link's buffers"),
            ConnectError::Request(e) => write!(f, "{e}"),
            ConnectError::Handshake(e) => write!(f, "{e}"),
            ConnectError::Io => f.write_str("connection lost during handshake"),
            ConnectError::Timeout => f.write_str("connect timed out"),
            ConnectError::CompressionRequired => {
                f.write_str("permessage-deflate required but not agreed")
            }
            ConnectError::OutOfMemory => f.write_str("out of memory for compression"),
        }
    }
}

impl core::error::Error for ConnectError {}

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The closing handshake completed (either side started it).
    Closed(CloseCode),
    /// The TCP connection ended or failed without a closing handshake.
    ConnectionLost,
    /// The peer broke the protocol; we closed with the matching code.
    Protocol(ProtocolError),
    /// A ping went unanswered for `pong_timeout_ms`.
    PongTimeout,
    /// Writing a frame took longer than `network_timeout_ms`.
    WriteTimeout,
    /// `stop()` was called, or the last handle was dropped.
    Stopped,
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DisconnectReason::Closed(c) => write!(f, "closed with {c}"),
            DisconnectReason::ConnectionLost => f.write_str("connection lost"),
            DisconnectReason::Protocol(e) => write!(f, "protocol error: {e}"),
            DisconnectReason::PongTimeout => f.write_str("pong timeout"),
            DisconnectReason::WriteTimeout => f.write_str("write timeout"),
            DisconnectReason::Stopped => f.write_str("stopped"),
        }
    }
}

/// Errors reported to the handler (the connection may go on or end after them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A connection attempt failed.
    Connect(ConnectError),
    /// The peer broke the protocol.
    Protocol(ProtocolError),
    /// A read or write failed.
    Io,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Connect(e) => write!(f, "connect: {e}"),
            ErrorKind::Protocol(e) => write!(f, "protocol: {e}"),
            ErrorKind::Io => f.write_str("I/O error"),
        }
    }
}

/// An event delivered to the handler.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// The upgrade succeeded.
    Connected {
        /// The subprotocol the server chose.
        subprotocol: Option<&'a str>,
    },
    /// The connection ended; the client reconnects unless stopped or closed.
    Disconnected(DisconnectReason),
    /// Data: a whole message, or a piece of one in frame delivery mode.
    Data {
        /// `Text` or `Binary`.
        opcode: Opcode,
        /// Last piece of the message (always true for whole messages).
        fin: bool,
        /// The bytes.
        payload: &'a [u8],
    },
    /// The peer sent a close frame with this code.
    Closed(CloseCode),
    /// Something went wrong.
    Error(ErrorKind),
}
