//! What the state machine hands out for each thing the peer sent. The server endpoint
//! decodes the same frames and hands out the same values.

use crate::close::CloseCode;
use crate::frame::Opcode;

/// Something the peer sent.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming<'a> {
    /// Data: a whole message, or (in [`Delivery::Frames`](super::Delivery::Frames)) a
    /// piece of one.
    Data {
        /// `Text` or `Binary`: the message's type (also on continuation pieces).
        opcode: Opcode,
        /// Last piece of the message.
        fin: bool,
        /// The bytes; text is valid UTF-8 as far as it goes (whole messages entirely).
        payload: &'a [u8],
    },
    /// A ping; the pong is already queued.
    Ping(&'a [u8]),
    /// A pong.
    Pong(&'a [u8]),
    /// The peer closed; our answering close is queued unless we had sent one.
    Close {
        /// The code ([`CloseCode::NO_STATUS`] if none).
        code: CloseCode,
        /// The reason.
        reason: &'a str,
    },
}
