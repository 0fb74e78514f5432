//! The browser-burst scenario: ten browsers each open six keep-alive connections to the
//! device one after another, then a newcomer loads the page.

use std::cell::RefCell;
use std::net::Ipv4Addr;
use std::rc::Rc;

use embassy_net::{IpEndpoint, StackResources};
use embassy_time::Timer;
use portico_embassy::{PortConfig, PortSnapshot};

use crate::browser::{spawn_browser, BrowserConfig, BrowserLog};
use crate::clock;
use crate::device::{site_paths, spawn_device, static_config, DEVICE_IP};
use crate::executor::{Executor, RunEnd};
use crate::net::{LinkConfig, NetStats, Network};

/// Scenario settings.
#[derive(Debug, Clone)]
pub struct Burst {
    /// Seed for the network, the stacks and everything else random.
    pub seed: u64,
    /// Link model.
    pub link: LinkConfig,
    /// Browsers that arrive before the newcomer.
    pub browsers: usize,
    /// Connections per browser.
    pub connections: usize,
    /// Time between browser arrivals, ms.
    pub arrival_gap_ms: u64,
    /// How long a request may take before a browser gives up, ms.
    pub request_timeout_ms: u64,
    /// The device's port settings.
    pub port: PortConfig,
    /// Resources each browser loads, page first.
    pub resources: Vec<&'static str>,
    /// Connections the newcomer opens.
    pub newcomer_connections: usize,
    /// How long the device's `/slow` handler stays busy, ms.
    pub slow_ms: u64,
}

impl Burst {
    /// Ten browsers × six connections, 300 ms apart, on a quiet LAN, with the
    /// firmware's port settings.
    pub fn ten_browsers(seed: u64) -> Self {
        Burst {
            seed,
            link: LinkConfig::lan(),
            browsers: 10,
            connections: 6,
            arrival_gap_ms: 300,
            request_timeout_ms: 10_000,
            port: portico_embassy::profile::config(),
            resources: site_paths(),
            newcomer_connections: 6,
            slow_ms: 0,
        }
    }

    /// Every admitted connection busy in a slow handler, then a newcomer: it is held
    /// unread on a spare socket, and admitted if a handler finishes within the queue
    /// deadline, answered `503` otherwise.
    pub fn saturated(seed: u64, slow_ms: u64) -> Self {
        let port = portico_embassy::profile::config();
        Burst {
            browsers: port.cap,
            connections: 1,
            arrival_gap_ms: 1,
            resources: vec!["/slow"],
            newcomer_connections: 1,
            slow_ms,
            ..Burst::ten_browsers(seed)
        }
    }
}

/// What happened.
#[derive(Debug, Clone)]
pub struct BurstReport {
    /// The browsers that came first.
    pub browsers: Vec<BrowserLog>,
    /// The newcomer.
    pub newcomer: BrowserLog,
    /// The device pool at the end (Portico only).
    pub device: Option<PortSnapshot>,
    /// Network counters.
    pub net: NetStats,
    /// Virtual time at the end, ms.
    pub virtual_ms: u64,
    /// How the run ended.
    pub end: RunEnd,
    /// Task polls (work done).
    pub polls: u64,
}

/// What the scenario needs from the server under test.
pub struct DeviceHandle {
    /// Does the server hold a connection it could give up right now? (Classifies resets.)
    pub evictable: Box<dyn Fn() -> bool>,
    /// The server's own counters, when it is Portico's port.
    pub snapshot: Box<dyn Fn() -> Option<PortSnapshot>>,
}

impl BurstReport {
    /// The Portico port's snapshot (panics for other servers).
    pub fn port(&self) -> &PortSnapshot {
        self.device.as_ref().expect("a Portico device")
    }

    /// Resets clients saw in total: refused connection attempts plus resets of
    /// established connections.
    pub fn resets_seen(&self) -> u64 {
        self.net.syn_resets + self.net.conn_resets
    }

    /// Browsers (newcomer included) whose whole page loaded.
    pub fn pages_loaded(&self) -> usize {
        self.browsers
            .iter()
            .chain([&self.newcomer])
            .filter(|b| b.page_loaded())
            .count()
    }
}

/// Runs the scenario against Portico's port with `N` sockets of `RX`/`TX` bytes.
pub fn run_burst<const N: usize, const RX: usize, const TX: usize>(s: &Burst) -> BurstReport {
    let (port, seed, slow) = (s.port, s.seed ^ 0xD0, s.slow_ms);
    run_burst_with(s, move |spawner, net| {
        let pool = spawn_device::<N, RX, TX>(spawner, net, port, seed, slow);
        DeviceHandle {
            evictable: Box::new(move || pool.snapshot().evictable > 0),
            snapshot: Box::new(move || Some(pool.snapshot())),
        }
    })
}

/// Runs the scenario against any server that `spawn` starts on the network at
/// [`DEVICE_IP`], port `s.port.port`.
pub fn run_burst_with(
    s: &Burst,
    spawn: impl FnOnce(&crate::executor::Spawner, &Network) -> DeviceHandle,
) -> BurstReport {
    let mut exec = Executor::new();
    let spawner = exec.spawner();
    let net = Network::new(s.link, s.seed);
    let device = spawn(&spawner, &net);
    let evictable = device.evictable;
    net.watch_server(DEVICE_IP, evictable);
    let server = IpEndpoint::new(DEVICE_IP.into(), s.port.port);

    let mut client_stacks = Vec::new();
    for i in 0..=s.browsers {
        let ip = Ipv4Addr::new(10, 0, 0, 10 + i as u8);
        let resources: &'static mut StackResources<16> = Box::leak(Box::new(StackResources::new()));
        let (stack, mut runner) = embassy_net::new(
            net.attach(ip),
            static_config(ip),
            resources,
            s.seed ^ (0x100 + i as u64),
        );
        spawner.spawn(async move {
            runner.run().await;
        });
        client_stacks.push(stack);
    }

    let logs: Rc<RefCell<Vec<Rc<RefCell<BrowserLog>>>>> = Rc::default();
    let config = BrowserConfig {
        connections: s.connections,
        resources: s.resources.clone(),
        request_timeout_ms: s.request_timeout_ms,
        preconnect: true,
    };
    let newcomer = BrowserConfig {
        connections: s.newcomer_connections,
        resources: site_paths(),
        ..config.clone()
    };
    {
        let (logs, spawner2, stacks, gap) = (
            logs.clone(),
            spawner.clone(),
            client_stacks.clone(),
            s.arrival_gap_ms,
        );
        spawner.spawn(async move {
            let last = stacks.len() - 1;
            for (i, stack) in stacks.into_iter().enumerate() {
                Timer::after_millis(gap).await;
                let c = if i == last {
                    newcomer.clone()
                } else {
                    config.clone()
                };
                let log = spawn_browser(&spawner2, stack, server, c);
                logs.borrow_mut().push(log);
            }
        });
    }

    let total = s.browsers + 1;
    let limit = clock::ms(s.arrival_gap_ms * total as u64 + s.request_timeout_ms * 2);
    let end = exec.run_until(limit, || {
        let l = logs.borrow();
        l.len() == total && l.iter().all(|b| b.borrow().finished_ms.is_some())
    });
    // Let the last closes and evictions settle for one more second.
    let settle = clock::now() + clock::ms(1_000);
    exec.run_until(settle, || false);

    let mut browsers: Vec<BrowserLog> = logs.borrow().iter().map(|b| b.borrow().clone()).collect();
    let newcomer = if browsers.len() == total {
        browsers.pop().unwrap_or_default()
    } else {
        BrowserLog::default()
    };
    BurstReport {
        browsers,
        newcomer,
        device: (device.snapshot)(),
        net: net.stats(),
        virtual_ms: clock::now() * 1000 / clock::TICK_HZ,
        end,
        polls: exec.polls,
    }
}
