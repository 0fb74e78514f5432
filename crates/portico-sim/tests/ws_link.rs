//! The device's upstream link (`portico_ws::embassy`) on a simulated device stack with a
//! simulated two-region heap, against a tungstenite server on its own stack, in virtual
//! time. Every run is seeded: same seed, same run.

use portico::placement::sim::SimHeap;
use portico::placement::{MemoryRegions, Region};
use portico_sim::executor::RunEnd;
use portico_sim::link::{connected, now_ms, LinkSim, React, Setup, QUICK};
use portico_sim::net::{LinkConfig, NetStats};
use portico_ws::embassy::{Config, Stats};
use portico_ws::{CloseCode, SendError, Settings, State};

const URL: &str = "ws://10.0.0.200:8080/link";

/// Keep-alive every second, and quick reconnects, so that seconds of virtual time show
/// several of each.
const SETTINGS: Settings = QUICK;

type Sim = LinkSim;

fn sim(seed: u64, link: LinkConfig, heap: SimHeap, react: React) -> Sim {
    LinkSim::new(Setup {
        seed,
        link,
        heap,
        config: Config {
            settings: SETTINGS,
            ..Config::new(URL)
        },
        tls: None,
        react,
    })
}

/// A simulation whose client has started and connected.
fn connected_sim(seed: u64, link: LinkConfig, heap: SimHeap, react: React) -> Sim {
    let mut s = sim(seed, link, heap, react);
    assert_eq!((s.heap_used(), s.stats().state), (0, State::Stopped));
    s.start_and_connect();
    s
}

/// 320 KiB of SRAM and 8 MiB of PSRAM (an ESP32-S3 N8R8).
fn with_psram() -> SimHeap {
    SimHeap::new(320 * 1024, 8 << 20)
}

fn quiet() -> React {
    Box::new(|_, _| {})
}

fn lossy() -> LinkConfig {
    LinkConfig {
        loss_per_million: 10_000,
        ..LinkConfig::lan()
    }
}

/// Connects, echoes text and binary, and reports its blocks where placement put them.
fn connect_and_echo(heap: SimHeap, region: Region) {
    let mut s = connected_sim(1, LinkConfig::lan(), heap, quiet());
    s.handle().try_send_text("hello").unwrap();
    s.handle().try_send_binary(&[1, 2, 3]).unwrap();
    s.run_until(2_000, |s| s.stats().messages_in == 2);
    assert_eq!(s.saw("data Text hello"), 1, "{}", s.report());
    assert_eq!(s.saw("data Binary \u{1}\u{2}\u{3}"), 1, "{}", s.report());
    // Past a ping interval: the server answered a ping, the round trip is measured.
    s.run_for(1_500);

    let st = s.stats();
    assert_eq!(st.state, State::Connected, "{}", s.report());
    assert_eq!(st.url, URL);
    assert_eq!((st.connects, st.reconnects, st.messages_in), (1, 0, 2));
    assert!(
        st.rtt_ms.is_some() && s.server.stats().pings >= 1,
        "{}",
        s.report()
    );
    let blocks: Vec<_> = st.memory.iter().map(|b| (b.block, b.bytes)).collect();
    assert_eq!(blocks, [("rx", 4096), ("tx", 4096), ("message", 1024)]);
    assert!(st.memory.iter().all(|b| b.region == Some(region)), "{st:?}");
    // The report is the heap's truth: every byte used is a block listed, in its region.
    assert_eq!(s.heap.stats(region).used, 4096 + 4096 + 1024);
    assert_eq!(s.heap_used(), s.heap.stats(region).used);
    assert_eq!(s.server.stats().text_in, 1);
    assert_eq!(s.server.stats().binary_in, 1);
}

#[test]
fn connects_and_echoes_with_buffers_in_psram() {
    // External first (the default placement) with PSRAM fitted: every block there.
    connect_and_echo(SimHeap::new(320 * 1024, 8 << 20), Region::External);
}

#[test]
fn connects_and_echoes_without_psram_falling_back_to_sram() {
    // External first, but no PSRAM: every block falls back to internal SRAM.
    connect_and_echo(SimHeap::new(320 * 1024, 0), Region::Internal);
}

#[test]
fn the_client_task_is_small() {
    let s = sim(10, LinkConfig::lan(), with_psram(), quiet());
    let bytes = s.run_future_bytes;
    println!("client task future: {bytes} B");
    // Everything large is placed on the heap; the task itself holds the driver's state
    // machine. A budget, so that growth shows (64-bit host; smaller on the device).
    // 2,904 B before device TLS; 3,440 B with it (the per-connection memory slot); 4,216 B
    // with the run-time link settings (each run's own copy and borrowed view of them);
    // 4,376 B after the merge with permessage-deflate's driver, 5,056 B when the
    // workspace builds `portico-ws` with `deflate` too (the connection carries the
    // codec's handles, the run loop its offer).
    assert!((256..5_632).contains(&bytes), "{bytes}");
}

#[test]
fn too_little_memory_stops_with_an_error() {
    let mut s = sim(2, LinkConfig::lan(), SimHeap::new(6 * 1024, 0), quiet());
    s.handle().start();
    s.run_for(1_000);
    let st = s.stats();
    assert_eq!(st.state, State::Stopped, "{}", s.report());
    assert!(
        st.last_error
            .as_deref()
            .unwrap_or("")
            .contains("out of memory"),
        "{st:?}"
    );
    assert_eq!((s.heap_used(), s.handle().live_runs()), (0, 0));
    assert_eq!(s.server.stats().accepted, 0);
}

/// Drops every connection `drops` times; the client must come back each time, after a
/// backoff, and the link must still echo.
fn reconnects_after_drops(link: LinkConfig, seed: u64, drops: u64) -> Sim {
    let mut s = connected_sim(seed, link, with_psram(), quiet());
    for n in 1..=drops {
        s.run_for(700);
        let before = s.saw("Disconnected");
        s.server.drop_all();
        let dropped_at = now_ms();
        let end = s.run_until(20_000, |s| s.saw("Disconnected") > before && connected(s));
        assert_eq!(end, RunEnd::Done, "drop {n}\n{}", s.report());
        assert_eq!(s.stats().reconnects, n, "{}", s.report());
        // Not at once: the first backoff step is 250–500 ms.
        assert!(now_ms() - dropped_at >= 250, "drop {n}\n{}", s.report());
        // Traffic through the new connection, every message echoed once.
        for i in 0..20 {
            s.handle()
                .try_send_text(&format!("after drop {n}: {i}"))
                .unwrap();
            s.run_for(20);
        }
        let prefix = format!("after drop {n}: ");
        let echoed = s.run_until(10_000, |s| s.saw(&prefix) == 20);
        assert_eq!(echoed, RunEnd::Done, "{}", s.report());
    }
    assert!(s.server.stats().dropped >= drops, "{}", s.report());
    s
}

#[test]
fn reconnects_after_the_server_drops_the_connection() {
    let s = reconnects_after_drops(LinkConfig::lan(), 3, 3);
    let st = s.stats();
    assert_eq!((st.connects, st.reconnects), (4, 3), "{}", s.report());
    assert_eq!(s.server.stats().accepted, 4, "{}", s.report());
}

#[test]
fn reconnects_with_one_percent_packet_loss() {
    let s = reconnects_after_drops(lossy(), 4, 6);
    println!("{}", s.report());
    assert!(s.net.stats().lost > 0, "{}", s.report());
    assert_eq!(s.stats().reconnects, 6, "{}", s.report());
}

#[test]
fn backs_off_while_the_server_refuses_then_reconnects() {
    let mut s = connected_sim(5, LinkConfig::lan(), with_psram(), quiet());
    s.server.refuse_for(5_000);
    s.server.drop_all();
    s.run_for(4_000);
    // Refused meanwhile: TCP connects fail, with growing delays (not a tight loop).
    let failures = s.saw("Tcp");
    assert!((2..=6).contains(&failures), "{failures}\n{}", s.report());
    assert_ne!(s.stats().state, State::Connected);
    let err = s.stats().last_error.unwrap_or_default();
    assert!(err.contains("TCP connect failed"), "{err}");
    assert_eq!(
        s.run_until(15_000, connected),
        RunEnd::Done,
        "{}",
        s.report()
    );
    assert_eq!(s.stats().reconnects, 1);
    println!("{}", s.report());
}

#[test]
fn holds_no_buffers_while_the_server_is_unreachable_and_places_them_again() {
    // Without PSRAM, as on an ESP32-C3: the 9 KiB would otherwise stay in internal SRAM
    // for the whole outage.
    let mut s = connected_sim(6, LinkConfig::lan(), SimHeap::new(320 * 1024, 0), quiet());
    assert_eq!(s.heap.stats(Region::Internal).used, 4096 + 4096 + 1024);
    s.server.refuse_for(20_000);
    s.server.drop_all();
    // Several connect attempts and backoffs: at no point of it is a block held.
    let mut samples = 0;
    let mut held = 0;
    for _ in 0..100 {
        s.run_for(150);
        if s.stats().state != State::Connected {
            samples += 1;
            held = held.max(s.heap_used());
            assert!(s.stats().memory.is_empty(), "{:?}", s.stats());
        }
    }
    assert!(samples > 50, "{}", s.report());
    assert_eq!(held, 0, "{}", s.report());
    assert!(s.saw("Tcp") >= 3, "{}", s.report());
    // Reachable again: placed again, alike, and the link works.
    assert_eq!(
        s.run_until(20_000, connected),
        RunEnd::Done,
        "{}",
        s.report()
    );
    let blocks: Vec<_> = s
        .stats()
        .memory
        .iter()
        .map(|b| (b.block, b.bytes))
        .collect();
    assert_eq!(blocks, [("rx", 4096), ("tx", 4096), ("message", 1024)]);
    assert_eq!(s.heap.stats(Region::Internal).used, 4096 + 4096 + 1024);
    s.handle().try_send_text("back").unwrap();
    s.run_until(2_000, |s| s.stats().messages_in == 1);
    assert_eq!(s.saw("data Text back"), 1, "{}", s.report());
}

#[test]
fn a_reconnect_without_memory_backs_off_and_retries() {
    let mut s = connected_sim(7, LinkConfig::lan(), with_psram(), quiet());
    // Both regions refuse while the connection is dropped: the next connect's buffers
    // cannot be placed; the link says so and tries again later (it does not stop).
    s.heap.fail_region(Region::External, true);
    s.heap.fail_region(Region::Internal, true);
    s.server.drop_all();
    let end = s.run_until(5_000, |s| {
        s.stats().last_error.as_deref() == Some("connect: no memory for the link's buffers")
    });
    assert_eq!(end, RunEnd::Done, "{}", s.report());
    assert_eq!(s.heap_used(), 0);
    s.heap.clear_faults();
    assert_eq!(
        s.run_until(20_000, connected),
        RunEnd::Done,
        "{}",
        s.report()
    );
    assert_eq!(s.stats().reconnects, 1);
}

#[test]
fn stop_from_the_handler_then_start_again() {
    let react: React = Box::new(|text, link| {
        if text.contains("data Text stop now") {
            link.stop();
            // The handler's own stop is in force at once: its sends fail.
            assert_eq!(link.try_send_text("late"), Err(SendError::Closed));
        }
    });
    let mut s = connected_sim(6, LinkConfig::lan(), with_psram(), react);
    assert!(s.heap_used() > 0);
    s.handle().try_send_text("stop now").unwrap();
    let end = s.run_until(5_000, |s| s.handle().live_runs() == 0);
    assert_eq!(end, RunEnd::Done, "{}", s.report());
    assert_eq!(s.stats().state, State::Stopped);
    assert_eq!(s.saw("Disconnected(Stopped)"), 1, "{}", s.report());
    // Stopped: memory back to baseline, nothing reported, sends refused.
    assert_eq!(s.heap_used(), 0, "{}", s.report());
    assert!(s.stats().memory.is_empty());
    assert_eq!(s.handle().try_send_text("after"), Err(SendError::Closed));
    // The server saw the connection end.
    s.run_for(500);
    assert!(
        s.server.log().iter().any(|l| l.contains("ended")),
        "{}",
        s.report()
    );

    s.handle().start();
    assert_eq!(
        s.run_until(5_000, connected),
        RunEnd::Done,
        "{}",
        s.report()
    );
    s.handle().try_send_text("again").unwrap();
    s.run_until(2_000, |s| s.saw("data Text again") == 1);
    let st = s.stats();
    assert_eq!(s.saw("data Text again"), 1, "{}", s.report());
    // A new run: its first connection is not a reconnect.
    assert_eq!((st.connects, st.reconnects), (2, 0));
    assert_eq!(s.server.stats().accepted, 2);
}

#[test]
fn close_from_the_handler_completes_the_handshake_and_stops() {
    let react: React = Box::new(|text, link| {
        if text.contains("data Text bye") {
            link.close(CloseCode::NORMAL, "done").unwrap();
        }
    });
    let mut s = connected_sim(7, LinkConfig::lan(), with_psram(), react);
    s.handle().try_send_text("bye").unwrap();
    let end = s.run_until(5_000, |s| s.handle().live_runs() == 0);
    assert_eq!(end, RunEnd::Done, "{}", s.report());
    assert_eq!(s.server.stats().closes, 1, "{}", s.report());
    assert_eq!(
        s.saw("Disconnected(Closed(CloseCode(1000)))"),
        1,
        "{}",
        s.report()
    );
    assert_eq!((s.stats().state, s.heap_used()), (State::Stopped, 0));
    // Closed for good: no reconnect.
    s.run_for(3_000);
    assert_eq!(s.server.stats().accepted, 1);
    assert_eq!(
        s.handle().close(CloseCode::NORMAL, ""),
        Err(portico_ws::CloseError::Closed)
    );
}

#[test]
fn close_while_reconnecting_stops_for_good_and_frees_memory() {
    let mut s = connected_sim(9, LinkConfig::lan(), with_psram(), quiet());
    s.server.refuse_for(60_000);
    s.server.drop_all();
    s.run_until(5_000, |s| s.saw("Tcp") >= 1);
    assert_ne!(s.stats().state, State::Connected, "{}", s.report());
    // Between attempts (backoff) or in one: there is no connection to close.
    s.handle().close(CloseCode::NORMAL, "bye").unwrap();
    let end = s.run_until(5_000, |s| s.handle().live_runs() == 0);
    assert_eq!(end, RunEnd::Done, "{}", s.report());
    assert_eq!((s.stats().state, s.heap_used()), (State::Stopped, 0));
    let attempts = s.saw("Tcp");
    s.run_for(10_000);
    assert_eq!(s.saw("Tcp"), attempts, "{}", s.report());
}

#[test]
fn send_during_stop_fails_and_rapid_stop_start_leaves_one_run() {
    let mut s = connected_sim(8, LinkConfig::lan(), with_psram(), quiet());
    let h = s.handle();
    // Stop requested, run not yet ended: sends fail already.
    h.stop();
    assert_eq!(h.try_send_text("x"), Err(SendError::Closed));
    assert_eq!(h.state(), State::Stopped);
    // Many cycles, some with no executor round in between, some with a few ms.
    for i in 0..200u64 {
        h.start();
        h.stop();
        h.start();
        if i % 3 == 0 {
            s.run_for(i % 7);
        }
        h.stop();
    }
    s.run_until(5_000, |s| s.handle().live_runs() == 0);
    assert_eq!((h.live_runs(), s.heap_used()), (0, 0), "{}", s.report());
    // Then one more start: exactly one run connects.
    h.start();
    assert_eq!(
        s.run_until(5_000, connected),
        RunEnd::Done,
        "{}",
        s.report()
    );
    s.run_for(2_000);
    assert_eq!(h.live_runs(), 1);
    assert_eq!(s.heap_used(), 4096 + 4096 + 1024, "{}", s.report());
    h.try_send_text("still one").unwrap();
    s.run_until(2_000, |s| s.saw("still one") == 1);
    assert_eq!(s.saw("data Text still one"), 1, "{}", s.report());
    h.stop();
    s.run_until(5_000, |s| s.handle().live_runs() == 0);
    assert_eq!(s.heap_used(), 0);
}

/// A run with everything random in it: loss, drops, a stop and a start.
fn eventful(seed: u64) -> (Vec<String>, Vec<String>, NetStats, Stats) {
    let mut s = connected_sim(seed, lossy(), with_psram(), quiet());
    for i in 0..20 {
        let _ = s.handle().try_send_text(&format!("m{i}"));
        s.run_for(200);
    }
    s.server.drop_all();
    s.run_for(3_000);
    s.handle().stop();
    s.run_for(500);
    s.handle().start();
    s.run_for(3_000);
    let trace = s.trace.borrow().clone();
    (trace, s.server.log(), s.net.stats(), s.stats())
}

#[test]
fn same_seed_same_trace() {
    let a = eventful(42);
    let b = eventful(42);
    assert!(a.0.len() > 10, "{:#?}", a.0);
    assert_eq!(a, b);
    // And the trace does depend on the seed (a constant trace would prove nothing).
    let c = eventful(43);
    assert_ne!((&a.0, &a.2), (&c.0, &c.2));
}
