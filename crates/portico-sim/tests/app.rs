//! The provider application on the device port, in the simulation: the documents the
//! dashboard reads, their shapes (the same public interface as the host provider's),
//! the live-updates stream, and memory exhaustion degrading instead of failing.

use std::net::Ipv4Addr;

use embassy_net::{IpEndpoint, Stack};
use portico::placement::sim::SimHeap;
use portico::placement::{MemoryRegions, Region};
use portico_embassy::profile::{self, RX, SOCKETS, TX};
use portico_embassy::PortConfig;
use portico_sim::app::{get, read_events, spawn_app_device, Response};
use portico_sim::clock;
use portico_sim::device::{spawn_stack, DEVICE_IP};
use portico_sim::executor::Executor;
use portico_sim::net::{LinkConfig, Network};
use serde_json::Value;

struct World {
    exec: Executor,
    client: Stack<'static>,
    server: IpEndpoint,
    heap: SimHeap,
}

fn world(seed: u64, heap: SimHeap) -> World {
    world_on(seed, heap, profile::config())
}

/// [`world`] with the port's settings given (its TCP port, say).
fn world_on(seed: u64, heap: SimHeap, config: PortConfig) -> World {
    let exec = Executor::new();
    let spawner = exec.spawner();
    let net = Network::new(LinkConfig::lan(), seed);
    let port = config.port;
    spawn_app_device::<SOCKETS, RX, TX>(&spawner, &net, config, seed, heap.clone());
    let ip = Ipv4Addr::new(10, 0, 0, 10);
    let client = spawn_stack(&spawner, &net, ip, seed ^ 1);
    World {
        exec,
        client,
        server: IpEndpoint::new(DEVICE_IP.into(), port),
        heap,
    }
}

impl World {
    /// Runs `f` on the simulated client to completion (virtual time).
    fn run<T: 'static>(&mut self, f: impl std::future::Future<Output = T> + 'static) -> T {
        self.exec.block_on(60_000, f)
    }

    fn get(&mut self, path: &'static str) -> Response {
        let (c, s) = (self.client, self.server);
        self.run(async move { get(c, s, path, 5_000).await })
            .expect("an answer")
    }

    fn json(&mut self, path: &'static str) -> Value {
        let r = self.get(path);
        assert_eq!(r.status, 200, "{path}: {r:?}");
        assert_eq!(r.header("content-type"), Some("application/json"), "{path}");
        assert_eq!(r.header("cache-control"), Some("no-store"), "{path}");
        serde_json::from_slice(&r.body)
            .unwrap_or_else(|e| panic!("{path}: {e}: {}", String::from_utf8_lossy(&r.body)))
    }
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    k.sort_unstable();
    k
}

fn sorted(mut k: Vec<&str>) -> Vec<&str> {
    k.sort_unstable();
    k
}

/// The documents' members: the host provider's public interface (`provider/tests`
/// checks the same lists against the host), plus the device's own status members.
const STATUS: &[&str] = &["version", "uptime_ms", "config"];
const STATUS_DEVICE: &[&str] = &["platform", "network", "sockets", "port"];
const CONFIG: &[&str] = &[
    "bind",
    "max_sockets",
    "stack_sockets",
    "backlog",
    "reserved_sockets",
    "lru_purge",
    "evict_streams",
    "per_peer_cap",
    "pool_buffers",
    "pool_chunk",
    "internal_ram",
    "psram",
    "upstream",
    "api_delay_ms",
    "head_timeout_ms",
    "idle_timeout_ms",
    "queue_timeout_ms",
];
const CONNECTIONS: &[&str] = &[
    "open",
    "cap",
    "idle",
    "active",
    "streams",
    "pending",
    "parked",
    "counters",
    "connections",
    "recent_evictions",
];
const POOL: &[&str] = &[
    "chunks",
    "chunk_size",
    "allocated",
    "leased",
    "high_water",
    "waits",
    "timeouts",
    "alloc_failures",
    "in_internal",
    "in_external",
    "leases",
    "placement",
];
const LINK: &[&str] = &[
    "configured",
    "url",
    "state",
    "connects",
    "reconnects",
    "last_error",
    "rtt_ms",
    "messages_in",
    "memory",
];

#[test]
fn the_device_serves_the_providers_documents() {
    let mut w = world(3, SimHeap::new(320 * 1024, 0));

    let status = w.json("/api/status");
    assert_eq!(keys(&status), sorted([STATUS, STATUS_DEVICE].concat()));
    assert_eq!(keys(&status["config"]), sorted(CONFIG.to_vec()));
    assert_eq!(status["platform"], "sim");
    assert_eq!(status["config"]["max_sockets"], profile::CAP);
    assert_eq!(status["config"]["backlog"], SOCKETS - profile::CAP);
    assert_eq!(status["config"]["internal_ram"], 320 * 1024);
    // Deadlines go out as numbers of milliseconds (the `/api` is public): the core's
    // defaults are 5 s for a head, 10 s idle, 2 s in the queue.
    assert_eq!(status["config"]["head_timeout_ms"], 5_000, "{status}");
    assert_eq!(status["config"]["idle_timeout_ms"], 10_000, "{status}");
    assert_eq!(status["config"]["queue_timeout_ms"], 2_000, "{status}");
    assert_eq!(status["config"]["api_delay_ms"], 0, "{status}");
    assert_eq!(status["sockets"]["pool"], SOCKETS);
    // Sockets beyond the one serving us are listening: the accept strategy.
    assert!(
        status["sockets"]["listening"].as_u64().unwrap() >= 1,
        "{status}"
    );
    assert_eq!(status["port"]["listen_gaps"], 0);

    let conns = w.json("/api/connections");
    assert_eq!(keys(&conns), sorted(CONNECTIONS.to_vec()));
    assert_eq!(conns["cap"], profile::CAP);
    // Our own request, seen mid-exchange from 10.0.0.10.
    let list = conns["connections"].as_array().unwrap();
    assert!(
        list.iter()
            .any(|c| c["peer"].as_str().unwrap().starts_with("10.0.0.10:")
                && c["state"] == "handler"),
        "{conns}"
    );
    // One connection per request so far (`Connection: close`): status, connections.
    assert_eq!(conns["counters"]["accepted"], 2, "{conns}");

    let pool = w.json("/api/pool");
    assert_eq!(keys(&pool), sorted(POOL.to_vec()));
    assert_eq!(pool["chunk_size"], profile::CHUNK_SIZE);
    assert_eq!(pool["leased"], 1, "this request's buffer: {pool}");

    let memory = w.json("/api/memory");
    let regions = memory["regions"].as_array().unwrap();
    assert_eq!(regions[0]["name"], "internal");
    assert_eq!(regions[0]["capacity"], 320 * 1024);
    assert!(regions[0]["used"].as_u64().unwrap() >= profile::CHUNK_SIZE as u64);
    assert_eq!(regions[1]["name"], "external");
    assert_eq!(regions[1]["capacity"], 0);

    let link = w.json("/api/link");
    assert_eq!(keys(&link), sorted(LINK.to_vec()));
    assert_eq!(link["configured"], false);
    assert_eq!(link["state"], "disabled");

    // The static site and the API's errors come from the same application.
    let page = w.get("/index.html");
    assert_eq!(page.status, 200);
    assert!(String::from_utf8_lossy(&page.body).contains("<h1>Portico</h1>"));
    assert_eq!(w.get("/api/nope").status, 404);
}

#[test]
fn status_reports_the_port_the_device_listens_on() {
    for port in [80, 8080] {
        let config = PortConfig {
            port,
            ..profile::config()
        };
        let mut w = world_on(4, SimHeap::new(320 * 1024, 0), config);
        let status = w.json("/api/status");
        assert_eq!(
            status["config"]["bind"],
            format!("0.0.0.0:{port}"),
            "{status}"
        );
    }
}

#[test]
fn live_updates_arrive_once_a_second() {
    let mut w = world(5, SimHeap::new(320 * 1024, 0));
    let (c, s) = (w.client, w.server);
    let events = w.run(async move { read_events(c, s, 3, 10_000).await });
    assert_eq!(events.len(), 3, "{events:?}");
    let snaps: Vec<Value> = events
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    for snap in &snaps {
        assert_eq!(
            keys(snap),
            ["connections", "link", "memory", "pool", "status"],
            "{snap}"
        );
    }
    // The first is rendered while the handler still answers; from then on the stream is
    // in the table as a stream, not as an idle connection that could be evicted.
    assert_eq!(
        snaps[0]["connections"]["connections"][0]["state"],
        "response"
    );
    assert_eq!(snaps[1]["connections"]["streams"], 1, "{}", snaps[1]);
    assert_eq!(snaps[2]["connections"]["streams"], 1, "{}", snaps[2]);
    let t: Vec<u64> = snaps
        .iter()
        .map(|s| s["status"]["uptime_ms"].as_u64().unwrap())
        .collect();
    // The first at once, then one a second (virtual time: exact to the LAN's latency).
    assert!((900..=1_200).contains(&(t[1] - t[0])), "{t:?}");
    assert!((900..=1_200).contains(&(t[2] - t[1])), "{t:?}");
}

#[test]
fn exhausted_memory_skips_events_and_keeps_the_api_up() {
    let mut w = world(9, SimHeap::new(320 * 1024, 1024 * 1024));
    // Warm up: the request buffer exists, so API answers need no further allocation.
    w.json("/api/status");
    let baseline = w.heap.stats(Region::Internal).used + w.heap.stats(Region::External).used;

    // Every region refuses from now on: the snapshots are drawn from the heap (PSRAM
    // first) and cannot be rendered, so for 3.5 s the stream sends nothing, yet it stays
    // open...
    w.heap.fail_region(Region::Internal, true);
    w.heap.fail_region(Region::External, true);
    let (c, s) = (w.client, w.server);
    let starved = w.run(async move { read_events(c, s, 1, 3_500).await });
    assert!(starved.is_empty(), "{starved:?}");
    // ...and the documents that fit in the connection buffer are still served.
    let status = w.json("/api/status");
    assert_eq!(status["platform"], "sim");

    // Memory back: events flow again, and nothing leaked meanwhile.
    w.heap.clear_faults();
    let (c, s) = (w.client, w.server);
    let events = w.run(async move { read_events(c, s, 2, 5_000).await });
    assert_eq!(events.len(), 2, "{events:?}");
    let snap: Value = serde_json::from_str(&events[1]).unwrap();
    // The snapshots are in external RAM while they are sent, internal RAM stays free.
    assert!(
        snap["memory"]["regions"][1]["used"].as_u64().unwrap() > 0,
        "{snap}"
    );
    assert!(
        w.heap.stats(Region::Internal).failures > 0 || w.heap.stats(Region::External).failures > 0
    );
    let settle = clock::now() + clock::ms(1_000);
    w.exec.run_until(settle, || false);
    let after = w.heap.stats(Region::Internal).used + w.heap.stats(Region::External).used;
    assert_eq!(after, baseline, "a block outlived its response");
}
