//! The hub against its promises: replay, gaps counted, a slow subscriber bounded, the
//! publisher never waiting, the send deadline.

use core::cell::{Cell, RefCell};
use core::task::{Poll, Waker};
use std::rc::Rc;
use std::string::String;
use std::vec::Vec;

use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use proptest::prelude::*;

use super::sse::{self, encode_event};
use super::*;
use crate::conn::TimeoutPhase;
use crate::server::{Buffers, ServerConfig, Timeouts, Transport};
use crate::testing::TokioEnv;
use crate::time::Duration;

const N: usize = 4;
type TestHub = Hub<NoopRawMutex, N, 32, 2>;

fn publish(hub: &TestHub, text: &str) -> u64 {
    hub.publish("tick", |b| {
        let d = b.get_mut(..text.len())?;
        d.copy_from_slice(text.as_bytes());
        Some(text.len())
    })
    .unwrap()
}

/// Drains `sub`: the ids it was shown and the gaps it was told of.
fn drain(hub: &TestHub, sub: &mut Subscriber) -> (Vec<u64>, Vec<u64>) {
    let (mut ids, mut gaps) = (Vec::new(), Vec::new());
    loop {
        match hub.next(sub, |e| {
            ids.push(e.id);
            true
        }) {
            Next::Empty => return (ids, gaps),
            Next::Missed(n) => gaps.push(n),
            Next::Event(_) => {}
        }
    }
}

#[test]
fn a_new_subscriber_gets_only_what_comes_after_it() {
    let hub = TestHub::new();
    publish(&hub, "a");
    let mut sub = hub.subscribe(None);
    assert!(!hub.pending(&sub));
    publish(&hub, "b");
    assert_eq!(drain(&hub, &mut sub), (vec![2], vec![]));
}

#[test]
fn replays_everything_after_the_last_event_id() {
    let hub = TestHub::new();
    for t in ["1", "2", "3", "4", "5", "6"] {
        publish(&hub, t);
    }
    // Ring holds 3..=6; the client saw 4.
    let mut sub = hub.subscribe(Some(4));
    assert_eq!(drain(&hub, &mut sub), (vec![5, 6], vec![]));
    assert_eq!(sub.dropped(), 0);
    // The client saw the newest: nothing to replay.
    let mut sub = hub.subscribe(Some(6));
    assert_eq!(drain(&hub, &mut sub), (vec![], vec![]));
}

#[test]
fn an_id_older_than_the_ring_is_a_counted_gap() {
    let hub = TestHub::new();
    for i in 0..10 {
        publish(&hub, &i.to_string());
    }
    // Ring holds 7..=10; the client saw 2, so 3..=6 are gone.
    let mut sub = hub.subscribe(Some(2));
    assert_eq!(drain(&hub, &mut sub), (vec![7, 8, 9, 10], vec![4]));
    assert_eq!(sub.dropped(), 4);
    assert_eq!(hub.stats().dropped, 4);
}

#[test]
fn a_future_or_garbage_id_means_none() {
    let hub = TestHub::new();
    for t in ["a", "b", "c"] {
        publish(&hub, t);
    }
    // 99: never issued (a client from before a restart).
    let mut sub = hub.subscribe(Some(99));
    assert_eq!(sub.next_id(), 4);
    assert_eq!(drain(&hub, &mut sub), (vec![], vec![]));
    let mut sub = hub.subscribe(parse_event_id("x7"));
    assert_eq!(drain(&hub, &mut sub), (vec![], vec![]));
    publish(&hub, "d");
    assert_eq!(drain(&hub, &mut sub), (vec![4], vec![]));
}

#[test]
fn a_slow_subscriber_skips_ahead_and_counts_what_it_missed() {
    let hub = TestHub::new();
    let mut slow = hub.subscribe(None);
    let mut quick = hub.subscribe(None);
    for i in 0..10 * N {
        publish(&hub, &i.to_string());
        drain(&hub, &mut quick);
    }
    let (ids, gaps) = drain(&hub, &mut slow);
    assert_eq!(ids, (9 * N as u64 + 1..=10 * N as u64).collect::<Vec<_>>());
    assert_eq!(gaps, vec![9 * N as u64]);
    assert_eq!((slow.dropped(), quick.dropped()), (9 * N as u64, 0));
    assert_eq!(hub.stats().dropped, 9 * N as u64);
    assert_eq!(hub.stats().published, 10 * N as u64);
}

#[test]
fn an_id_from_an_earlier_boot_gets_every_event_of_this_one() {
    // The last boot issued ids up to 10; this boot starts at 1 << 32.
    let start = 1u64 << 32;
    let hub = Hub::<NoopRawMutex, N, 32, 2>::starting_at(start);
    for i in 0..3 {
        publish(&hub, &i.to_string());
    }
    let mut sub = hub.subscribe(Some(10));
    assert_eq!(
        drain(&hub, &mut sub),
        (vec![start, start + 1, start + 2], vec![])
    );
    // This boot's events no longer held are the only gap counted.
    for i in 0..2 * N {
        publish(&hub, &i.to_string());
    }
    let mut sub = hub.subscribe(Some(10));
    let (ids, gaps) = drain(&hub, &mut sub);
    assert_eq!(gaps, vec![3 + 2 * N as u64 - N as u64]);
    assert_eq!(ids.len(), N);
}

#[test]
fn events_are_framed_as_sse() {
    let e = Event {
        id: 12,
        name: "settings",
        data: b"{\"a\":1}",
    };
    let mut out = [0u8; 64];
    let n = encode_event(&mut out, &e).unwrap();
    assert_eq!(&out[..n], b"id: 12\nevent: settings\ndata: {\"a\":1}\n\n");
    // Line breaks of every kind become separate data lines: none can end the event.
    let e = Event {
        id: 1,
        name: "",
        data: b"a\r\nb\rc\nd",
    };
    let n = encode_event(&mut out, &e).unwrap();
    assert_eq!(&out[..n], b"id: 1\ndata: a\ndata: b\ndata: c\ndata: d\n\n");
    assert_eq!(encode_event(&mut out[..10], &e), None);
}

#[test]
fn json_is_serialized_once_into_the_slot() {
    #[derive(serde::Serialize)]
    struct S<'a> {
        name: &'a str,
        n: u32,
    }
    let hub = TestHub::new();
    let id = hub.publish_json("s", &S { name: "x", n: 5 }).unwrap();
    let mut sub = hub.subscribe(Some(id - 1));
    let mut got = Vec::new();
    hub.next(&mut sub, |e| {
        got.extend_from_slice(e.data);
        true
    });
    assert_eq!(got, br#"{"name":"x","n":5}"#);
    let long = "y".repeat(40);
    assert_eq!(
        hub.publish_json("s", &S { name: &long, n: 1 }),
        Err(PublishError::TooLarge)
    );
    assert_eq!(hub.stats().refused, 1);
}

proptest! {
    /// Whatever the interleaving of publications, reads and reconnections, a subscriber
    /// sees ids in strictly increasing order, and every id from where it started to
    /// where its cursor is was either received or counted in a reported gap — exactly
    /// once. A reconnection (from the last id received) starts a new subscriber.
    #[test]
    fn every_event_is_received_or_counted(
        ops in proptest::collection::vec((0u8..3, 0u8..12), 1..200),
        start in proptest::option::of(0u64..30),
    ) {
        let hub = TestHub::new();
        let mut sub = hub.subscribe(start);
        let (mut first, mut got, mut seg_got, mut seg_missed) = (sub.next_id(), Vec::new(), 0u64, 0u64);
        for (op, k) in ops {
            match op {
                0 => for _ in 0..k { publish(&hub, "p"); },
                1 => for _ in 0..k {
                    match hub.next(&mut sub, |e| { got.push(e.id); true }) {
                        Next::Missed(n) => seg_missed += n,
                        Next::Empty => break,
                        Next::Event(_) => seg_got += 1,
                    }
                },
                _ => {
                    prop_assert_eq!(seg_got + seg_missed, sub.next_id() - first);
                    prop_assert_eq!(sub.dropped(), seg_missed);
                    sub = hub.subscribe(got.last().copied());
                    (first, seg_got, seg_missed) = (sub.next_id(), 0, 0);
                }
            }
        }
        let (rest, gaps) = drain(&hub, &mut sub);
        seg_got += rest.len() as u64;
        got.extend(rest);
        seg_missed += gaps.iter().sum::<u64>();
        prop_assert!(got.windows(2).all(|w| w[0] < w[1]), "{:?}", got);
        prop_assert_eq!(seg_got + seg_missed, hub.stats().next_id - first);
        prop_assert_eq!(sub.dropped(), seg_missed);
    }
}

// ---- The stream runner over a transport whose writes can be held. ----

#[derive(Default)]
struct Wire {
    out: RefCell<Vec<u8>>,
    /// While set, writes wait (a client that does not read).
    held: Cell<bool>,
    /// The client has gone: reads return 0.
    gone: Cell<bool>,
    wakers: RefCell<Vec<Waker>>,
}

impl Wire {
    fn set(&self, held: bool, gone: bool) {
        self.held.set(held);
        self.gone.set(gone);
        for w in self.wakers.borrow_mut().drain(..) {
            w.wake();
        }
    }
    fn text(&self) -> String {
        String::from_utf8(self.out.borrow().clone()).unwrap()
    }
}

struct Io(Rc<Wire>);

impl embedded_io::ErrorType for Io {
    type Error = core::convert::Infallible;
}

impl embedded_io_async::Read for Io {
    async fn read(&mut self, _: &mut [u8]) -> Result<usize, Self::Error> {
        self.readable().await?;
        Ok(0)
    }
}

impl embedded_io_async::Write for Io {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        core::future::poll_fn(|cx| {
            if self.0.held.get() {
                self.0.wakers.borrow_mut().push(cx.waker().clone());
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        })
        .await;
        self.0.out.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    async fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

impl Transport for Io {
    async fn readable(&mut self) -> Result<(), Self::Error> {
        core::future::poll_fn(|cx| {
            if self.0.gone.get() {
                Poll::Ready(Ok(()))
            } else {
                self.0.wakers.borrow_mut().push(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}

/// One buffer, counting leases (a stream must not hold it while waiting).
struct OneBuffer {
    buf: RefCell<[u8; 256]>,
    leases: Cell<u32>,
}

impl Default for OneBuffer {
    fn default() -> Self {
        OneBuffer {
            buf: RefCell::new([0; 256]),
            leases: Cell::new(0),
        }
    }
}

impl Buffers for OneBuffer {
    type Lease<'a> = core::cell::RefMut<'a, [u8]>;
    async fn acquire(&self) -> Option<Self::Lease<'_>> {
        self.leases.set(self.leases.get() + 1);
        Some(core::cell::RefMut::map(
            self.buf.borrow_mut(),
            |b| &mut b[..],
        ))
    }
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn cfg(send: Duration) -> ServerConfig {
    ServerConfig {
        timeouts: Timeouts {
            send,
            ..Timeouts::const_default()
        },
        ..ServerConfig::const_default()
    }
}

async fn yield_now() {
    tokio::task::yield_now().await
}

/// Runs `f` on a current-thread tokio runtime with timers, inside a `LocalSet` (the
/// streams are `!Send`).
fn on_tokio<F: core::future::Future>(f: F) -> F::Output {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    tokio::task::LocalSet::new().block_on(&rt, f)
}

#[test]
fn a_stuck_client_costs_the_publisher_nothing_and_learns_what_it_missed() {
    on_tokio(async {
        let hub = Rc::new(TestHub::new());
        let wire = Rc::new(Wire::default());
        let buffers = Rc::new(OneBuffer::default());
        let env = Rc::new(TokioEnv::default());
        let task = {
            let (hub, wire, buffers, env) =
                (hub.clone(), wire.clone(), buffers.clone(), env.clone());
            tokio::task::spawn_local(async move {
                let sub = hub.subscribe(None);
                let mut io = Io(wire);
                sse::run(
                    &*hub,
                    sub,
                    &mut io,
                    &*env,
                    &cfg(secs(60)),
                    &*buffers,
                    secs(60),
                )
                .await;
            })
        };
        yield_now().await;
        assert_eq!(hub.stats().subscribers, 1);
        assert_eq!(buffers.leases.get(), 0, "a waiting stream holds no buffer");
        publish(&hub, "first");
        for _ in 0..5 {
            yield_now().await;
        }
        assert_eq!(wire.text(), "id: 1\nevent: tick\ndata: first\n\n");
        // The client stops reading; ten ring-fulls are published meanwhile.
        wire.set(true, false);
        publish(&hub, "second");
        yield_now().await; // the stream is now stuck writing event 2
        for i in 0..10 * N {
            publish(&hub, &i.to_string()); // returns at once: nothing to wait for
        }
        wire.set(false, false);
        for _ in 0..10 {
            yield_now().await;
        }
        let text = wire.text();
        let missed = 10 * N as u64 - N as u64;
        let mut want = String::from("id: 1\nevent: tick\ndata: first\n\n");
        want += "id: 2\nevent: tick\ndata: second\n\n";
        want += &format!(": missed {missed} events\n\n");
        for i in 9 * N..10 * N {
            want += &format!("id: {}\nevent: tick\ndata: {i}\n\n", i + 3);
        }
        assert_eq!(text, want);
        assert_eq!(hub.stats().dropped, missed);
        // The client leaves: the stream ends and is no longer counted.
        wire.set(false, true);
        task.await.unwrap();
        assert_eq!(hub.stats().subscribers, 0);
    });
}

#[test]
fn a_write_past_the_send_deadline_ends_the_stream() {
    on_tokio(async {
        let hub = TestHub::new();
        let wire = Rc::new(Wire::default());
        wire.set(true, false);
        let sub = hub.subscribe(None);
        publish(&hub, "x");
        let env = TokioEnv::default();
        let mut io = Io(wire);
        sse::run(
            &hub,
            sub,
            &mut io,
            &env,
            &cfg(Duration::from_millis(20)),
            &OneBuffer::default(),
            secs(60),
        )
        .await;
        assert_eq!(*env.timeouts.borrow(), [TimeoutPhase::Send]);
        assert_eq!(hub.stats().subscribers, 0);
    });
}

#[test]
fn a_quiet_stream_sends_keep_alive_comments() {
    on_tokio(async {
        let hub = TestHub::new();
        let wire = Rc::new(Wire::default());
        let sub = hub.subscribe(None);
        let env = TokioEnv::default();
        let mut io = Io(wire.clone());
        let (cfg, buffers) = (cfg(secs(1)), OneBuffer::default());
        let run = sse::run(
            &hub,
            sub,
            &mut io,
            &env,
            &cfg,
            &buffers,
            Duration::from_millis(5),
        );
        // Runs until the third keep-alive is out, then the client leaves.
        let watch = async {
            while wire.text().matches(": keep-alive\n\n").count() < 3 {
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
            wire.set(false, true);
        };
        tokio::join!(run, watch);
        assert!(wire.text().starts_with(": keep-alive\n\n"));
    });
}

#[test]
fn the_retry_field_is_in_milliseconds_and_fits_any_duration() {
    let text = |d| {
        let (line, n) = sse::retry_line(d);
        String::from_utf8(line[..n].to_vec()).unwrap()
    };
    assert_eq!(text(sse::RETRY), "retry: 2000\n\n");
    assert_eq!(text(Duration::ZERO), "retry: 0\n\n");
    assert_eq!(text(Duration::MAX), "retry: 18446744073709551615\n\n");
}
