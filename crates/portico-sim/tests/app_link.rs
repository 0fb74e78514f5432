//! The device as the firmware runs it: the provider application serving on the port's
//! sockets while the upstream WebSocket client runs on the same stack, its buffers and
//! its socket's placed from the same heap, reported by `/api/link`, and the status
//! document sent upstream as the device's heartbeat.

use std::cell::RefCell;
use std::net::Ipv4Addr;

use embassy_net::IpEndpoint;
use embassy_time::Duration;
use portico::placement::sim::SimHeap;
use portico::placement::{MemoryRegions, Region};
use portico_app::embassy::{report_status, WsLink};
use portico_embassy::place_socket_buffer;
use portico_embassy::profile::{self, RX, SOCKETS, TX};
use portico_sim::app::{get, serve_app};
use portico_sim::device::{spawn_device_stack, spawn_stack, DEVICE_IP};
use portico_sim::executor::Executor;
use portico_sim::net::{LinkConfig, Network};
use portico_sim::rng::Rng;
use portico_sim::upstream::{spawn_upstream, spawn_upstream_tls, TestPki, UPSTREAM_IP};
use portico_ws::embassy::{Client, Config, EmbassyPort, Handle, TlsOptions};
use portico_ws::{Event, MemoryBlock, Reconnect, Settings};
use serde_json::Value;

const URL: &str = "ws://10.0.0.200:8080/device";
const URL_TLS: &str = "wss://10.0.0.200:8080/device";

/// A socket buffer placed by policy, kept for the device's life (as the firmware's are).
fn socket_buffer(heap: &SimHeap, name: &'static str) -> (&'static mut [u8], MemoryBlock) {
    let (block, report) = place_socket_buffer(heap, name, 4096).expect("room for the socket");
    (Box::leak(Box::new(block)).as_mut(), report)
}

#[test]
fn the_link_runs_beside_the_server_and_is_reported() {
    the_link(URL, None);
}

#[test]
fn the_wss_link_runs_beside_the_server_and_reports_its_tls_blocks() {
    the_link(URL_TLS, Some(TestPki::new("10.0.0.200")));
}

fn the_link(url: &'static str, tls: Option<TestPki>) {
    let seed = 11;
    let mut exec = Executor::new();
    let spawner = exec.spawner();
    let net = Network::new(LinkConfig::lan(), seed);
    let ca: &'static [u8] = match &tls {
        Some(pki) => Box::leak(pki.ca.clone().into_boxed_slice()),
        None => &[],
    };
    let upstream = match tls {
        Some(pki) => spawn_upstream_tls(&spawner, &net, UPSTREAM_IP, 2, seed ^ 0x5E, pki.server),
        None => spawn_upstream(&spawner, &net, UPSTREAM_IP, 2, seed ^ 0x5E),
    };
    // An ESP32-S3 with PSRAM.
    let heap = SimHeap::new(320 * 1024, 8 * 1024 * 1024);
    let stack = spawn_device_stack(&spawner, &net, seed);

    // The link, as the firmware sets it up.
    let rng = RefCell::new(Rng::new(seed));
    let random = move |dst: &mut [u8]| rng.borrow_mut().fill(dst);
    let (rx, rx_block) = socket_buffer(&heap, "socket_rx");
    let (tx, tx_block) = socket_buffer(&heap, "socket_tx");
    let port: &'static EmbassyPort<'static, _> =
        Box::leak(Box::new(EmbassyPort::new(stack.stack, rx, tx, random)));
    let client: &'static Client = Box::leak(Box::new(Client::new(Config {
        settings: Settings {
            reconnect: Reconnect {
                enabled: true,
                min_delay_ms: 500,
                max_delay_ms: 2_000,
            },
            ..Settings::const_default()
        },
        tls: TlsOptions::with_ca(ca),
        ..Config::new(url)
    })));
    let mem = heap.clone();
    spawner.spawn(async move {
        client
            .run(port, mem, |_: Event<'_>, _: &Handle<'_>| {})
            .await;
    });
    let link: &'static WsLink<'static, _, 8> = Box::leak(Box::new(WsLink {
        client,
        socket: [rx_block, tx_block],
    }));

    // The application on the same stack, reporting that link.
    let app = serve_app::<SOCKETS, RX, TX>(
        &spawner,
        stack,
        profile::config(),
        heap.clone(),
        Some((url, link)),
    );
    spawner.spawn(async move {
        report_status(app, client, Duration::from_secs(2)).await;
    });
    client.handle().start();

    // A browser on the LAN.
    let ip = Ipv4Addr::new(10, 0, 0, 10);
    let browser = spawn_stack(&spawner, &net, ip, seed ^ 7);
    let server = IpEndpoint::new(DEVICE_IP.into(), 80);
    let fetch = |exec: &mut Executor, path: &'static str, after_ms: u64| -> Value {
        exec.block_on(after_ms + 10_000, async move {
            embassy_time::Timer::after_millis(after_ms).await;
            let r = get(browser, server, path, 5_000).await.expect("an answer");
            assert_eq!(r.status, 200);
            serde_json::from_slice::<Value>(&r.body).unwrap()
        })
    };

    let l = fetch(&mut exec, "/api/link", 1_000);
    assert_eq!(l["configured"], true, "{l}");
    assert_eq!(l["url"], url);
    assert_eq!(l["state"], "connected", "{l}");
    assert_eq!(l["connects"], 1);
    // Every block and where it lives: the client's buffers and its socket's, in PSRAM
    // (external first); its task's state is the executor's.
    let blocks: Vec<(String, String)> = l["memory"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["block"].as_str().unwrap().to_owned(),
                b["region"].as_str().unwrap_or("null").to_owned(),
            )
        })
        .collect();
    let mut placed = vec!["rx", "tx", "message", "socket_rx", "socket_tx"];
    if url.starts_with("wss:") {
        placed.extend(["tls_rx", "tls_tx"]);
        // The session's keys: on the global heap, not placed by the policy.
        assert!(
            blocks
                .iter()
                .any(|(b, r)| b == "tls_session" && r == "heap"),
            "{blocks:?}"
        );
    }
    for name in &placed {
        assert!(
            blocks.iter().any(|(b, r)| b == name && r == "external"),
            "{name} not in external RAM: {blocks:?}"
        );
    }
    let status = fetch(&mut exec, "/api/status", 0);
    assert_eq!(status["config"]["upstream"], url);
    let memory = fetch(&mut exec, "/api/memory", 0);
    let external_used = memory["regions"][1]["used"].as_u64().unwrap();
    assert!(external_used >= 2 * 4096 + 2 * 4096, "{memory}");

    // The heartbeat: the status document, every 2 s while connected.
    let before = upstream.stats().text_in;
    let _ = fetch(&mut exec, "/api/status", 5_000);
    let beats = upstream.stats().text_in - before;
    assert!((2..=3).contains(&beats), "{beats} heartbeats in 5 s");

    // The server drops the link: the client comes back, the application says so, and the
    // HTTP side never noticed.
    upstream.drop_all();
    let l = fetch(&mut exec, "/api/link", 4_000);
    assert_eq!(l["state"], "connected", "{l}");
    assert_eq!(l["reconnects"], 1, "{l}");
    assert!(l["last_error"].is_string(), "{l}");
    let conns = fetch(&mut exec, "/api/connections", 0);
    assert_eq!(conns["counters"]["refused_503"], 0);
    assert!(
        heap.stats(Region::Internal).failures == 0,
        "no allocation failed"
    );
}
