//! The non-blocking sends every port's handle offers (`try_send_text`, `try_send_binary`,
//! `try_send_fragment`), written once as a macro over each handle's `queue`, with the
//! check all data sends share: no control opcode. Only the ports (feature `tokio` or
//! `embassy`) have handles.

use crate::connection::FrameOrderError;
use crate::frame::Opcode;

use super::SendError;

/// Refuses control opcodes in a data send: pings and closes are the client's own.
pub(crate) fn check_data_opcode(op: Opcode) -> Result<(), SendError> {
    if op.is_control() {
        return Err(SendError::Order(FrameOrderError::NoFragmentInProgress));
    }
    Ok(())
}

/// The non-blocking sends of every port's handle, written once: each handle type
/// supplies `fn queue(&self, Opcode, bool, &[u8]) -> Result<(), SendError>`, which
/// copies the payload and queues it for the client task without waiting.
macro_rules! try_send_methods {
    () => {
        /// Queues a text message without waiting (safe inside the handler).
        pub fn try_send_text(&self, text: &str) -> Result<(), $crate::driver::SendError> {
            self.try_send_fragment($crate::frame::Opcode::Text, true, text.as_bytes())
        }

        /// Queues a binary message without waiting.
        pub fn try_send_binary(&self, data: &[u8]) -> Result<(), $crate::driver::SendError> {
            self.try_send_fragment($crate::frame::Opcode::Binary, true, data)
        }

        /// Queues one fragment (`Text`/`Binary` to begin, `Continuation` after) without
        /// waiting. Fails with `SendError::Closed` when the client is stopped or
        /// stopping, `SendError::QueueFull` when the send queue is full.
        pub fn try_send_fragment(
            &self,
            opcode: $crate::frame::Opcode,
            fin: bool,
            data: &[u8],
        ) -> Result<(), $crate::driver::SendError> {
            $crate::driver::check_data_opcode(opcode)?;
            self.queue(opcode, fin, data)
        }
    };
}
pub(crate) use try_send_methods;
