//! The wall clock as an `embassy-time` driver: monotonic time since the first call, and
//! one timer thread that wakes each waker when its instant comes.
//!
//! Why not `embassy-time`'s own `std` feature: Cargo unifies features across the
//! workspace, so enabling it here would also link its driver into `portico-sim`, whose
//! virtual clock is a driver too, and two drivers do not link. A driver defined in this
//! crate is linked only where this crate is.

use std::sync::{Condvar, Mutex, Once, OnceLock};
use std::task::Waker;
use std::time::{Duration, Instant};

use embassy_time_driver::{Driver, TICK_HZ};

struct WallClock {
    start: OnceLock<Instant>,
    timers: Mutex<Vec<(u64, Waker)>>,
    changed: Condvar,
    thread: Once,
}

impl WallClock {
    fn ticks(&self) -> u64 {
        let elapsed = self.start.get_or_init(Instant::now).elapsed();
        (elapsed.as_nanos() * u128::from(TICK_HZ) / 1_000_000_000) as u64
    }

    /// The timer thread: sleeps until the earliest instant, wakes whatever is due.
    fn run(&self) -> ! {
        let mut timers = self.timers.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let now = self.ticks();
            let mut due = Vec::new();
            timers.retain(|(at, w)| {
                if *at <= now {
                    due.push(w.clone());
                    false
                } else {
                    true
                }
            });
            if !due.is_empty() {
                // Wake outside the lock: a woken task may schedule again at once.
                drop(timers);
                due.into_iter().for_each(Waker::wake);
                timers = self.timers.lock().unwrap_or_else(|e| e.into_inner());
                continue;
            }
            timers = match timers.iter().map(|(at, _)| *at).min() {
                Some(next) => {
                    let wait = Duration::from_nanos(
                        ((next - now) as u128 * 1_000_000_000 / u128::from(TICK_HZ)) as u64,
                    );
                    self.changed
                        .wait_timeout(timers, wait)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
                None => self.changed.wait(timers).unwrap_or_else(|e| e.into_inner()),
            };
        }
    }
}

impl Driver for WallClock {
    fn now(&self) -> u64 {
        self.ticks()
    }

    fn schedule_wake(&self, at: u64, waker: &Waker) {
        self.thread.call_once(|| {
            std::thread::Builder::new()
                .name("embassy-time".into())
                .spawn(|| CLOCK.run())
                .expect("timer thread");
        });
        let mut timers = self.timers.lock().unwrap_or_else(|e| e.into_inner());
        match timers.iter_mut().find(|(_, w)| w.will_wake(waker)) {
            Some(t) => t.0 = t.0.min(at),
            None => timers.push((at, waker.clone())),
        }
        self.changed.notify_one();
    }
}

embassy_time_driver::time_driver_impl!(static CLOCK: WallClock = WallClock {
    start: OnceLock::new(),
    timers: Mutex::new(Vec::new()),
    changed: Condvar::new(),
    thread: Once::new(),
});

#[cfg(test)]
mod tests {
    use std::time::Instant;

    #[test]
    fn a_timer_fires_after_its_instant_and_not_before() {
        let t0 = Instant::now();
        async_io::block_on(embassy_time::Timer::after_millis(30));
        assert!(t0.elapsed() >= std::time::Duration::from_millis(30));
        let (a, b) = async_io::block_on(embassy_futures::join::join(
            async { embassy_time::Instant::now() },
            async {
                embassy_time::Timer::after_millis(5).await;
                embassy_time::Instant::now()
            },
        ));
        assert!(b > a);
    }
}
