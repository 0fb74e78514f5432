//! Link emulation as a driver wrapper: one-way delay, random loss and a rate limit on
//! every frame in both directions, so a Wi-Fi-like link (≈ 20 Mbit/s, a few ms, ~1 %
//! loss) can be had without kernel qdiscs (`netem` is not in every kernel).
//!
//! Each direction is a queue of frames with the instant each may leave: a frame waits
//! for the link to finish sending the previous ones (`len × 8 / kbps`), then for the
//! delay. A queue beyond [`QUEUE_BYTES`] drops at the tail, like a router's buffer.
//! With everything off the wrapper passes frames straight through.

use std::collections::VecDeque;
use std::task::{Context, Waker};

use embassy_net_driver::{Capabilities, Driver, HardwareAddress, LinkState, RxToken, TxToken};
use embassy_time::Instant;

/// Bytes one direction may hold in flight before it drops at the tail (about 40 ms at
/// 20 Mbit/s, a typical access point's buffer).
pub const QUEUE_BYTES: usize = 96 * 1024;

/// What the link does to frames. `Default` is a perfect link.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LinkConfig {
    /// One-way delay added to every frame, in milliseconds.
    pub delay_ms: u64,
    /// Chance that a frame is lost, in percent (0–100).
    pub loss_percent: f64,
    /// Link rate in kbit/s; 0 = unlimited.
    pub kbps: u64,
    /// Seed of the loss draws.
    pub seed: u64,
}

impl LinkConfig {
    /// True when the link changes nothing.
    pub fn is_perfect(&self) -> bool {
        self.delay_ms == 0 && self.loss_percent <= 0.0 && self.kbps == 0
    }
}

/// One direction of the link.
#[derive(Debug, Default)]
struct Lane {
    frames: VecDeque<(Instant, Vec<u8>)>,
    bytes: usize,
    /// When the link finishes sending what it holds.
    busy_until: Option<Instant>,
}

/// Counters (for tests and logs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Frames delivered, both directions.
    pub delivered: u64,
    /// Frames lost at random.
    pub lost: u64,
    /// Frames dropped because a queue was full.
    pub overflowed: u64,
}

/// `inner` behind an emulated link.
pub struct Emulated<D> {
    inner: D,
    config: LinkConfig,
    rng: u64,
    /// Frames from the network to the device.
    down: Lane,
    /// Frames from the device to the network.
    up: Lane,
    stats: LinkStats,
}

impl<D: Driver> Emulated<D> {
    /// Wraps `inner`.
    pub fn new(inner: D, config: LinkConfig) -> Self {
        Emulated {
            inner,
            config,
            // xorshift needs a non-zero state.
            rng: config.seed | 1,
            down: Lane::default(),
            up: Lane::default(),
            stats: LinkStats::default(),
        }
    }

    /// What the link did so far.
    pub fn stats(&self) -> LinkStats {
        self.stats
    }

    /// Sends every frame the device queued whose time has come; asks to be polled again
    /// when the next one is due.
    fn release_up(&mut self, cx: &mut Context) {
        let now = Instant::now();
        while let Some((due, _)) = self.up.frames.front() {
            if *due > now {
                embassy_time_driver::schedule_wake(due.as_ticks(), cx.waker());
                return;
            }
            let Some(tx) = self.inner.transmit(cx) else {
                return;
            };
            let Some((_, frame)) = self.up.frames.pop_front() else {
                return;
            };
            self.up.bytes -= frame.len();
            tx.consume(frame.len(), |buf| buf.copy_from_slice(&frame));
        }
    }
}

/// Queues `frame` on `lane` under the link's rules (shared by both directions).
fn enqueue(
    lane: &mut Lane,
    config: &LinkConfig,
    rng: &mut u64,
    stats: &mut LinkStats,
    frame: Vec<u8>,
) {
    if config.loss_percent > 0.0 {
        // xorshift64: the draws need to be cheap and reproducible, not good.
        *rng ^= *rng << 13;
        *rng ^= *rng >> 7;
        *rng ^= *rng << 17;
        let draw = (*rng % 1_000_000) as f64 / 10_000.0;
        if draw < config.loss_percent {
            stats.lost += 1;
            return;
        }
    }
    if lane.bytes + frame.len() > QUEUE_BYTES {
        stats.overflowed += 1;
        return;
    }
    let now = Instant::now();
    let start = lane.busy_until.map_or(now, |b| b.max(now));
    // Serialisation time at the link rate (none when unlimited).
    let micros = (frame.len() as u64 * 8 * 1000)
        .checked_div(config.kbps)
        .unwrap_or(0);
    let sent = start + embassy_time::Duration::from_micros(micros);
    lane.busy_until = Some(sent);
    let due = sent + embassy_time::Duration::from_millis(config.delay_ms);
    stats.delivered += 1;
    lane.bytes += frame.len();
    lane.frames.push_back((due, frame));
}

impl<D: Driver> Driver for Emulated<D> {
    type RxToken<'a>
        = Frame
    where
        Self: 'a;
    type TxToken<'a>
        = Outgoing<'a>
    where
        Self: 'a;

    fn receive(&mut self, cx: &mut Context) -> Option<(Frame, Outgoing<'_>)> {
        self.release_up(cx);
        // Take everything the network sent into the downstream lane.
        while let Some((rx, _)) = self.inner.receive(cx) {
            let frame = rx.consume(|buf| buf.to_vec());
            if self.config.is_perfect() {
                self.stats.delivered += 1;
                self.down.frames.push_back((Instant::MIN, frame));
                break;
            }
            enqueue(
                &mut self.down,
                &self.config,
                &mut self.rng,
                &mut self.stats,
                frame,
            );
        }
        let due = self.down.frames.front()?.0;
        if due > Instant::now() {
            embassy_time_driver::schedule_wake(due.as_ticks(), cx.waker());
            return None;
        }
        let (_, frame) = self.down.frames.pop_front()?;
        self.down.bytes = self.down.bytes.saturating_sub(frame.len());
        Some((Frame(frame), self.outgoing(cx)))
    }

    fn transmit(&mut self, cx: &mut Context) -> Option<Outgoing<'_>> {
        self.release_up(cx);
        Some(self.outgoing(cx))
    }

    fn link_state(&mut self, cx: &mut Context) -> LinkState {
        self.inner.link_state(cx)
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn hardware_address(&self) -> HardwareAddress {
        self.inner.hardware_address()
    }
}

impl<D> Emulated<D> {
    fn outgoing(&mut self, cx: &Context) -> Outgoing<'_> {
        Outgoing {
            waker: cx.waker().clone(),
            lane: &mut self.up,
            config: &self.config,
            rng: &mut self.rng,
            stats: &mut self.stats,
        }
    }
}

/// A received frame.
pub struct Frame(Vec<u8>);

impl RxToken for Frame {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(mut self, f: F) -> R {
        f(&mut self.0)
    }
}

/// A frame the device sends: queued on the upstream lane, released when due. The
/// stack's runner is woken at once so its next poll releases what is due now, and
/// `release_up` schedules a wake for what is due later.
pub struct Outgoing<'a> {
    waker: Waker,
    lane: &'a mut Lane,
    config: &'a LinkConfig,
    rng: &'a mut u64,
    stats: &'a mut LinkStats,
}

impl TxToken for Outgoing<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = vec![0; len];
        let r = f(&mut frame);
        enqueue(self.lane, self.config, self.rng, self.stats, frame);
        self.waker.wake();
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A driver that hands out the frames it was given and records what it sent.
    #[derive(Default)]
    struct Loop {
        incoming: VecDeque<Vec<u8>>,
        sent: Vec<Vec<u8>>,
    }

    struct In(Vec<u8>);
    impl RxToken for In {
        fn consume<R, F: FnOnce(&mut [u8]) -> R>(mut self, f: F) -> R {
            f(&mut self.0)
        }
    }
    struct Out<'a>(&'a mut Vec<Vec<u8>>);
    impl TxToken for Out<'_> {
        fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
            let mut b = vec![0; len];
            let r = f(&mut b);
            self.0.push(b);
            r
        }
    }

    impl Driver for Loop {
        type RxToken<'a> = In;
        type TxToken<'a> = Out<'a>;
        fn receive(&mut self, _: &mut Context) -> Option<(In, Out<'_>)> {
            let f = self.incoming.pop_front()?;
            Some((In(f), Out(&mut self.sent)))
        }
        fn transmit(&mut self, _: &mut Context) -> Option<Out<'_>> {
            Some(Out(&mut self.sent))
        }
        fn link_state(&mut self, _: &mut Context) -> LinkState {
            LinkState::Up
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities::default()
        }
        fn hardware_address(&self) -> HardwareAddress {
            HardwareAddress::Ethernet([2, 0, 0, 0, 0, 1])
        }
    }

    fn cx() -> Context<'static> {
        Context::from_waker(Waker::noop())
    }

    fn send(link: &mut Emulated<Loop>, byte: u8) {
        let tx = link.transmit(&mut cx()).expect("always ready");
        tx.consume(100, |b| b.fill(byte));
    }

    #[test]
    fn a_perfect_link_passes_frames_in_order_at_once() {
        let mut inner = Loop::default();
        inner.incoming.extend([vec![1; 60], vec![2; 60]]);
        let mut link = Emulated::new(inner, LinkConfig::default());
        let (a, _) = link.receive(&mut cx()).expect("first frame");
        assert_eq!(a.consume(|b| b[0]), 1);
        let (b, _) = link.receive(&mut cx()).expect("second frame");
        assert_eq!(b.consume(|b| b[0]), 2);
        send(&mut link, 7);
        link.transmit(&mut cx());
        assert_eq!(link.inner.sent.len(), 1);
    }

    #[test]
    fn a_delayed_frame_is_held_until_its_time() {
        let mut inner = Loop::default();
        inner.incoming.push_back(vec![1; 60]);
        let config = LinkConfig {
            delay_ms: 20,
            ..LinkConfig::default()
        };
        let mut link = Emulated::new(inner, config);
        assert!(link.receive(&mut cx()).is_none(), "held for the delay");
        send(&mut link, 7);
        assert!(link.inner.sent.is_empty(), "held for the delay");
        async_io::block_on(embassy_time::Timer::after_millis(25));
        assert!(link.receive(&mut cx()).is_some());
        assert_eq!(link.inner.sent.len(), 1);
    }

    #[test]
    fn loss_drops_about_the_given_share_and_all_at_100_percent() {
        let mut link = Emulated::new(
            Loop::default(),
            LinkConfig {
                loss_percent: 10.0,
                seed: 42,
                ..LinkConfig::default()
            },
        );
        for _ in 0..2000 {
            send(&mut link, 1);
            link.transmit(&mut cx());
        }
        let lost = link.stats().lost;
        assert!((100..300).contains(&lost), "lost {lost} of 2000 at 10 %");
        assert_eq!(link.inner.sent.len() as u64, 2000 - lost);

        let mut all = Emulated::new(
            Loop::default(),
            LinkConfig {
                loss_percent: 100.0,
                ..LinkConfig::default()
            },
        );
        send(&mut all, 1);
        all.transmit(&mut cx());
        assert!(all.inner.sent.is_empty());
    }

    #[test]
    fn a_rate_limit_spaces_frames_and_a_full_queue_drops_at_the_tail() {
        let mut link = Emulated::new(
            Loop::default(),
            LinkConfig {
                kbps: 8,
                ..LinkConfig::default()
            },
        );
        // 100 bytes at 8 kbit/s = 100 ms each: the second waits for the first.
        send(&mut link, 1);
        send(&mut link, 2);
        let (first, second) = (link.up.frames[0].0, link.up.frames[1].0);
        assert_eq!((second - first).as_millis(), 100);
        for _ in 0..QUEUE_BYTES / 100 {
            send(&mut link, 3);
        }
        assert!(link.stats().overflowed > 0);
        assert!(link.up.bytes <= QUEUE_BYTES);
    }
}
