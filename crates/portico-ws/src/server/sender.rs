//! Writing frames to a client: unmasked (RFC 6455 §5.1: a server MUST NOT mask), header
//! and payload in one vectored write, each write under the send deadline.
//!
//! Why no send buffer: a server frame is its header (at most 10 bytes, on the stack)
//! followed by the payload as the application holds it. `write_all_vectored` hands both
//! to the socket in one call (`writev` on the host), so a frame never waits for a
//! delayed ACK between its two halves and nothing is copied.

use core::fmt;

use portico::conn::TimeoutPhase;
use portico::server::{Env, Transport};
use portico::time::Duration;

use crate::close::{CloseCode, CloseFrame};
use crate::connection::FrameOrderError;
use crate::frame::{encode_header, Opcode, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN};

/// Why a frame was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError<E> {
    /// The transport failed; the connection is over.
    Io(E),
    /// The client did not take the frame within the send deadline; the connection is
    /// over (part of the frame may have gone out).
    Timeout,
    /// The frame would break message order, or the connection is closing.
    Order(FrameOrderError),
    /// A control payload (ping, close reason) over 125 bytes.
    TooLong,
}

impl<E: fmt::Debug> fmt::Display for SendError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Io(e) => write!(f, "transport error: {e:?}"),
            SendError::Timeout => f.write_str("send deadline passed"),
            SendError::Order(e) => write!(f, "{e}"),
            SendError::TooLong => f.write_str("control payload over 125 bytes"),
        }
    }
}

impl<E: fmt::Debug> core::error::Error for SendError<E> {}

/// What stays between two [`Sender`]s of one connection.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SendState {
    pub(crate) closing: bool,
    pub(crate) fragmenting: bool,
    pub(crate) broken: bool,
}

/// Sends frames to one client. Handed to the application's [`super::WsHandler`] for the
/// length of one call.
pub struct Sender<'a, T: Transport, E: Env> {
    pub(crate) io: &'a mut T,
    pub(crate) env: &'a E,
    pub(crate) send_timeout: Duration,
    pub(crate) state: &'a mut SendState,
}

impl<T: Transport, E: Env> Sender<'_, T, E> {
    /// Sends a whole text message.
    pub async fn text(&mut self, text: &str) -> Result<(), SendError<T::Error>> {
        self.frame(true, Opcode::Text, text.as_bytes()).await
    }

    /// Sends a whole binary message.
    pub async fn binary(&mut self, data: &[u8]) -> Result<(), SendError<T::Error>> {
        self.frame(true, Opcode::Binary, data).await
    }

    /// Sends one data frame: a message in pieces starts with `Text` or `Binary` and
    /// `fin == false`, goes on with `Continuation` frames and ends with `fin == true`.
    /// The order is checked; nothing is sent when it is wrong.
    pub async fn frame(
        &mut self,
        fin: bool,
        opcode: Opcode,
        payload: &[u8],
    ) -> Result<(), SendError<T::Error>> {
        let s = &mut *self.state;
        if s.closing {
            return Err(SendError::Order(FrameOrderError::Closing));
        }
        match (opcode, s.fragmenting) {
            (Opcode::Continuation, false) => {
                return Err(SendError::Order(FrameOrderError::NoFragmentInProgress))
            }
            (Opcode::Text | Opcode::Binary, true) => {
                return Err(SendError::Order(FrameOrderError::FragmentInProgress))
            }
            (op, _) if op.is_control() => return Err(SendError::TooLong),
            _ => {}
        }
        s.fragmenting = !fin;
        self.write(fin, opcode, payload).await
    }

    /// Sends a ping (the pong comes back as [`super::WsHandler::pong`]).
    pub async fn ping(&mut self, payload: &[u8]) -> Result<(), SendError<T::Error>> {
        if self.state.closing {
            return Err(SendError::Order(FrameOrderError::Closing));
        }
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(SendError::TooLong);
        }
        self.write(true, Opcode::Ping, payload).await
    }

    /// Starts the closing handshake: the connection ends once the client answers (or
    /// after the close deadline). Nothing more can be sent.
    pub async fn close(
        &mut self,
        code: CloseCode,
        reason: &str,
    ) -> Result<(), SendError<T::Error>> {
        let frame = CloseFrame::new(code, reason).map_err(|_| SendError::TooLong)?;
        self.close_with(&frame).await
    }

    pub(crate) async fn close_with(
        &mut self,
        frame: &CloseFrame,
    ) -> Result<(), SendError<T::Error>> {
        if self.state.closing {
            return Err(SendError::Order(FrameOrderError::Closing));
        }
        self.state.closing = true;
        self.write(true, Opcode::Close, frame.as_bytes()).await
    }

    /// Whether a close was sent (by the application or in answer to the client's).
    pub fn closing(&self) -> bool {
        self.state.closing
    }

    pub(crate) async fn write(
        &mut self,
        fin: bool,
        opcode: Opcode,
        payload: &[u8],
    ) -> Result<(), SendError<T::Error>> {
        if self.state.broken {
            return Err(SendError::Timeout);
        }
        let mut head = [0u8; MAX_HEADER_LEN];
        let n = encode_header(&mut head, fin, opcode, None, payload.len() as u64)
            .map_err(|_| SendError::TooLong)?;
        let parts: [&[u8]; 2] = [&head[..n], payload];
        let parts = if payload.is_empty() {
            &parts[..1]
        } else {
            &parts[..]
        };
        match self
            .env
            .timeout(self.send_timeout, self.io.write_all_vectored(parts))
            .await
        {
            Ok(Ok(())) => {
                self.env.touch();
                Ok(())
            }
            Ok(Err(e)) => {
                self.state.broken = true;
                Err(SendError::Io(e))
            }
            Err(_) => {
                self.state.broken = true;
                self.env.timed_out(TimeoutPhase::Send);
                Err(SendError::Timeout)
            }
        }
    }
}
