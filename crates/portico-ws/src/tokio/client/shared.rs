//! The state every handle and run task shares, independent of the heap and handler
//! types, and the object-safe `Starter` the handles hold.

use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{mpsc, watch, Notify};

use crate::close::CloseFrame;
use crate::driver::Command;
use crate::lifecycle::Lifecycle;
use crate::stats::LinkStats;

use super::error::StartError;
use super::outbound::Outbound;

/// Error texts longer than this are cut (none of the client's own are).
const ERROR_TEXT: usize = 256;

pub(super) type Counters = LinkStats<(), ERROR_TEXT>;

/// The state every handle shares, independent of the heap and handler types.
pub(super) struct Inner {
    pub(super) url: String,
    pub(super) settings: crate::settings::Settings,
    pub(super) cmd_tx: mpsc::Sender<Command<Outbound>>,
    pub(super) wake: Notify,
    pub(super) pending_close: Mutex<Option<CloseFrame>>,
    pub(super) life: Mutex<Lifecycle>,
    pub(super) counters: Mutex<Counters>,
    /// Size of the run task's future, reported as the `task` block.
    pub(super) task_bytes: AtomicUsize,
    pub(super) changed: watch::Sender<u64>,
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking handler must not wedge the client: recover poisoned locks.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Inner {
    pub(super) fn bump(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// The part of the client that depends on the heap and handler types.
pub(super) trait Starter: Send + Sync {
    fn start(self: Arc<Self>) -> Result<(), StartError>;
    /// Requests a stop (of `generation` only, if given); never waits.
    fn stop(&self, generation: Option<u64>);
}
