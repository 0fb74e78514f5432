//! The client's non-blocking operations, shared by the handler and every handle.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::buffers::MemoryBlock;
use crate::close::{CloseCode, CloseFrame};
use crate::driver::{check_data_opcode, CloseError, Command, Queued, SendError};
use crate::event::State;
use crate::frame::Opcode;
use crate::lifecycle::Desired;

use crate::tokio::stats::Stats;

use super::error::{StartError, StopTimeout};
use super::outbound::{Outbound, CANCELLED, PENDING};
use super::shared::{lock, Counters, Inner, Starter};

/// The client's operations, all non-blocking. The handler gets one by reference; a
/// [`Handle`](super::Handle) dereferences to one.
pub struct Control {
    pub(super) inner: Arc<Inner>,
    pub(super) starter: Arc<dyn Starter>,
    /// The run this control belongs to (the handler's), or `None` for a [`Handle`](super::Handle)'s.
    pub(super) generation: Option<u64>,
}

impl Control {
    /// Current state (`Stopped` as soon as a stop is requested).
    pub fn state(&self) -> State {
        if lock(&self.inner.life).desired() == Desired::Stop {
            return State::Stopped;
        }
        lock(&self.inner.counters).state
    }

    /// A snapshot of state, counters and memory.
    pub fn stats(&self) -> Stats {
        let state = self.state();
        let c = lock(&self.inner.counters);
        Stats {
            state,
            url: self.inner.url.clone(),
            connects: c.connects,
            reconnects: c.reconnects,
            last_error: c.last_error.as_deref().map(String::from),
            rtt_ms: c.rtt_ms,
            messages_in: c.messages_in,
            memory: self.memory_of(&c),
        }
    }

    fn memory_of(&self, c: &Counters) -> Vec<MemoryBlock> {
        let mut v = c.memory.to_vec();
        if !v.is_empty() {
            v.push(MemoryBlock {
                block: "task",
                bytes: self.inner.task_bytes.load(Ordering::Relaxed),
                region: None,
            });
        }
        v
    }

    /// Every block the client holds: `rx`, `tx`, `message` (placed, with their region)
    /// and `task` (the run task's future, owned by tokio: region `None`). Empty when
    /// stopped.
    pub fn memory_report(&self) -> Vec<MemoryBlock> {
        self.memory_of(&lock(&self.inner.counters))
    }

    /// Requests a stop; returns at once. The connection is dropped without a closing
    /// handshake (use [`close`](Self::close) for one). From a handler, it stops only
    /// the run that handler belongs to: a late event of a superseded run cannot stop
    /// the run that replaced it.
    pub fn stop(&self) {
        self.starter.stop(self.generation);
    }

    /// (Re)starts a stopped client. A no-op when it is running.
    pub fn start(&self) -> Result<(), StartError> {
        self.starter.clone().start()
    }

    /// Starts the closing handshake with `code` and `reason`; the client stops when it
    /// completes (or after `close_timeout_ms`). Returns at once.
    pub fn close(&self, code: CloseCode, reason: &str) -> Result<(), CloseError> {
        let frame = CloseFrame::new(code, reason).map_err(CloseError::Invalid)?;
        if !lock(&self.inner.life).accepts(self.generation) {
            return Err(CloseError::Closed);
        }
        *lock(&self.inner.pending_close) = Some(frame);
        self.inner.wake.notify_one();
        Ok(())
    }

    fn running(&self) -> bool {
        lock(&self.inner.life).desired() == Desired::Run
    }

    fn outbound(&self, opcode: Opcode, fin: bool, data: &[u8]) -> (Outbound, Arc<AtomicU8>) {
        let state = Arc::new(AtomicU8::new(PENDING));
        let out = Outbound {
            frame: Queued::new(opcode, fin, data),
            state: state.clone(),
            done: None,
        };
        (out, state)
    }

    crate::driver::try_send_methods!();

    fn queue(&self, opcode: Opcode, fin: bool, data: &[u8]) -> Result<(), SendError> {
        if !self.running() {
            return Err(SendError::Closed);
        }
        let (out, _) = self.outbound(opcode, fin, data);
        self.inner
            .cmd_tx
            .try_send(Command::Send(out))
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => SendError::QueueFull,
                mpsc::error::TrySendError::Closed(_) => SendError::Closed,
            })
    }

    /// Sends a text message and waits until it is written (or `send_timeout_ms`).
    pub async fn send_text(&self, text: &str) -> Result<(), SendError> {
        self.send_fragment(Opcode::Text, true, text.as_bytes())
            .await
    }

    /// Sends a binary message and waits until it is written.
    pub async fn send_binary(&self, data: &[u8]) -> Result<(), SendError> {
        self.send_fragment(Opcode::Binary, true, data).await
    }

    /// Sends one fragment and waits until it is written.
    pub async fn send_fragment(
        &self,
        opcode: Opcode,
        fin: bool,
        data: &[u8],
    ) -> Result<(), SendError> {
        check_data_opcode(opcode)?;
        if !self.running() {
            return Err(SendError::Closed);
        }
        let (mut out, state) = self.outbound(opcode, fin, data);
        let (tx, rx) = oneshot::channel();
        out.done = Some(tx);
        let deliver = async {
            self.inner
                .cmd_tx
                .send(Command::Send(out))
                .await
                .map_err(|_| SendError::Closed)?;
            rx.await.unwrap_or(Err(SendError::Closed))
        };
        let limit = Duration::from_millis(self.inner.settings.send_timeout_ms);
        // Biased: a send that was written reports Ok even if the client stopped right
        // after (a close the echo of this very message triggered, say). Unbiased, the
        // two ready branches were picked at random and a written send could say Closed.
        tokio::select! {
            biased;
            r = tokio::time::timeout(limit, deliver) => match r {
                Ok(r) => r,
                Err(_) => {
                    // Withdraw it unless the task already began writing it.
                    let _ = state.compare_exchange(PENDING, CANCELLED, Ordering::AcqRel, Ordering::Acquire);
                    Err(SendError::Timeout)
                }
            },
            _ = self.stopped() => {
                let _ = state.compare_exchange(PENDING, CANCELLED, Ordering::AcqRel, Ordering::Acquire);
                Err(SendError::Closed)
            }
        }
    }

    /// Resolves once a stop has been requested.
    async fn stopped(&self) {
        let mut rx = self.inner.changed.subscribe();
        loop {
            if !self.running() {
                return;
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    }

    /// Requests a stop and waits up to `timeout` for the run task to finish (buffers
    /// freed). Do not call it from the handler (it would wait for itself): use
    /// [`stop`](Self::stop) there.
    pub async fn stop_and_wait(&self, timeout: Duration) -> Result<(), StopTimeout> {
        self.stop();
        let mut rx = self.inner.changed.subscribe();
        let wait = async {
            loop {
                if lock(&self.inner.life).live_tasks() == 0 {
                    return;
                }
                if rx.changed().await.is_err() {
                    return;
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| StopTimeout)
    }

    /// Run tasks spawned and not yet finished (0 once stopped for good).
    pub fn live_tasks(&self) -> u32 {
        lock(&self.inner.life).live_tasks()
    }
}
