//! The host client: [`Client::start`] spawns the run task on tokio and returns a
//! cloneable [`Handle`]; the handler gets a [`Control`] with the same non-blocking
//! operations.
//!
//! Lifecycle guarantees (see [`crate::lifecycle`]):
//! - `stop`, `close`, `start` and dropping a handle never wait, so they are safe from
//!   inside the handler; [`Handle::stop_and_wait`] adds a bounded wait for callers
//!   outside it.
//! - One run task at a time: each start gets a generation; the command receiver is held
//!   by the running task for its whole run, so a successor waits for it to finish.
//! - The buffers are freed when the client is stopped and its last task has finished.
//! - A send during or after stop fails with [`SendError::Closed`]; a send that times
//!   out fails alone ([`SendError::Timeout`]) and the connection stays up.
//! - Dropping the last [`Handle`] stops the client.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use portico::placement::{MemoryRegions, OutOfMemory, Region, RegionError, RegionStats};
use tokio::sync::{mpsc, oneshot, watch, Notify};

use crate::buffers::{Buffers, MemoryBlock};
use crate::close::{CloseCode, CloseFrame};
use crate::driver::{
    self, check_data_opcode, Command, Link, Outgoing, Queued, SendError, Status, Target,
};
use crate::event::{Event, State};
use crate::frame::Opcode;
use crate::handshake::RequestOptions;
use crate::lifecycle::{Desired, FinishAction, Lifecycle, StartAction};
use crate::stats::LinkStats;
use crate::url::{UrlError, WsUrl};

use super::config::Config;
use super::port::TokioPort;
use super::stats::Stats;

/// Receives the client's events, on the client's task. Keep it short: it runs between
/// reads. It may call anything on the [`Control`] (all non-blocking).
pub trait Handler: Send + 'static {
    /// Called for every event.
    fn on_event(&mut self, event: Event<'_>, client: &Control);
}

impl<F> Handler for F
where
    F: FnMut(Event<'_>, &Control) + Send + 'static,
{
    fn on_event(&mut self, event: Event<'_>, client: &Control) {
        self(event, client)
    }
}

/// Why the client could not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartError {
    /// No region could hold the client's buffers.
    OutOfMemory(OutOfMemory),
    /// The URL is invalid.
    Url(UrlError),
    /// The TLS configuration is invalid.
    #[cfg(feature = "tls")]
    Tls(super::tls::TlsConfigError),
    /// Not called from inside a tokio runtime.
    NoRuntime,
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::OutOfMemory(e) => write!(f, "{e}"),
            StartError::Url(e) => write!(f, "{e}"),
            #[cfg(feature = "tls")]
            StartError::Tls(e) => write!(f, "{e}"),
            StartError::NoRuntime => f.write_str("no tokio runtime"),
        }
    }
}

impl std::error::Error for StartError {}

/// `stop_and_wait` gave up before the run task finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopTimeout;

impl std::fmt::Display for StopTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("client task did not finish in time")
    }
}

impl std::error::Error for StopTimeout {}

pub use crate::driver::CloseError;

/// An allocator shared by the client's blocks (cloning shares it).
pub struct SharedHeap<M>(Arc<M>);

impl<M> Clone for SharedHeap<M> {
    fn clone(&self) -> Self {
        SharedHeap(self.0.clone())
    }
}

impl<M: MemoryRegions> MemoryRegions for SharedHeap<M> {
    type Block = M::Block;

    fn alloc_in(&self, region: Region, size: usize) -> Result<M::Block, RegionError> {
        self.0.alloc_in(region, size)
    }

    fn stats(&self, region: Region) -> RegionStats {
        self.0.stats(region)
    }
}

const PENDING: u8 = 0;
const CLAIMED: u8 = 1;
const CANCELLED: u8 = 2;

/// A queued send, with a way to tell its sender how it went.
#[derive(Debug)]
pub struct Outbound {
    frame: Queued,
    state: Arc<AtomicU8>,
    done: Option<oneshot::Sender<Result<(), SendError>>>,
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

/// Error texts longer than this are cut (none of the client's own are).
const ERROR_TEXT: usize = 256;

type Counters = LinkStats<(), ERROR_TEXT>;

/// The state every handle shares, independent of the heap and handler types.
struct Inner {
    url: String,
    settings: crate::settings::Settings,
    cmd_tx: mpsc::Sender<Command<Outbound>>,
    wake: Notify,
    pending_close: Mutex<Option<CloseFrame>>,
    life: Mutex<Lifecycle>,
    counters: Mutex<Counters>,
    /// Size of the run task's future, reported as the `task` block.
    task_bytes: AtomicUsize,
    changed: watch::Sender<u64>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking handler must not wedge the client: recover poisoned locks.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Inner {
    fn bump(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// The part of the client that depends on the heap and handler types.
trait Starter: Send + Sync {
    fn start(self: Arc<Self>) -> Result<(), StartError>;
    /// Requests a stop (of `generation` only, if given); never waits.
    fn stop(&self, generation: Option<u64>);
}

struct Runner<M: MemoryRegions, H> {
    inner: Arc<Inner>,
    heap: SharedHeap<M>,
    buffers: Mutex<Option<Buffers<SharedHeap<M>>>>,
    handler: Mutex<H>,
    cmd_rx: tokio::sync::Mutex<mpsc::Receiver<Command<Outbound>>>,
    port: TokioPort,
    subprotocols: Vec<String>,
    headers: Vec<(String, String)>,
    basic_auth: Option<String>,
    runtime: tokio::runtime::Handle,
}

impl<M, H> Runner<M, H>
where
    M: MemoryRegions + Send + Sync + 'static,
    M::Block: Send,
    H: Handler,
{
    fn allocate(&self) -> Result<Buffers<SharedHeap<M>>, OutOfMemory> {
        let s = &self.inner.settings;
        Buffers::allocate(self.heap.clone(), s.placement, s.buffers)
    }

    async fn run_task(self: Arc<Self>, generation: u64) {
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
struct FinishGuard<'a, M: MemoryRegions, H> {
    runner: &'a Runner<M, H>,
    generation: u64,
    held: bool,
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
            c.state = State::Connecting;
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

struct TokioLink<'a, M: MemoryRegions, H> {
    runner: &'a Runner<M, H>,
    rx: &'a mut mpsc::Receiver<Command<Outbound>>,
    generation: u64,
    control: &'a Control,
}

impl<M: MemoryRegions, H: Handler> TokioLink<'_, M, H> {
    fn current(&self) -> bool {
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

/// The client's operations, all non-blocking. The handler gets one by reference; a
/// [`Handle`] dereferences to one.
pub struct Control {
    inner: Arc<Inner>,
    starter: Arc<dyn Starter>,
    /// The run this control belongs to (the handler's), or `None` for a [`Handle`]'s.
    generation: Option<u64>,
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

/// Ends the client when the last [`Handle`] is dropped.
struct UserToken(Arc<dyn Starter>);

impl Drop for UserToken {
    fn drop(&mut self) {
        self.0.stop(None);
    }
}

/// A cloneable handle to a running client; dropping the last one stops it.
#[derive(Clone)]
pub struct Handle {
    control: Arc<Control>,
    _token: Arc<UserToken>,
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("state", &self.state())
            .finish()
    }
}

impl std::ops::Deref for Handle {
    type Target = Control;

    fn deref(&self) -> &Control {
        &self.control
    }
}

/// Entry point of the host client.
#[derive(Debug)]
pub struct Client;

impl Client {
    /// Allocates the buffers (per `config.settings.placement`, from `heap`) and spawns
    /// the run task on the current tokio runtime.
    pub fn start<M, H>(config: Config, heap: M, handler: H) -> Result<Handle, StartError>
    where
        M: MemoryRegions + Send + Sync + 'static,
        M::Block: Send,
        H: Handler,
    {
        WsUrl::parse(&config.url).map_err(StartError::Url)?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| StartError::NoRuntime)?;
        #[cfg(feature = "tls")]
        let port = TokioPort::new(Some(config.tls.build().map_err(StartError::Tls)?));
        #[cfg(not(feature = "tls"))]
        let port = TokioPort::new();
        let (cmd_tx, cmd_rx) = mpsc::channel(config.settings.send_queue.max(1));
        let inner = Arc::new(Inner {
            url: config.url,
            settings: config.settings,
            cmd_tx,
            wake: Notify::new(),
            pending_close: Mutex::new(None),
            life: Mutex::new(Lifecycle::new()),
            counters: Mutex::new(Counters::new(())),
            task_bytes: AtomicUsize::new(0),
            changed: watch::channel(0).0,
        });
        let runner = Arc::new(Runner {
            inner: inner.clone(),
            heap: SharedHeap(Arc::new(heap)),
            buffers: Mutex::new(None),
            handler: Mutex::new(handler),
            cmd_rx: tokio::sync::Mutex::new(cmd_rx),
            port,
            subprotocols: config.subprotocols,
            headers: config.headers,
            basic_auth: config.basic_auth,
            runtime,
        });
        runner.clone().start()?;
        Ok(Handle {
            control: Arc::new(Control {
                inner,
                starter: runner.clone(),
                generation: None,
            }),
            _token: Arc::new(UserToken(runner)),
        })
    }
}
