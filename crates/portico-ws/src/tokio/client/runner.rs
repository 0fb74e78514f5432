//! The run task: allocates the buffers, drives one connection attempt after another
//! through the generic driver, and finishes its bookkeeping even if the handler panics.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use portico::placement::{MemoryRegions, OutOfMemory};
use tokio::sync::mpsc;

use crate::buffers::Buffers;
use crate::driver::{self, Command, Target};
use crate::event::State;
use crate::handshake::RequestOptions;
use crate::lifecycle::{FinishAction, StartAction};

use crate::tokio::port::TokioPort;

use super::control::Control;
use super::error::StartError;
use super::handler::Handler;
use super::heap::SharedHeap;
use super::link::TokioLink;
use super::outbound::Outbound;
use super::shared::{lock, Inner, Starter};

pub(super) struct Runner<M: MemoryRegions, H> {
    pub(super) inner: Arc<Inner>,
    pub(super) heap: SharedHeap<M>,
    pub(super) buffers: Mutex<Option<Buffers<SharedHeap<M>>>>,
    pub(super) handler: Mutex<H>,
    pub(super) cmd_rx: tokio::sync::Mutex<mpsc::Receiver<Command<Outbound>>>,
    pub(super) port: TokioPort,
    pub(super) subprotocols: Vec<String>,
    pub(super) headers: Vec<(String, String)>,
    pub(super) basic_auth: Option<String>,
    pub(super) runtime: tokio::runtime::Handle,
}

impl<M, H> Runner<M, H>
where
    M: MemoryRegions + Send + Sync + 'static,
    M::Block: Send,
    H: Handler,
{
    pub(super) fn allocate(&self) -> Result<Buffers<SharedHeap<M>>, OutOfMemory> {
        let s = &self.inner.settings;
        Buffers::allocate(self.heap.clone(), s.placement, s.buffers)
    }

    pub(super) async fn run_task(self: Arc<Self>, generation: u64) {
        let mut rx = self.cmd_rx.lock().await;
        let mut guard = FinishGuard {
            runner: &self,
            generation,
            held: false,
        };
        let buffers = {
            let mut life = lock(&self.inner.life);
            if !life.task_begin(generation) {
                None
            } else {
                guard.held = true;
                let slot = lock(&self.buffers).take();
                // The slot is empty only if a panicking handler unwound a previous run.
                match slot.map_or_else(|| self.allocate(), Ok) {
                    Ok(b) => Some(b),
                    Err(_) => {
                        life.task_exited(generation);
                        None
                    }
                }
            }
        };
        let Some(buffers) = buffers else {
            return;
        };
        let subprotocols: Vec<&str> = self.subprotocols.iter().map(String::as_str).collect();
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let target = Target {
            url: &self.inner.url,
            request: RequestOptions {
                subprotocols: &subprotocols,
                headers: &headers,
                basic_auth: self.basic_auth.as_deref(),
            },
        };
        let control = Control {
            inner: self.inner.clone(),
            starter: self.clone(),
            generation: Some(generation),
        };
        let mut link = TokioLink {
            runner: &self,
            rx: &mut rx,
            generation,
            control: &control,
        };
        let (buffers, exit) = driver::run(
            &self.inner.settings,
            &target,
            buffers,
            &self.port,
            &mut link,
        )
        .await;
        // `None` when the run ended while down; the next run places them anew.
        *lock(&self.buffers) = buffers;
        if exit != driver::Exit::Stopped {
            lock(&self.inner.life).task_exited(generation);
        }
        drop(guard);
    }
}

/// Finishes a task's bookkeeping even if the handler panicked.
pub(super) struct FinishGuard<'a, M: MemoryRegions, H> {
    pub(super) runner: &'a Runner<M, H>,
    pub(super) generation: u64,
    pub(super) held: bool,
}

impl<M: MemoryRegions, H> Drop for FinishGuard<'_, M, H> {
    fn drop(&mut self) {
        let inner = &self.runner.inner;
        let freed = {
            let mut life = lock(&inner.life);
            match life.task_finish(self.generation, self.held) {
                FinishAction::Free => {
                    // Free under the lifecycle lock: whoever sees `live_tasks() == 0`
                    // (it reads under the same lock) then also sees the memory back.
                    // Also when the run had freed them itself (it ended while down):
                    // the report must say so.
                    drop(lock(&self.runner.buffers).take());
                    true
                }
                FinishAction::Keep => false,
            }
        };
        if freed {
            lock(&inner.counters).memory.clear();
        }
        inner.bump();
    }
}

impl<M, H> Starter for Runner<M, H>
where
    M: MemoryRegions + Send + Sync + 'static,
    M::Block: Send,
    H: Handler,
{
    fn start(self: Arc<Self>) -> Result<(), StartError> {
        let generation = {
            let mut life = lock(&self.inner.life);
            match life.start() {
                StartAction::AlreadyRunning => return Ok(()),
                StartAction::Spawn {
                    generation,
                    allocate,
                } => {
                    if allocate {
                        match self.allocate() {
                            Ok(b) => {
                                *lock(&self.buffers) = Some(b);
                                life.allocated();
                            }
                            Err(e) => {
                                life.start_failed();
                                return Err(StartError::OutOfMemory(e));
                            }
                        }
                    }
                    generation
                }
            }
        };
        {
            let mut c = lock(&self.inner.counters);
            c.set_state(State::Connecting);
        }
        self.inner.bump();
        let fut = self.clone().run_task(generation);
        self.inner
            .task_bytes
            .store(std::mem::size_of_val(&fut), Ordering::Relaxed);
        self.runtime.spawn(fut);
        Ok(())
    }

    fn stop(&self, generation: Option<u64>) {
        let inner = &self.inner;
        let (stopped, freed) = {
            let mut life = lock(&inner.life);
            let stopped = match generation {
                None => life.stop(),
                Some(g) => life.stop_generation(g),
            };
            // No task left to free idle buffers: do it here, under the same lock as
            // `start`, so a concurrent start cannot lose its fresh allocation.
            let freed = match life.reclaim() {
                FinishAction::Free => lock(&self.buffers).take(),
                FinishAction::Keep => None,
            };
            (stopped, freed)
        };
        if freed.is_some() {
            drop(freed);
            lock(&inner.counters).memory.clear();
        }
        if stopped {
            inner.wake.notify_one();
        }
        inner.bump();
    }
}
