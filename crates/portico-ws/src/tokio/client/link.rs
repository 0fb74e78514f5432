//! The driver's `Link` on tokio: commands in from the handles, events out to the handler.

use portico::placement::MemoryRegions;
use tokio::sync::mpsc;

use crate::driver::{Command, Link, Status};
use crate::event::Event;

use super::control::Control;
use super::handler::Handler;
use super::outbound::Outbound;
use super::runner::Runner;
use super::shared::lock;

pub(super) struct TokioLink<'a, M: MemoryRegions, H> {
    pub(super) runner: &'a Runner<M, H>,
    pub(super) rx: &'a mut mpsc::Receiver<Command<Outbound>>,
    pub(super) generation: u64,
    pub(super) control: &'a Control,
}

impl<M: MemoryRegions, H: Handler> TokioLink<'_, M, H> {
    pub(super) fn current(&self) -> bool {
        lock(&self.runner.inner.life).generation() == self.generation
    }
}

impl<M: MemoryRegions, H: Handler> Link for TokioLink<'_, M, H> {
    type Out = Outbound;

    async fn wait_command(&mut self) -> Option<Command<Outbound>> {
        tokio::select! {
            biased;
            c = self.rx.recv() => Some(c.unwrap_or(Command::Stop)),
            _ = self.runner.inner.wake.notified() => None,
        }
    }

    fn try_recv(&mut self) -> Option<Command<Outbound>> {
        if let Ok(c) = self.rx.try_recv() {
            return Some(c);
        }
        lock(&self.runner.inner.pending_close)
            .take()
            .map(Command::Close)
    }

    fn stop_requested(&self) -> bool {
        !lock(&self.runner.inner.life).should_run(self.generation)
    }

    async fn stopped(&self) {
        // Subscribe before checking: a stop between the two still wakes us.
        let mut rx = self.runner.inner.changed.subscribe();
        loop {
            if self.stop_requested() {
                return;
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    }

    fn event(&mut self, event: Event<'_>) {
        if self.current() {
            lock(&self.runner.inner.counters).record_event(&event);
        }
        lock(&self.runner.handler).on_event(event, self.control);
    }

    fn status(&mut self, status: Status<'_>) {
        if !self.current() {
            return; // A superseded run must not overwrite its successor's status.
        }
        let inner = &self.runner.inner;
        lock(&inner.counters).record(status);
        inner.bump();
    }
}
