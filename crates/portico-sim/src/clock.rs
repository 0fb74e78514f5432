//! Virtual time: an `embassy-time` driver whose clock only moves when the executor says so.
//!
//! The clock is thread-local, so tests running on parallel threads each have their own
//! and stay deterministic. A simulation calls [`reset`] before it starts.

use std::cell::RefCell;
use std::task::Waker;

struct Clock {
    now: u64,
    timers: Vec<(u64, Waker)>,
}

thread_local! {
    static CLOCK: RefCell<Clock> = const { RefCell::new(Clock { now: 0, timers: Vec::new() }) };
}

struct VirtualDriver;

impl embassy_time_driver::Driver for VirtualDriver {
    fn now(&self) -> u64 {
        CLOCK.with(|c| c.borrow().now)
    }

    fn schedule_wake(&self, at: u64, waker: &Waker) {
        CLOCK.with(|c| {
            let mut c = c.borrow_mut();
            if let Some(t) = c.timers.iter_mut().find(|(_, w)| w.will_wake(waker)) {
                t.0 = t.0.min(at);
            } else {
                c.timers.push((at, waker.clone()));
            }
        })
    }
}

embassy_time_driver::time_driver_impl!(static DRIVER: VirtualDriver = VirtualDriver);

/// Ticks per second of the virtual clock (embassy-time's tick rate).
pub const TICK_HZ: u64 = embassy_time_driver::TICK_HZ;

/// Back to time zero with no timers.
pub fn reset() {
    CLOCK.with(|c| {
        let mut c = c.borrow_mut();
        c.now = 0;
        c.timers.clear();
    })
}

/// Current virtual time in ticks.
pub fn now() -> u64 {
    CLOCK.with(|c| c.borrow().now)
}

/// Earliest pending timer.
pub fn next_timer() -> Option<u64> {
    CLOCK.with(|c| c.borrow().timers.iter().map(|(t, _)| *t).min())
}

/// Moves the clock to `t` (never backwards) and wakes every timer due by then.
pub fn advance_to(t: u64) {
    let due: Vec<Waker> = CLOCK.with(|c| {
        let mut c = c.borrow_mut();
        c.now = c.now.max(t);
        let now = c.now;
        let mut due = Vec::new();
        c.timers.retain(|(at, w)| {
            if *at <= now {
                due.push(w.clone());
                false
            } else {
                true
            }
        });
        due
    });
    // Wake outside the borrow: a waker may schedule again.
    for w in due {
        w.wake();
    }
}

/// Milliseconds to ticks.
pub const fn ms(ms: u64) -> u64 {
    ms * TICK_HZ / 1000
}
