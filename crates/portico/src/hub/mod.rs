//! Live updates of the application's own state: an event hub for server-sent events.
//!
//! Why: the servers a device maker would otherwise pick lose events across a reconnect
//! (ESPAsyncWebServer and PsychicHttp keep no history and ignore `Last-Event-ID`), and
//! a slow client either grows a queue on the heap or stalls everybody. Here
//! - each event is serialized **once**, into a fixed slot of a ring of the last `N`
//!   ([`ring::Ring`]); ids rise by one from 1;
//! - a subscriber is a cursor into that ring ([`Subscriber`]): it holds no memory, and
//!   it may lag at most `N` events — past that it skips ahead and the events it missed
//!   are **counted** as dropped (per subscriber, and in [`HubStats::dropped`]);
//! - a reconnecting `EventSource` sends `Last-Event-ID` ([`last_event_id`]); the hub
//!   replays every later event still in the ring, and when the ring has moved past
//!   that id the gap is counted and announced in an SSE comment (`: missed N events`);
//! - publishing never waits: [`Hub::publish`] is a plain function that writes a slot and
//!   wakes the subscribers;
//! - the SSE side ([`sse`]) starts the response on an
//!   [`Exchange`](crate::server::Exchange) ([`sse::start`]) and runs the stream
//!   ([`sse::run`]), leasing a buffer only while it writes, each write under the send
//!   deadline.
//!
//! Memory is fixed by the type: `Hub<R, N, SLOT, W>` is a ring of `N` slots of
//! `SLOT + 20` bytes each on a 32-bit target, rounded up to 8 (`SLOT + 32` on 64-bit),
//! plus `W` wakers (two words each) and a few counters ([`Ring::BYTES`] is the ring's
//! exact size on the target built for). A subscriber costs its stream's future; it holds a pool buffer only while
//! events are being written.
//!
//! ```
//! use embassy_sync::blocking_mutex::raw::NoopRawMutex;
//! use portico::hub::{Hub, Next};
//!
//! #[derive(serde::Serialize)]
//! struct Settings { brightness: u8 }
//!
//! // 16 events of up to 256 bytes each; up to 8 streams woken precisely.
//! let hub: Hub<NoopRawMutex, 16, 256, 8> = Hub::new();
//! let mut sub = hub.subscribe(None);
//! hub.publish_json("settings", &Settings { brightness: 40 }).unwrap();
//! let mut seen = None;
//! let next = hub.next(&mut sub, |e| {
//!     seen = Some((e.id, e.name, e.data.to_vec()));
//!     true
//! });
//! assert_eq!(next, Next::Event(true));
//! assert_eq!(seen, Some((1, "settings", br#"{"brightness":40}"#.to_vec())));
//! ```

mod ring;
pub mod sse;
mod subscriber;

use core::cell::RefCell;
use core::future::poll_fn;
use core::task::Poll;

use embassy_sync::blocking_mutex::{raw::RawMutex, Mutex};
use embassy_sync::waitqueue::MultiWakerRegistration;

pub use ring::{Event, PublishError, Ring};
pub use subscriber::{last_event_id, parse_event_id, Subscriber};

/// Counters of a hub, for a status page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct HubStats {
    /// Events published since start.
    pub published: u64,
    /// Publications refused (too large for a slot, bad name).
    pub refused: u64,
    /// The oldest event id still held for replay.
    pub first_id: u64,
    /// The id the next event will get.
    pub next_id: u64,
    /// Events skipped by subscribers, all subscribers together (each subscriber's
    /// share is [`Subscriber::dropped`]).
    pub dropped: u64,
    /// Streams running now ([`sse::run`]).
    pub subscribers: u32,
}

struct State<const N: usize, const SLOT: usize, const W: usize> {
    ring: Ring<N, SLOT>,
    wakers: MultiWakerRegistration<W>,
    stats: HubStats,
}

/// What [`Hub::next`] found for a subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// The subscriber is up to date.
    Empty,
    /// The ring moved past the subscriber: it skipped this many events, now counted as
    /// dropped, and its cursor is on the oldest event held.
    Missed(u64),
    /// The closure was shown the next event; `true` if it took it (the cursor moved).
    Event(bool),
}

/// The event hub: a ring of the last `N` events of up to `SLOT` bytes each, and the
/// wakers of up to `W` waiting streams (more still work: an overflow wakes them all).
///
/// `R` is the lock: `NoopRawMutex` when publisher and streams share one executor (the
/// ports do), `CriticalSectionRawMutex` when an interrupt or another core publishes.
/// The lock is held only to copy bytes, never across an `await`.
pub struct Hub<R: RawMutex, const N: usize, const SLOT: usize, const W: usize = 8> {
    state: Mutex<R, RefCell<State<N, SLOT, W>>>,
}

impl<R: RawMutex, const N: usize, const SLOT: usize, const W: usize> Default
    for Hub<R, N, SLOT, W>
{
    fn default() -> Self {
        Self::new()
    }
}

impl<R: RawMutex, const N: usize, const SLOT: usize, const W: usize> core::fmt::Debug
    for Hub<R, N, SLOT, W>
{
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Hub").field("stats", &self.stats()).finish()
    }
}

impl<R: RawMutex, const N: usize, const SLOT: usize, const W: usize> Hub<R, N, SLOT, W> {
    /// An empty hub (can be a `static`); the first event gets id 1.
    pub const fn new() -> Self {
        Self::starting_at(1)
    }

    /// An empty hub whose first event gets id `first_id` (at least 1). Why: ids restart
    /// with the device, and a browser that reconnects after a reboot sends the id it saw
    /// before. With ids from 1 again, once the new hub has passed that id the browser
    /// would be sent only the events after it, and never the earlier ones of this boot.
    /// Starting each boot past any earlier id (e.g. `boot_count << 32`, or the Unix time
    /// in milliseconds once known) makes an old id older than anything this hub issued:
    /// the browser is sent every event of this boot still held (and a gap is counted
    /// only for events of this boot no longer held).
    pub const fn starting_at(first_id: u64) -> Self {
        Hub {
            state: Mutex::new(RefCell::new(State {
                ring: Ring::starting_at(first_id),
                wakers: MultiWakerRegistration::new(),
                stats: HubStats {
                    published: 0,
                    refused: 0,
                    first_id: 0,
                    next_id: 0,
                    dropped: 0,
                    subscribers: 0,
                },
            })),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut State<N, SLOT, W>) -> T) -> T {
        self.state.lock(|s| f(&mut s.borrow_mut()))
    }

    /// Publishes an event whose payload `render` writes into `buf` (at most `SLOT`
    /// bytes), returning its length or `None` if it did not fit. Never waits: a
    /// subscriber that is behind loses the oldest events, not the publisher its time.
    ///
    /// The payload may hold line breaks: the stream sends each line as its own `data:`
    /// line, and `EventSource` joins them back with `\n`.
    pub fn publish(
        &self,
        name: &'static str,
        render: impl FnOnce(&mut [u8]) -> Option<usize>,
    ) -> Result<u64, PublishError> {
        self.with(|s| {
            let r = s.ring.push(name, render);
            match r {
                Ok(_) => {
                    s.stats.published += 1;
                    s.wakers.wake();
                }
                Err(_) => s.stats.refused += 1,
            }
            r
        })
    }

    /// Publishes `value` serialized as JSON (`serde-json-core`: no allocator).
    pub fn publish_json<T: serde::Serialize + ?Sized>(
        &self,
        name: &'static str,
        value: &T,
    ) -> Result<u64, PublishError> {
        self.publish(name, |buf| serde_json_core::to_slice(value, buf).ok())
    }

    /// A subscriber for a stream that starts now. With the `Last-Event-ID` of a
    /// reconnecting client, it resumes right after that event: every later event still
    /// held is replayed (and if the ring no longer reaches back that far, the first
    /// [`Hub::next`] reports the gap as [`Next::Missed`]). Without one, or with an id
    /// this hub never issued (a future id, e.g. from before a restart), it gets only
    /// events published from now on.
    pub fn subscribe(&self, last_event_id: Option<u64>) -> Subscriber {
        self.with(|s| {
            let next = s.ring.next_id();
            let next = match last_event_id {
                // An id from before this hub's first (an earlier boot): everything this
                // hub issued is new to the client.
                Some(id) if id < next => (id + 1).max(s.ring.start_id()),
                _ => next,
            };
            Subscriber { next, dropped: 0 }
        })
    }

    /// Shows the subscriber's next event to `take`, which returns whether it used it
    /// (`false`, e.g. when the event does not fit what is left of a buffer, leaves the
    /// cursor in place). The closure runs under the hub's lock: it should only copy.
    pub fn next(&self, sub: &mut Subscriber, take: impl FnOnce(Event<'_>) -> bool) -> Next {
        self.with(|s| {
            let first = s.ring.first_id();
            if sub.next < first {
                let missed = first - sub.next;
                sub.next = first;
                sub.dropped += missed;
                s.stats.dropped += missed;
                return Next::Missed(missed);
            }
            let Some(e) = s.ring.get(sub.next) else {
                return Next::Empty;
            };
            let took = take(e);
            if took {
                sub.next += 1;
            }
            Next::Event(took)
        })
    }

    /// Skips the subscriber's next event, counted as dropped (an event its stream cannot
    /// send: larger than its buffer).
    pub fn skip(&self, sub: &mut Subscriber) {
        self.with(|s| {
            if sub.next < s.ring.next_id() {
                sub.next += 1;
                sub.dropped += 1;
                s.stats.dropped += 1;
            }
        })
    }

    /// Whether `sub` has something to be told (an event or a gap).
    pub fn pending(&self, sub: &Subscriber) -> bool {
        self.with(|s| sub.next < s.ring.next_id())
    }

    /// Waits until `sub` has something to be told. Cancel-safe: it only registers a
    /// waker.
    pub async fn ready(&self, sub: &Subscriber) {
        poll_fn(|cx| {
            self.with(|s| {
                if sub.next < s.ring.next_id() {
                    Poll::Ready(())
                } else {
                    s.wakers.register(cx.waker());
                    Poll::Pending
                }
            })
        })
        .await
    }

    /// The hub's counters.
    pub fn stats(&self) -> HubStats {
        self.with(|s| HubStats {
            first_id: s.ring.first_id(),
            next_id: s.ring.next_id(),
            ..s.stats
        })
    }

    /// Counts a running stream until the guard is dropped (also by a cancellation: an
    /// evicted stream's future is dropped).
    pub(crate) fn attach(&self) -> Attached<'_, R, N, SLOT, W> {
        self.with(|s| s.stats.subscribers += 1);
        Attached(self)
    }
}

pub(crate) struct Attached<'h, R: RawMutex, const N: usize, const SLOT: usize, const W: usize>(
    &'h Hub<R, N, SLOT, W>,
);

impl<R: RawMutex, const N: usize, const SLOT: usize, const W: usize> Drop
    for Attached<'_, R, N, SLOT, W>
{
    fn drop(&mut self) {
        self.0.with(|s| s.stats.subscribers -= 1);
    }
}

#[cfg(test)]
mod tests;
