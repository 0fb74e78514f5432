//! A queued send and how its sender learns the outcome.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use tokio::sync::oneshot;

use crate::driver::{Outgoing, Queued, SendError};
use crate::frame::Opcode;

pub(super) const PENDING: u8 = 0;
pub(super) const CLAIMED: u8 = 1;
pub(super) const CANCELLED: u8 = 2;

/// A queued send, with a way to tell its sender how it went.
#[derive(Debug)]
pub struct Outbound {
    pub(super) frame: Queued,
    pub(super) state: Arc<AtomicU8>,
    pub(super) done: Option<oneshot::Sender<Result<(), SendError>>>,
}

impl Outgoing for Outbound {
    fn opcode(&self) -> Opcode {
        self.frame.opcode()
    }

    fn fin(&self) -> bool {
        self.frame.fin()
    }

    fn payload(&self) -> &[u8] {
        self.frame.payload()
    }

    fn claim(&self) -> bool {
        self.state
            .compare_exchange(PENDING, CLAIMED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    fn complete(mut self, result: Result<(), SendError>) {
        if let Some(tx) = self.done.take() {
            let _ = tx.send(result);
        }
    }
}
