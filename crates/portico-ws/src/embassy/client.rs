//! The device client: a [`Client`] that can live in a `static`, a task body
//! ([`Client::run`]) the firmware spawns once, and [`Handle`]s with non-blocking
//! operations.
//!
//! Lifecycle guarantees (the host client's, see [`crate::lifecycle`]):
//! - [`Handle::start`], [`Handle::stop`] and [`Handle::close`] only *request*; they
//!   never wait or lock across an await, so all are safe from inside the handler. From
//!   a handler they apply to that handler's own run only.
//! - One run at a time: the run loop is the only task that touches the buffers; each
//!   start gets a generation, and a superseded run ends before the next one begins.
//!   Start requests made while a run is ending are taken in order: rapid stop/start
//!   leaves exactly one run (or none) behind.
//! - The buffers are allocated when a run begins and freed when the client is stopped
//!   (under the same lock that [`Handle::live_runs`] reads: once it says 0 after a stop,
//!   the memory is back).
//! - A send during or after stop fails with [`SendError::Closed`]; sends still queued
//!   when a run ends are dropped, never sent on a later connection.
//! - Handles are plain references to the `static` client (`Copy`): dropping one does
//!   nothing; the client runs until [`Handle::stop`] or [`Handle::close`].

use core::cell::RefCell;

use embassy_futures::select::{select, Either};
use embassy_sync::blocking_mutex::raw::{CriticalSectionRawMutex, RawMutex};
use embassy_sync::blocking_mutex::Mutex;
use embassy_sync::channel::Channel;
use embassy_sync::signal::Signal;
use portico::placement::MemoryRegions;

use crate::buffers::Buffers;
use crate::close::{CloseCode, CloseFrame};
use crate::driver::{
    self, CloseError, Command, Exit, Link, Port, Queued, SendError, Status, Target,
};
use crate::event::{Event, State};
use crate::frame::Opcode;
use crate::handshake::RequestOptions;
use crate::lifecycle::{BufferSlot, Desired, FinishAction, Lifecycle, StartAction};
use crate::settings::Settings;
#[cfg(feature = "embassy-settings")]
use crate::stats::short_text;
use crate::stats::LinkStats;

#[cfg(feature = "embassy-settings")]
use super::link_settings::{LinkSettings, RunTarget};

/// Longest error text kept in [`Stats::last_error`] (the client's own fit).
pub const ERROR_TEXT: usize = 64;

/// A snapshot of the client for the device's `/api/link`: `state`, `url`, `connects`,
/// `reconnects`, `last_error`, `rtt_ms`, `messages_in` and `memory` (each block with
/// its region). Serialises with `serde` (e.g. `serde-json-core`).
/// With `embassy-settings` the URL can change at run time, so it is copied (cut to
/// [`URL_TEXT`]); without, it is the `Config`'s own.
#[cfg(feature = "embassy-settings")]
pub type Stats = LinkStats<heapless::String<URL_TEXT>, ERROR_TEXT>;
/// A snapshot of the client for the device's `/api/link` (see above).
#[cfg(not(feature = "embassy-settings"))]
pub type Stats = LinkStats<&'static str, ERROR_TEXT>;

/// Longest URL kept in [`Stats::url`] (a longer one is cut).
pub const URL_TEXT: usize = 128;

/// The client's configuration; everything borrowed for `'static`, so that it can be a
/// `const` and the client a `static`.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// `ws://` URL, or `wss://` with the feature `embassy-tls` (refused without it).
    pub url: &'static str,
    /// Buffers, placement, timeouts, keep-alive and reconnect.
    pub settings: Settings,
    /// Subprotocols to offer.
    pub subprotocols: &'static [&'static str],
    /// Extra request headers.
    pub headers: &'static [(&'static str, &'static str)],
    /// `user:password` for basic auth (the URL's userinfo is used otherwise).
    pub basic_auth: Option<&'static str>,
    /// `wss://`: the CA to trust and the record buffer sizes.
    #[cfg(feature = "embassy-tls")]
    pub tls: super::TlsOptions,
}

impl Config {
    /// Defaults for `url`.
    pub const fn new(url: &'static str) -> Self {
        Config {
            url,
            settings: Settings::const_default(),
            subprotocols: &[],
            headers: &[],
            basic_auth: None,
            #[cfg(feature = "embassy-tls")]
            tls: super::TlsOptions::const_default(),
        }
    }
}

/// A queued send: its payload copied into a `Vec` from the global allocator by
/// `try_send_*`, freed once written or dropped; the queue depth `Q` bounds how many wait.
pub type Outbound = Queued;

/// Receives the client's events, on the client's task. Keep it short: it runs between
/// reads. It may call anything on the [`Handle`] (all non-blocking).
pub trait Handler {
    /// Called for every event.
    fn on_event(&mut self, event: Event<'_>, client: &Handle<'_>);
}

impl<F: FnMut(Event<'_>, &Handle<'_>)> Handler for F {
    fn on_event(&mut self, event: Event<'_>, client: &Handle<'_>) {
        self(event, client)
    }
}

struct Shared {
    life: Lifecycle,
    /// Start requests the run loop has not taken yet; `latest` is the last one's
    /// generation (the earlier ones are superseded).
    pending: u32,
    latest: u64,
    /// A close requested for the run of this generation.
    close: Option<(u64, CloseFrame)>,
    stats: LinkStats<(), ERROR_TEXT>,
    /// Link settings set at run time, replacing the `Config`'s.
    #[cfg(feature = "embassy-settings")]
    runtime: Option<LinkSettings>,
}

/// The client: `static`-able state shared by the run loop and the handles.
///
/// `M` guards it: [`CriticalSectionRawMutex`] (the default) makes the client `Sync`, so
/// it can be a plain `static`; `NoopRawMutex` is enough when everything runs on one
/// executor (then use a `StaticCell`). `Q` is the send queue depth.
pub struct Client<M: RawMutex = CriticalSectionRawMutex, const Q: usize = 8> {
    config: Config,
    commands: Channel<M, Command<Outbound>, Q>,
    /// Wakes the run loop: a start, a stop or a close was requested.
    wake: Signal<M, ()>,
    shared: Mutex<M, RefCell<Shared>>,
}

impl<M: RawMutex, const Q: usize> Client<M, Q> {
    /// A stopped client; [`Handle::start`] starts it once [`run`](Self::run) is spawned
    /// (a start made earlier waits for it).
    pub const fn new(config: Config) -> Self {
        Client {
            config,
            commands: Channel::new(),
            wake: Signal::new(),
            shared: Mutex::new(RefCell::new(Shared {
                life: Lifecycle::new(),
                pending: 0,
                latest: 0,
                close: None,
                stats: LinkStats::new(()),
                #[cfg(feature = "embassy-settings")]
                runtime: None,
            })),
        }
    }

    /// A handle to operate the client.
    pub fn handle(&self) -> Handle<'_> {
        Handle {
            client: self,
            generation: None,
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Shared) -> R) -> R {
        self.shared.lock(|s| f(&mut s.borrow_mut()))
    }

    /// The client's task body; spawn it once and never drop it. Forever: waits for a
    /// start, allocates the buffers from `mem` (per `settings.placement`, falling back
    /// as placement allows), runs the connection with its reconnects until stopped or
    /// closed, frees the buffers, and waits for the next start.
    ///
    /// `handler` gets every event on this task. If the buffers cannot be allocated, the
    /// start is undone: the client is stopped and `last_error` says why.
    pub async fn run<P, R, H>(&self, port: P, mem: R, mut handler: H) -> !
    where
        P: Port,
        R: MemoryRegions,
        H: Handler,
    {
        let config = &self.config;
        let mut held = None;
        loop {
            let Some((generation, buffers)) = self.next_run(&mem, &mut held) else {
                self.wake.wait().await;
                continue;
            };
            // This run's URL, headers and CA: the run-time settings if the application
            // set some (a copy: a later change starts a new run), else the `Config`'s.
            #[cfg(feature = "embassy-settings")]
            let runtime = self.with(|s| s.runtime.clone());
            #[cfg(feature = "embassy-settings")]
            let run = RunTarget::new(config, runtime.as_ref());
            #[cfg(feature = "embassy-settings")]
            let target = Target {
                url: run.url,
                request: RequestOptions {
                    subprotocols: &run.subprotocols,
                    headers: &run.headers,
                    basic_auth: run.basic_auth,
                },
            };
            #[cfg(all(feature = "embassy-settings", feature = "embassy-tls"))]
            let ca = run.ca;
            #[cfg(not(feature = "embassy-settings"))]
            let target = Target {
                url: config.url,
                request: RequestOptions {
                    subprotocols: config.subprotocols,
                    headers: config.headers,
                    basic_auth: config.basic_auth,
                },
            };
            #[cfg(all(not(feature = "embassy-settings"), feature = "embassy-tls"))]
            let ca = config.tls.ca;
            // TLS for `wss://` over the caller's TCP port; its record buffers are placed
            // per connection from the same regions as the client's own.
            #[cfg(feature = "embassy-tls")]
            let port =
                super::TlsPort::new(&port, &mem, config.settings.placement, config.tls).with_ca(ca);
            // Sends and closes queued for an earlier run are not this run's to send.
            while self.commands.try_receive().is_ok() {}
            let mut link = DeviceLink {
                client: self,
                handler: &mut handler,
                generation,
            };
            let (buffers, exit) =
                driver::run(&config.settings, &target, buffers, &port, &mut link).await;
            self.with(|s| {
                if exit != Exit::Stopped {
                    s.life.task_exited(generation);
                }
                match s.life.task_finish(generation, true) {
                    // `None` when the run ended while down: the next run places anew.
                    FinishAction::Keep => held = buffers,
                    FinishAction::Free => {
                        // Under the lock: `live_runs() == 0` implies the memory is back.
                        drop(buffers);
                        s.stats.memory.clear();
                    }
                }
            });
        }
    }

    /// Takes the start requests made so far; returns the run to begin, if any, with its
    /// buffers (kept from the last run, or allocated now).
    fn next_run<'m, R: MemoryRegions>(
        &self,
        mem: &'m R,
        held: &mut Option<Buffers<&'m R>>,
    ) -> Option<(u64, Buffers<&'m R>)> {
        self.with(|s| {
            let mut next = None;
            while s.pending > 0 && next.is_none() {
                s.pending -= 1;
                let generation = s.latest;
                if s.pending > 0 || !s.life.should_run(generation) {
                    // Superseded (or stopped) before it began: it ends without running.
                    s.life.task_finish(generation, false);
                    continue;
                }
                // Also when kept buffers were freed by a run that ended while down.
                if s.life.buffers() == BufferSlot::None || held.is_none() {
                    let set = &self.config.settings;
                    match Buffers::allocate(mem, set.placement, set.buffers) {
                        Ok(b) => {
                            *held = Some(b);
                            s.life.allocated();
                        }
                        Err(e) => {
                            s.life.start_failed();
                            s.stats.set_error(e);
                            s.stats.set_state(State::Stopped);
                            continue;
                        }
                    }
                }
                if s.life.task_begin(generation) {
                    next = held.take().map(|b| (generation, b));
                } else {
                    s.life.task_finish(generation, false);
                }
            }
            if s.life.buffers() == BufferSlot::None && held.is_some() {
                // The client is stopped and no run is left: memory back to baseline.
                *held = None;
                s.stats.memory.clear();
            }
            next
        })
    }

    fn state_of(s: &Shared) -> State {
        if s.life.desired() == Desired::Stop {
            return State::Stopped;
        }
        s.stats.state
    }
}

/// A handle to the client; the handler gets one by reference. All operations return
/// at once.
#[derive(Clone, Copy)]
pub struct Handle<'c> {
    client: &'c dyn Ops,
    /// The run this handle belongs to (the handler's), or `None`.
    generation: Option<u64>,
}

impl core::fmt::Debug for Handle<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Handle")
            .field("state", &self.state())
            .field("generation", &self.generation)
            .finish()
    }
}

/// What a handle can do, without the client's mutex and queue types.
trait Ops {
    fn start(&self);
    fn stop(&self, generation: Option<u64>);
    fn close(&self, generation: Option<u64>, frame: CloseFrame) -> Result<(), CloseError>;
    fn send(&self, generation: Option<u64>, out: Outbound) -> Result<(), SendError>;
    fn state(&self) -> State;
    fn stats(&self) -> Stats;
    #[cfg(feature = "embassy-settings")]
    fn reconfigure(&self, settings: LinkSettings);
    fn live_runs(&self) -> u32;
}

impl<M: RawMutex, const Q: usize> Ops for Client<M, Q> {
    fn start(&self) {
        self.with(|s| match s.life.start() {
            StartAction::AlreadyRunning => {}
            StartAction::Spawn { generation, .. } => {
                // `allocate` is the run loop's job: it allocates when it begins a run.
                s.pending += 1;
                s.latest = generation;
                s.stats.set_state(State::Connecting);
            }
        });
        self.wake.signal(());
    }

    fn stop(&self, generation: Option<u64>) {
        self.with(|s| {
            match generation {
                None => s.life.stop(),
                Some(g) => s.life.stop_generation(g),
            };
            // Idle buffers with no run left are the run loop's to free; the wake-up
            // below has it look.
            s.life.reclaim();
        });
        self.wake.signal(());
    }

    fn close(&self, generation: Option<u64>, frame: CloseFrame) -> Result<(), CloseError> {
        self.with(|s| {
            if !s.life.accepts(generation) {
                return Err(CloseError::Closed);
            }
            s.close = Some((s.life.generation(), frame));
            Ok(())
        })?;
        self.wake.signal(());
        Ok(())
    }

    fn send(&self, generation: Option<u64>, out: Outbound) -> Result<(), SendError> {
        // Checked and queued under one lock: a stop cannot slip in between.
        self.with(|s| {
            if !s.life.accepts(generation) {
                return Err(SendError::Closed);
            }
            self.commands
                .try_send(Command::Send(out))
                .map_err(|_| SendError::QueueFull)
        })
    }

    fn state(&self) -> State {
        self.with(|s| Self::state_of(s))
    }

    fn stats(&self) -> Stats {
        self.with(|s| {
            #[cfg(feature = "embassy-settings")]
            let url = short_text(
                s.runtime
                    .as_ref()
                    .map_or(self.config.url, |r| r.url.as_str()),
            );
            #[cfg(not(feature = "embassy-settings"))]
            let url = self.config.url;
            let mut stats = s.stats.with_url(url);
            stats.state = Self::state_of(s);
            stats
        })
    }

    fn live_runs(&self) -> u32 {
        self.with(|s| s.life.live_tasks())
    }

    #[cfg(feature = "embassy-settings")]
    fn reconfigure(&self, settings: LinkSettings) {
        let running = self.with(|s| {
            let changed = s.runtime.as_ref() != Some(&settings);
            s.runtime = Some(settings);
            changed && s.life.desired() == Desired::Run
        });
        if running {
            // The lifecycle's stop/start: the current run ends (its connection dropped)
            // and one new run begins, with the new settings.
            self.stop(None);
            self.start();
        }
    }
}

impl Handle<'_> {
    /// (Re)starts a stopped client. A no-op when it is running.
    pub fn start(&self) {
        self.client.start()
    }

    /// Requests a stop; returns at once. The connection is dropped without a closing
    /// handshake (use [`close`](Self::close) for one). From a handler, it stops only
    /// the run that handler belongs to.
    pub fn stop(&self) {
        self.client.stop(self.generation)
    }

    /// Starts the closing handshake with `code` and `reason`; the client stops when it
    /// completes (or after `close_timeout_ms`). Returns at once.
    pub fn close(&self, code: CloseCode, reason: &str) -> Result<(), CloseError> {
        let frame = CloseFrame::new(code, reason).map_err(CloseError::Invalid)?;
        self.client.close(self.generation, frame)
    }

    crate::driver::try_send_methods!();

    /// The payload is copied into a `Vec` from the global allocator; a send queued
    /// while not connected is dropped by the client (`NotConnected`, nobody is told:
    /// check [`state`](Self::state) first if it matters).
    fn queue(&self, opcode: Opcode, fin: bool, data: &[u8]) -> Result<(), SendError> {
        self.client
            .send(self.generation, Queued::new(opcode, fin, data))
    }

    /// Current state (`Stopped` as soon as a stop is requested).
    pub fn state(&self) -> State {
        self.client.state()
    }

    /// A snapshot of state, counters and memory.
    pub fn stats(&self) -> Stats {
        self.client.stats()
    }

    /// Every block the client holds (`rx`, `tx`, `message`) with its region; empty when
    /// stopped.
    pub fn memory_report(&self) -> crate::buffers::MemoryReport {
        self.stats().memory
    }

    /// Replaces the link's URL, headers, subprotocols and CA with `settings` (from the
    /// application's settings). A running link reconnects with them at once (an equal
    /// value changes nothing); a stopped one uses them at its next start. Safe from the
    /// handler, like `stop` and `start`; from there it still reconfigures the client as
    /// a whole. (Feature `embassy-settings`.)
    #[cfg(feature = "embassy-settings")]
    pub fn reconfigure(&self, settings: LinkSettings) {
        self.client.reconfigure(settings)
    }

    /// Runs requested and not finished: 0 once stopped for good (buffers freed).
    pub fn live_runs(&self) -> u32 {
        self.client.live_runs()
    }
}

struct DeviceLink<'a, H, M: RawMutex, const Q: usize> {
    client: &'a Client<M, Q>,
    handler: &'a mut H,
    generation: u64,
}

impl<H: Handler, M: RawMutex, const Q: usize> Link for DeviceLink<'_, H, M, Q> {
    type Out = Outbound;

    async fn wait_command(&mut self) -> Option<Command<Outbound>> {
        // Both cancel-safe: a command stays queued, a wake-up stays signalled.
        match select(self.client.commands.receive(), self.client.wake.wait()).await {
            Either::First(c) => Some(c),
            Either::Second(()) => None,
        }
    }

    fn try_recv(&mut self) -> Option<Command<Outbound>> {
        if let Ok(c) = self.client.commands.try_receive() {
            return Some(c);
        }
        let generation = self.generation;
        self.client.with(|s| match s.close.take() {
            Some((g, frame)) if g == generation => Some(Command::Close(frame)),
            _ => None,
        })
    }

    fn stop_requested(&self) -> bool {
        let generation = self.generation;
        !self.client.with(|s| s.life.should_run(generation))
    }

    async fn stopped(&self) {
        while !self.stop_requested() {
            self.client.wake.wait().await;
        }
    }

    fn event(&mut self, event: Event<'_>) {
        let generation = self.generation;
        self.client.with(|s| {
            if s.life.generation() == generation {
                s.stats.record_event(&event);
            }
        });
        let handle = Handle {
            client: self.client,
            generation: Some(generation),
        };
        self.handler.on_event(event, &handle);
    }

    fn status(&mut self, status: Status<'_>) {
        let generation = self.generation;
        self.client.with(|s| {
            // A superseded run must not overwrite its successor's status.
            if s.life.generation() == generation {
                s.stats.record(status);
            }
        });
    }
}
