//! Against an independent server: Python `websockets`, spawned by each test from
//! `tests/ws_server.py` with the interpreter in `$WS_PYTHON` (set by
//! `scripts/test-ws.sh`, which creates the venv). Built only with the `python-tests`
//! feature; with it, a missing interpreter fails loudly instead of skipping.

mod common;

use std::process::{Child, Command};
use std::time::Duration;

use common::{debug, eventually, has, start_logged, Log};
use portico::placement::sim::SimHeap;
use portico::placement::{MemoryRegions, Region};
use portico_testkit::spawn_announcing;
use portico_ws::tokio::{Config, Handle};
use portico_ws::{BufferSizes, CloseCode, Event, Reconnect, State};

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python() -> String {
    match std::env::var("WS_PYTHON") {
        Ok(p) if !p.is_empty() => p,
        _ => panic!(
            "WS_PYTHON is not set. These tests need a Python with `websockets` installed: \
             run scripts/test-ws.sh (it creates the venv and sets WS_PYTHON)."
        ),
    }
}

fn spawn_server(port: u16) -> Server {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ws_server.py");
    let (child, line) = spawn_announcing(
        Command::new(python())
            .arg(script)
            .arg("--port")
            .arg(port.to_string()),
    )
    .unwrap_or_else(|e| panic!("cannot run WS_PYTHON={}: {e}", python()));
    let port = line
        .strip_prefix("PORT ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| {
            panic!("python server did not start (said {line:?}); is `websockets` installed?")
        });
    Server { child, port }
}

fn start(url: String, reconnect: Reconnect) -> (Handle, Log, SimHeap) {
    start_with(Config::new(url), reconnect)
}

fn start_with(mut c: Config, reconnect: Reconnect) -> (Handle, Log, SimHeap) {
    c.settings.reconnect = reconnect;
    c.settings.buffers = BufferSizes {
        rx: 512,
        tx: 512,
        message_initial: 64,
        max_message: 1 << 20,
    };
    let heap = SimHeap::new(1 << 20, 1 << 20);
    let (h, log) = start_logged(c, heap.clone(), |ev| match ev {
        Event::Data {
            opcode, payload, ..
        } => format!("data {opcode:?} {payload:?}"),
        other => format!("{other:?}"),
    });
    (h, log, heap)
}

/// Connects to the server's `/deflate` offering permessage-deflate under a 4 KiB cap
/// (with client context takeover or not) and waits until the server has agreed.
async fn start_deflate(port: u16, client_takeover: bool) -> (Handle, Log, SimHeap) {
    let mut c = Config::new(format!("ws://127.0.0.1:{port}/deflate"));
    c.settings.compression.max_memory = 4096;
    c.settings.compression.client_takeover = client_takeover;
    let (h, log, heap) = start_with(c, Reconnect::disabled());
    assert!(
        eventually(10, || has(
            &log,
            bytes("permessage-deflate").trim_end_matches(']')
        ))
        .await,
        "{:?}",
        log.lock().unwrap()
    );
    (h, log, heap)
}

/// Stops the client and checks that it gave back every byte it placed.
async fn stop_and_check_freed(h: &Handle, heap: &SimHeap) {
    h.stop_and_wait(Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        heap.stats(Region::Internal).used + heap.stats(Region::External).used,
        0
    );
}

fn bytes(s: &str) -> String {
    format!("{:?}", s.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_and_echo() {
    let srv = spawn_server(0);
    let (h, log, heap) = start(
        format!("ws://127.0.0.1:{}/echo", srv.port),
        Reconnect::disabled(),
    );
    assert!(eventually(10, || h.state() == State::Connected).await);
    h.send_text("hello python").await.unwrap();
    let big: String = "é".repeat(3000); // 6000 bytes: several frames each way
    h.send_text(&big).await.unwrap();
    assert!(eventually(10, || has(&log, &bytes("hello python"))).await);
    assert!(eventually(10, || has(&log, &bytes(&big))).await);
    stop_and_check_freed(&h, &heap).await;
}

/// permessage-deflate against zlib (through `websockets`), which compresses with
/// context takeover: a 4 KiB cap makes the offer ask for a 2 KiB window, the server
/// agrees, and large compressible messages round-trip through that window.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compressed_echo_inside_a_4k_cap() {
    let srv = spawn_server(0);
    let (h, log, heap) = start_deflate(srv.port, false).await;
    let agreed = log
        .lock()
        .unwrap()
        .iter()
        .find(|l| l.starts_with("data"))
        .cloned()
        .unwrap();
    let inner = |s: &str| bytes(s).trim_matches(|c| c == '[' || c == ']').to_string();
    assert!(
        agreed.contains(&inner("server_max_window_bits=11")),
        "{agreed}"
    );
    let report = h.memory_report();
    assert!(
        report
            .iter()
            .any(|b| b.block == "inflate_window" && b.bytes == 2048),
        "{report:?}"
    );
    let doc = r#"{"version":"0.1.0","uptime_ms":5000,"config":{"bind":"127.0.0.1:8080"}},"#;
    for n in [1, 250, 2, 300] {
        let msg = doc.repeat(n);
        h.send_text(&msg).await.unwrap();
        assert!(eventually(10, || has(&log, &bytes(&msg))).await, "{n}");
    }
    let bin: Vec<u8> = (0..20_000u32).map(|i| (i * i % 251) as u8).collect();
    h.send_binary(&bin).await.unwrap();
    assert!(eventually(10, || has(&log, &format!("{bin:?}"))).await);
    stop_and_check_freed(&h, &heap).await;
}

/// Client context takeover against zlib: repeated documents refer back into the
/// earlier ones through our 1 KiB window, and zlib inflates them right.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compressed_echo_with_client_takeover() {
    let srv = spawn_server(0);
    let (h, log, _) = start_deflate(srv.port, true).await;
    let report = h.memory_report();
    assert!(
        report
            .iter()
            .any(|b| b.block == "deflate_window" && b.bytes == 1024),
        "{report:?}"
    );
    let doc = r#"{"version":"0.1.0","uptime_ms":5000,"config":{"bind":"127.0.0.1:8080"}}"#;
    for i in 0..20 {
        let msg = doc
            .replace("5000", &format!("{}", 5000 + i * 7))
            .repeat(1 + i % 3 * 20);
        h.send_text(&msg).await.unwrap();
        assert!(eventually(10, || has(&log, &bytes(&msg))).await, "{i}");
    }
    h.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fragmented_messages_are_reassembled() {
    let srv = spawn_server(0);
    let (h, log, _) = start(
        format!("ws://127.0.0.1:{}/fragments", srv.port),
        Reconnect::disabled(),
    );
    assert!(
        eventually(10, || has(&log, &bytes("fragmented"))).await,
        "{:?}",
        log.lock().unwrap()
    );
    assert!(eventually(10, || has(&log, "data Binary [1, 2, 3]")).await);
    h.stop_and_wait(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_ping_is_answered_and_client_ping_measures_rtt() {
    let srv = spawn_server(0);
    let mut c = Config::new(format!("ws://127.0.0.1:{}/ping", srv.port));
    c.settings.ping_interval_ms = Some(50);
    c.settings.reconnect = Reconnect::disabled();
    let (h, log) = start_logged(c, SimHeap::new(1 << 20, 0), debug);
    assert!(
        eventually(10, || has(&log, &bytes("pong-ok"))).await,
        "{:?}",
        log.lock().unwrap()
    );
    assert!(eventually(10, || h.stats().rtt_ms.is_some()).await);
    h.stop_and_wait(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_initiated_close() {
    let srv = spawn_server(0);
    let (h, log, heap) = start(
        format!("ws://127.0.0.1:{}/close", srv.port),
        Reconnect::disabled(),
    );
    assert!(
        eventually(10, || has(&log, "Closed(CloseCode(4001))")).await,
        "{:?}",
        log.lock().unwrap()
    );
    assert!(eventually(10, || h.live_tasks() == 0).await);
    assert!(
        has(&log, "Disconnected(Closed(CloseCode(4001)))"),
        "{:?}",
        log.lock().unwrap()
    );
    assert_eq!(heap.stats(Region::External).used, 0);
    let _ = CloseCode::NORMAL;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_dying_mid_frame_triggers_reconnect_with_backoff() {
    let srv = spawn_server(0);
    let policy = Reconnect {
        enabled: true,
        min_delay_ms: 50,
        max_delay_ms: 400,
    };
    let (h, log, _) = start(format!("ws://127.0.0.1:{}/midframe", srv.port), policy);
    assert!(
        eventually(15, || h.stats().reconnects >= 3).await,
        "{:?}",
        h.stats()
    );
    assert!(has(&log, "Disconnected(ConnectionLost)"));
    h.stop_and_wait(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_process_killed_then_restarted() {
    let srv = spawn_server(0);
    let port = srv.port;
    let policy = Reconnect {
        enabled: true,
        min_delay_ms: 50,
        max_delay_ms: 200,
    };
    let (h, log, _) = start(format!("ws://127.0.0.1:{port}/echo"), policy);
    assert!(eventually(10, || h.state() == State::Connected).await);
    drop(srv); // SIGKILL: no close frame, the TCP connection just ends
    assert!(eventually(10, || has(&log, "Disconnected(ConnectionLost)")).await);
    assert!(eventually(10, || h.state() != State::Connected).await);
    let _srv2 = spawn_server(port);
    assert!(
        eventually(15, || h.stats().reconnects >= 1
            && h.state() == State::Connected)
        .await,
        "{:?}",
        h.stats()
    );
    h.send_text("back").await.unwrap();
    assert!(eventually(10, || has(&log, &bytes("back"))).await);
    h.stop_and_wait(Duration::from_secs(5)).await.unwrap();
}
