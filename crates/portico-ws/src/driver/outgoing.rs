//! A data frame on its way from a handle to the client task. A trait, because a sender
//! may wait for the outcome (the host's `send_*`, through a oneshot) or not ([`Queued`]:
//! every `try_send_*`, and all of the device's sends); the run loop serves both alike.

use crate::frame::Opcode;

use super::SendError;

/// A data frame waiting to be sent, with a way to tell its sender how it went.
pub trait Outgoing {
    /// `Text`, `Binary` or `Continuation`.
    fn opcode(&self) -> Opcode;
    /// Last frame of its message.
    fn fin(&self) -> bool;
    /// The payload (split into several frames if larger than the send buffer).
    fn payload(&self) -> &[u8];
    /// Claims the send for writing; `false` when its sender already gave up (timed out),
    /// in which case it is dropped unsent.
    fn claim(&self) -> bool;
    /// Reports the outcome to the sender.
    fn complete(self, result: Result<(), SendError>);
}

/// A data frame's payload, copied into a `Vec` from the global allocator when it is
/// queued and freed once written or dropped. Nobody waits for its outcome; a port whose
/// senders do wraps it.
#[derive(Debug)]
pub struct Queued {
    opcode: Opcode,
    fin: bool,
    data: alloc::vec::Vec<u8>,
}

impl Queued {
    /// Copies `data`.
    pub fn new(opcode: Opcode, fin: bool, data: &[u8]) -> Self {
        Queued {
            opcode,
            fin,
            data: data.to_vec(),
        }
    }
}

impl Outgoing for Queued {
    fn opcode(&self) -> Opcode {
        self.opcode
    }

    fn fin(&self) -> bool {
        self.fin
    }

    fn payload(&self) -> &[u8] {
        &self.data
    }

    fn claim(&self) -> bool {
        // Nobody waits on it, so nobody can give up on it.
        true
    }

    fn complete(self, _result: Result<(), SendError>) {}
}
