//! The host client end to end on loopback: echo, lifecycle (stop/start races, stop and
//! drop from inside the handler, send vs stop), self-healing, and memory placement.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{eventually, has, server, Log, Mode};
use portico::placement::sim::SimHeap;
use portico::placement::{MemoryRegions, Placement, Region};
use portico_ws::tokio::{Client, Config, Control, Handle, StartError};
use portico_ws::{
    BufferSizes, CloseCode, DisconnectReason, Event, Opcode, Reconnect, SendError, State,
};

fn logger() -> (Log, impl FnMut(Event<'_>, &Control) + Send + 'static) {
    let log: Log = Default::default();
    let l = log.clone();
    let h = move |ev: Event<'_>, _: &Control| {
        let s = match ev {
            Event::Data {
                opcode, payload, ..
            } => {
                format!("data {:?} {}", opcode, String::from_utf8_lossy(payload))
            }
            other => format!("{other:?}"),
        };
        l.lock().unwrap().push(s);
    };
    (log, h)
}

fn used(heap: &SimHeap) -> usize {
    heap.stats(Region::Internal).used + heap.stats(Region::External).used
}

fn cfg(url: &str) -> Config {
    let mut c = Config::new(url);
    c.settings.buffers = BufferSizes {
        rx: 1024,
        tx: 1024,
        message_initial: 256,
        max_message: 1 << 20,
    };
    c.settings.reconnect = Reconnect {
        enabled: true,
        min_delay_ms: 10,
        max_delay_ms: 50,
    };
    c
}

async fn connected(h: &Handle) {
    assert!(
        eventually(5, || h.state() == State::Connected).await,
        "never connected"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_stats_and_memory_back_to_baseline() {
    let (url, _) = server(Mode::Echo).await;
    let heap = SimHeap::new(1 << 20, 1 << 20);
    let (log, h) = logger();
    let handle = Client::start(cfg(&url), heap.clone(), h).unwrap();
    connected(&handle).await;
    handle.send_text("hello").await.unwrap();
    handle.send_binary(&[1, 2, 3]).await.unwrap();
    // Larger than the send buffer: goes out as several frames, comes back whole.
    let big = "x".repeat(5000);
    handle.send_text(&big).await.unwrap();
    assert!(eventually(5, || has(&log, "data Text hello")).await);
    assert!(eventually(5, || has(&log, &big)).await);
    let st = handle.stats();
    assert_eq!(
        (st.state, st.connects, st.reconnects),
        (State::Connected, 1, 0)
    );
    let blocks: Vec<_> = st.memory.iter().map(|b| b.block).collect();
    assert_eq!(blocks, ["rx", "tx", "message", "task"]);
    assert!(st
        .memory
        .iter()
        .take(3)
        .all(|b| b.region == Some(Region::External)));
    assert!(st.memory[3].bytes > 0);
    let json = serde_json::to_value(&st).unwrap();
    assert_eq!(json["state"], "connected");
    assert_eq!(json["memory"][0]["region"], "external");
    assert!(used(&heap) > 0);
    handle.stop_and_wait(Duration::from_secs(5)).await.unwrap();
    assert_eq!(used(&heap), 0);
    assert!(handle.memory_report().is_empty());
    assert_eq!(handle.state(), State::Stopped);
    assert_eq!(handle.send_text("late").await, Err(SendError::Closed));
    assert_eq!(handle.try_send_text("late"), Err(SendError::Closed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_rapid_stop_start_cycles() {
    let (url, _) = server(Mode::Echo).await;
    let heap = SimHeap::new(1 << 20, 1 << 20);
    let (_, h) = logger();
    let handle = Client::start(cfg(&url), heap.clone(), h).unwrap();
    for i in 0..10_000 {
        handle.stop();
        handle.start().unwrap();
        if i % 1000 == 0 {
            tokio::task::yield_now().await;
        }
        // Never more than one set of buffers, however many tasks are queued.
        assert!(used(&heap) <= 1024 + 1024 + 256);
    }
    connected(&handle).await;
    handle.send_text("still works").await.unwrap();
    handle
        .stop_and_wait(Duration::from_secs(30))
        .await
        .expect("no orphan task");
    assert_eq!(handle.live_tasks(), 0);
    assert_eq!(used(&heap), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_stops_from_inside_the_handler() {
    let (url, seen) = server(Mode::Echo).await;
    let heap = SimHeap::new(1 << 20, 0);
    let connects = Arc::new(AtomicUsize::new(0));
    let n = connects.clone();
    let h = move |ev: Event<'_>, c: &Control| {
        if let Event::Connected { .. } = ev {
            n.fetch_add(1, Ordering::SeqCst);
            c.stop(); // must not deadlock
            assert_eq!(c.state(), State::Stopped);
        }
    };
    let handle = Client::start(cfg(&url), heap.clone(), h).unwrap();
    for i in 1..=1000 {
        assert!(
            eventually(5, || handle.live_tasks() == 0).await,
            "cycle {i} hung"
        );
        assert_eq!(used(&heap), 0, "cycle {i} leaked");
        if i < 1000 {
            handle.start().unwrap();
        }
    }
    assert_eq!(connects.load(Ordering::SeqCst), 1000);
    assert_eq!(seen.accepted.load(Ordering::SeqCst), 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_last_handle_inside_the_handler_shuts_down() {
    let (url, _) = server(Mode::Echo).await;
    let heap = SimHeap::new(1 << 20, 0);
    let slot: Arc<Mutex<Option<Handle>>> = Default::default();
    let s = slot.clone();
    let h = move |ev: Event<'_>, _: &Control| {
        if let Event::Connected { .. } = ev {
            drop(s.lock().unwrap().take()); // the last handle
        }
    };
    let handle = Client::start(cfg(&url), heap.clone(), h).unwrap();
    *slot.lock().unwrap() = Some(handle);
    assert!(eventually(5, || slot.lock().unwrap().is_none()).await);
    assert!(
        eventually(5, || used(&heap) == 0).await,
        "buffers not freed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_from_the_handler_completes_the_handshake() {
    let (url, seen) = server(Mode::Echo).await;
    let heap = SimHeap::new(1 << 20, 0);
    // Data may still arrive while the closing handshake runs; only the first close is
    // the handler's request, a later one is correctly refused as already closing.
    let first = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let f = first.clone();
    let h = move |ev: Event<'_>, c: &Control| {
        if let Event::Data { .. } = ev {
            let r = c.close(CloseCode(4000), "done");
            if f.swap(false, std::sync::atomic::Ordering::SeqCst) {
                if let Err(e) = r {
                    panic!(
                        "first close from the handler refused: {e:?}, state {:?}",
                        c.state()
                    );
                }
            }
        }
    };
    let handle = Client::start(cfg(&url), heap.clone(), h).unwrap();
    connected(&handle).await;
    // Known race (seen under load, about 1 run in 80 with 8 test processes at once): the
    // send can report Closed although its echo arrived and triggered the close. The
    // close handshake below is what this test is about.
    let sent = handle.send_text("x").await;
    assert!(matches!(sent, Ok(()) | Err(SendError::Closed)), "{sent:?}");
    assert!(eventually(5, || handle.live_tasks() == 0).await);
    assert_eq!(*seen.closes.lock().unwrap(), vec![4000]);
    assert_eq!(handle.state(), State::Stopped);
    assert_eq!(used(&heap), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sends_and_stop_never_hang() {
    let (url, _) = server(Mode::Echo).await;
    let heap = SimHeap::new(1 << 20, 0);
    let (_, h) = logger();
    let handle = Client::start(cfg(&url), heap.clone(), h).unwrap();
    connected(&handle).await;
    let mut tasks = Vec::new();
    for t in 0..4 {
        let h = handle.clone();
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut closed) = (0, 0);
            for i in 0..100_000 {
                match h.send_text(&format!("{t}-{i}")).await {
                    Ok(()) => ok += 1,
                    Err(SendError::Closed) => {
                        closed += 1;
                        break;
                    }
                    Err(e) => panic!("unexpected {e:?}"),
                }
            }
            (ok, closed)
        }));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    handle.stop_and_wait(Duration::from_secs(5)).await.unwrap();
    for t in tasks {
        let (ok, closed) = tokio::time::timeout(Duration::from_secs(5), t)
            .await
            .expect("sender hung")
            .unwrap();
        assert!(ok > 0 && closed == 1, "ok {ok} closed {closed}");
    }
    assert_eq!(used(&heap), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_timeout_fails_that_send_only() {
    // The server stalls (reads nothing) for a while: the big send cannot finish in
    // time and fails alone; the connection stays up and later sends work.
    let (url, _) = server(Mode::Stall(Duration::from_millis(1500))).await;
    let heap = SimHeap::new(1 << 20, 0);
    let (log, h) = logger();
    let mut c = cfg(&url);
    c.settings.send_timeout_ms = 200;
    c.settings.network_timeout_ms = 30_000;
    c.settings.buffers.tx = 64 * 1024;
    let handle = Client::start(c, heap.clone(), h).unwrap();
    connected(&handle).await;
    let big = vec![7u8; 32 << 20];
    assert_eq!(handle.send_binary(&big).await, Err(SendError::Timeout));
    assert_eq!(handle.state(), State::Connected);
    let mut c2 = None;
    for _ in 0..50 {
        match handle.send_text("after").await {
            Ok(()) => {
                c2 = Some(());
                break;
            }
            Err(SendError::Timeout) => continue,
            Err(e) => panic!("{e:?}"),
        }
    }
    assert!(c2.is_some());
    assert!(eventually(10, || has(&log, "data Text after")).await);
    assert_eq!(handle.stats().connects, 1, "the connection was not dropped");
    handle.stop_and_wait(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_with_backoff_after_drops() {
    let (url, seen) = server(Mode::DropAfterHandshake).await;
    let heap = SimHeap::new(1 << 20, 0);
    let (log, h) = logger();
    let handle = Client::start(cfg(&url), heap.clone(), h).unwrap();
    assert!(eventually(5, || handle.stats().reconnects >= 3).await);
    assert!(has(&log, "Disconnected(ConnectionLost)"));
    assert!(seen.accepted.load(Ordering::SeqCst) >= 4);
    handle.stop_and_wait(Duration::from_secs(5)).await.unwrap();
    assert_eq!(used(&heap), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_ping_drops_the_connection() {
    let (url, _) = server(Mode::Stall(Duration::from_secs(60))).await;
    let heap = SimHeap::new(1 << 20, 0);
    let (log, h) = logger();
    let mut c = cfg(&url);
    c.settings.ping_interval_ms = Some(50);
    c.settings.pong_timeout_ms = 100;
    c.settings.reconnect = Reconnect::disabled();
    let handle = Client::start(c, heap.clone(), h).unwrap();
    assert!(eventually(5, || has(&log, "PongTimeout")).await);
    assert!(eventually(5, || handle.live_tasks() == 0).await);
    assert_eq!(used(&heap), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtt_is_measured() {
    let (url, _) = server(Mode::Echo).await;
    let heap = SimHeap::new(1 << 20, 0);
    let (_, h) = logger();
    let mut c = cfg(&url);
    c.settings.ping_interval_ms = Some(20);
    let handle = Client::start(c, heap.clone(), h).unwrap();
    assert!(eventually(5, || handle.stats().rtt_ms.is_some()).await);
    handle.stop_and_wait(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_over_the_cap_is_refused_with_1009() {
    let (url, seen) = server(Mode::Echo).await;
    let heap = SimHeap::new(1 << 22, 0);
    let (log, h) = logger();
    let mut c = cfg(&url);
    c.settings.buffers.max_message = 4096;
    c.settings.reconnect = Reconnect::disabled();
    let handle = Client::start(c, heap.clone(), h).unwrap();
    connected(&handle).await;
    // We may send it (sending is not capped); its echo is over our receive cap.
    let sent = handle.send_binary(&[0u8; 5000]).await;
    // Same known race as in close_from_the_handler_completes_the_handshake.
    assert!(matches!(sent, Ok(()) | Err(SendError::Closed)), "{sent:?}");
    assert!(eventually(5, || has(&log, "MessageTooBig")).await);
    assert!(eventually(5, || seen.closes.lock().unwrap().contains(&1009)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fragments_are_sent_in_order_and_misuse_is_refused() {
    let (url, _) = server(Mode::Echo).await;
    let heap = SimHeap::new(1 << 20, 0);
    let (log, h) = logger();
    let handle = Client::start(cfg(&url), heap.clone(), h).unwrap();
    connected(&handle).await;
    assert!(matches!(
        handle.send_fragment(Opcode::Continuation, true, b"x").await,
        Err(SendError::Order(_))
    ));
    handle
        .send_fragment(Opcode::Text, false, b"frag")
        .await
        .unwrap();
    assert!(matches!(
        handle.send_text("interleaved").await,
        Err(SendError::Order(_))
    ));
    handle
        .send_fragment(Opcode::Continuation, false, b"men")
        .await
        .unwrap();
    handle
        .send_fragment(Opcode::Continuation, true, b"ted")
        .await
        .unwrap();
    assert!(eventually(5, || has(&log, "data Text fragmented")).await);
    handle.stop_and_wait(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test]
async fn placement_external_absent_means_all_internal_and_reported() {
    let (url, _) = server(Mode::Echo).await;
    let heap = SimHeap::new(1 << 20, 0);
    let (_, h) = logger();
    let handle = Client::start(cfg(&url), heap.clone(), h).unwrap();
    connected(&handle).await;
    let mem = handle.memory_report();
    assert!(mem
        .iter()
        .filter(|b| b.block != "task")
        .all(|b| b.region == Some(Region::Internal)));
    assert_eq!(heap.stats(Region::Internal).used, 1024 + 1024 + 256);
    handle.stop_and_wait(Duration::from_secs(5)).await.unwrap();
    assert_eq!(used(&heap), 0);
}

#[tokio::test]
async fn placement_external_full_midway_falls_back() {
    let (url, _) = server(Mode::Echo).await;
    // Room in PSRAM for the receive buffer only.
    let heap = SimHeap::new(1 << 20, 1100);
    let (_, h) = logger();
    let handle = Client::start(cfg(&url), heap.clone(), h).unwrap();
    connected(&handle).await;
    let regions: Vec<_> = handle
        .memory_report()
        .iter()
        .map(|b| (b.block, b.region))
        .collect();
    assert_eq!(
        regions,
        [
            ("rx", Some(Region::External)),
            ("tx", Some(Region::Internal)),
            ("message", Some(Region::Internal)),
            ("task", None)
        ]
    );
    handle.stop_and_wait(Duration::from_secs(5)).await.unwrap();
    assert_eq!(used(&heap), 0);
}

#[tokio::test]
async fn placement_both_full_is_a_typed_error_and_nothing_leaks() {
    // The receive buffer fits in PSRAM, the send buffer in SRAM, the reassembly block
    // nowhere: the two blocks already placed must be returned.
    let heap = SimHeap::new(1100, 1100);
    let (_, h) = logger();
    let err = Client::start(cfg("ws://127.0.0.1:9/"), heap.clone(), h).unwrap_err();
    assert!(matches!(err, StartError::OutOfMemory(_)), "{err:?}");
    assert_eq!(used(&heap), 0);
    // Injected failure on a restart: start() reports it, the client stays stopped.
    let (url, _) = server(Mode::Echo).await;
    let heap = SimHeap::new(1 << 20, 1 << 20);
    let (_, h) = logger();
    let handle = Client::start(cfg(&url), heap.clone(), h).unwrap();
    handle.stop_and_wait(Duration::from_secs(5)).await.unwrap();
    heap.fail_region(Region::External, true);
    heap.fail_region(Region::Internal, true);
    assert!(matches!(handle.start(), Err(StartError::OutOfMemory(_))));
    assert_eq!(handle.state(), State::Stopped);
    heap.clear_faults();
    handle.start().unwrap();
    connected(&handle).await;
    handle.stop_and_wait(Duration::from_secs(5)).await.unwrap();
    assert_eq!(used(&heap), 0);
}

#[tokio::test]
async fn placement_internal_only_policy_is_honoured() {
    let (url, _) = server(Mode::Echo).await;
    let heap = SimHeap::new(1 << 20, 1 << 20);
    let (_, h) = logger();
    let mut c = cfg(&url);
    c.settings.placement = Placement::Internal;
    let handle = Client::start(c, heap.clone(), h).unwrap();
    connected(&handle).await;
    assert_eq!(heap.stats(Region::External).used, 0);
    handle.stop_and_wait(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test]
async fn bad_url_is_refused_at_start() {
    let (_, h) = logger();
    let err = Client::start(Config::new("http://x/"), SimHeap::new(1 << 20, 0), h).unwrap_err();
    assert!(matches!(err, StartError::Url(_)));
    let _ = DisconnectReason::Stopped;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_is_not_held_up_by_a_stalled_write() {
    // espressif/esp-protocols#841: close/stop hanging. The peer reads nothing; a 32 MiB send blocks in
    // the middle of a frame. Stop must still finish at once, not after the 60 s network
    // timeout, and the blocked send must learn that the client closed.
    let (url, _) = server(Mode::Stall(Duration::from_secs(60))).await;
    let heap = SimHeap::new(1 << 20, 0);
    let (_, h) = logger();
    let mut c = cfg(&url);
    c.settings.send_timeout_ms = 60_000;
    c.settings.network_timeout_ms = 60_000;
    c.settings.buffers.tx = 64 * 1024;
    let handle = Client::start(c, heap.clone(), h).unwrap();
    connected(&handle).await;
    let h2 = handle.clone();
    let send = tokio::spawn(async move { h2.send_binary(&vec![1u8; 32 << 20]).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!send.is_finished(), "the write should be stalled");
    let t0 = std::time::Instant::now();
    handle
        .stop_and_wait(Duration::from_secs(2))
        .await
        .expect("stop hung behind the write");
    assert!(t0.elapsed() < Duration::from_secs(2));
    let r = tokio::time::timeout(Duration::from_secs(2), send)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r, Err(SendError::Closed));
    assert_eq!(used(&heap), 0);
}
