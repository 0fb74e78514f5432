//! The device's upstream link under test: `portico_ws::embassy`'s client on a simulated
//! device stack with a simulated heap, against [`crate::upstream`]'s server (plain or
//! TLS) on its own stack, in virtual time.
//!
//! The `ws://` and `wss://` link tests drive the same client the same way; they differ
//! in the URL, the client's TLS options and the server's certificate, so the set-up,
//! the event trace and the failure report live here once.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use portico::placement::sim::SimHeap;
use portico::placement::{MemoryRegions, Region};
use portico_ws::embassy::{Client, Config, EmbassyPort, Handle, Stats};
use portico_ws::{Event, Reconnect, Settings, State};

use crate::clock;
use crate::device::{spawn_stack, DEVICE_IP};
use crate::executor::{Executor, RunEnd};
use crate::net::{LinkConfig, Network};
use crate::rng::Rng;
use crate::upstream::{spawn_upstream, spawn_upstream_tls, Upstream, UPSTREAM_IP};

/// The link settings of the link simulations: keep-alive every second and quick
/// reconnects (0.5 to 4 s), so that seconds of virtual time show several of each.
pub const QUICK: Settings = Settings {
    ping_interval_ms: Some(1_000),
    pong_timeout_ms: 2_000,
    connect_timeout_ms: 3_000,
    reconnect: Reconnect {
        enabled: true,
        min_delay_ms: 500,
        max_delay_ms: 4_000,
    },
    ..Settings::const_default()
};

/// What a test's event handler does besides recording: gets each event's text form (as
/// [`describe`] writes it) and the client's handle.
pub type React = Box<dyn FnMut(&str, &Handle<'_>)>;

/// How a link simulation is set up.
pub struct Setup {
    /// Seeds the network, both stacks and the client's masks: same seed, same run.
    pub seed: u64,
    /// Loss and delay between the device and the upstream.
    pub link: LinkConfig,
    /// Where the client places its blocks.
    pub heap: SimHeap,
    /// The client's URL, settings and (for `wss://`) the CA it trusts.
    pub config: Config,
    /// `Some`: the upstream speaks TLS with this configuration (its certificate).
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Called on every event after it is recorded.
    pub react: React,
}

/// A running link simulation: the executor, and what a test looks at.
pub struct LinkSim {
    exec: Executor,
    view: LinkView,
    /// Size of the client's run future: on the device, static RAM (the task's storage).
    pub run_future_bytes: usize,
}

/// What a test looks at, also between executor rounds (cheap to clone).
#[derive(Clone)]
pub struct LinkView {
    /// The simulated network (its loss counters).
    pub net: Network,
    /// The upstream server (its counters, its log, its faults).
    pub server: Upstream,
    /// The client's heap.
    pub heap: SimHeap,
    /// The client under test.
    pub client: &'static Client,
    /// Every event the handler got, with its virtual time.
    pub trace: Rc<RefCell<Vec<String>>>,
}

impl std::ops::Deref for LinkSim {
    type Target = LinkView;

    fn deref(&self) -> &LinkView {
        &self.view
    }
}

/// Virtual milliseconds since the simulation's clock started.
pub fn now_ms() -> u64 {
    clock::now() * 1000 / clock::TICK_HZ
}

/// An event as the trace records it: data as `data <opcode> <text>`, the rest as `Debug`.
pub fn describe(event: &Event<'_>) -> String {
    match event {
        Event::Data {
            opcode, payload, ..
        } => format!("data {opcode:?} {}", String::from_utf8_lossy(payload)),
        other => format!("{other:?}"),
    }
}

/// Whether the client is connected (a `run_until` condition).
pub fn connected(v: &LinkView) -> bool {
    v.stats().state == State::Connected
}

/// A buffer for the device's life, as the firmware's static ones are.
fn leak(size: usize) -> &'static mut [u8] {
    Box::leak(vec![0; size].into_boxed_slice())
}

impl LinkSim {
    /// Builds the network, the upstream, the device stack and the client, and spawns the
    /// client's run (stopped until a test calls `start`).
    pub fn new(setup: Setup) -> LinkSim {
        let Setup {
            seed,
            link,
            heap,
            config,
            tls,
            mut react,
        } = setup;
        let exec = Executor::new();
        let spawner = exec.spawner();
        let net = Network::new(link, seed);
        let server = match tls {
            Some(tls) => spawn_upstream_tls(&spawner, &net, UPSTREAM_IP, 2, seed ^ 0x5E, tls),
            None => spawn_upstream(&spawner, &net, UPSTREAM_IP, 2, seed ^ 0x5E),
        };
        let stack = spawn_stack(&spawner, &net, DEVICE_IP, seed ^ 0xDE);
        let rng = RefCell::new(Rng::new(seed ^ 0x3A5C));
        let random = move |dst: &mut [u8]| rng.borrow_mut().fill(dst);
        let port: &'static EmbassyPort<'static, _> = Box::leak(Box::new(EmbassyPort::new(
            stack,
            leak(4096),
            leak(4096),
            random,
        )));
        let client: &'static Client = Box::leak(Box::new(Client::new(config)));
        let trace: Rc<RefCell<Vec<String>>> = Rc::default();
        let log = trace.clone();
        let run = client.run(
            port,
            heap.clone(),
            move |event: Event<'_>, link: &Handle<'_>| {
                let text = describe(&event);
                log.borrow_mut().push(format!("{:>7} ms {text}", now_ms()));
                react(&text, link);
            },
        );
        let run_future_bytes = std::mem::size_of_val(&run);
        spawner.spawn(async move {
            run.await;
        });
        LinkSim {
            exec,
            view: LinkView {
                net,
                server,
                heap,
                client,
                trace,
            },
            run_future_bytes,
        }
    }

    /// Runs until `done` holds, at most `ms` more of virtual time.
    pub fn run_until(&mut self, ms: u64, mut done: impl FnMut(&LinkView) -> bool) -> RunEnd {
        let limit = clock::now() + clock::ms(ms);
        let view = self.view.clone();
        self.exec.run_until(limit, || done(&view))
    }

    /// Starts the client and runs until it is connected; panics with the report if ten
    /// seconds of virtual time are not enough.
    pub fn start_and_connect(&mut self) {
        self.handle().start();
        let end = self.run_until(10_000, connected);
        assert_eq!(end, RunEnd::Done, "{}", self.report());
    }

    /// Runs `ms` of virtual time.
    pub fn run_for(&mut self, ms: u64) {
        self.run_until(ms, |_| false);
    }
}

impl LinkView {
    /// The client's handle.
    pub fn handle(&self) -> Handle<'static> {
        self.client.handle()
    }

    /// The client's counters and state.
    pub fn stats(&self) -> Stats {
        self.handle().stats()
    }

    /// Bytes the client holds in `region`.
    pub fn used(&self, region: Region) -> usize {
        self.heap.stats(region).used
    }

    /// Bytes the client holds in both regions.
    pub fn heap_used(&self) -> usize {
        self.used(Region::Internal) + self.used(Region::External)
    }

    /// How many trace lines contain `needle`.
    pub fn saw(&self, needle: &str) -> usize {
        self.trace
            .borrow()
            .iter()
            .filter(|l| l.contains(needle))
            .count()
    }

    /// Everything a failed assert should show: both sides' counters, the network's, the
    /// client's trace and the server's log.
    pub fn report(&self) -> String {
        format!(
            "stats={:?}\nserver={:?}\nnet={:?}\ntrace:\n{}\nserver log:\n{}",
            self.stats(),
            self.server.stats(),
            self.net.stats(),
            self.trace.borrow().join("\n"),
            self.server.log().join("\n")
        )
    }
}
