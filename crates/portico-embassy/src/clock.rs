//! Time for the core, from `embassy-time`.

use portico::time::{Duration, Instant};

/// The time on the core's clock: embassy's, whose epoch is boot (or the simulation's
/// start), in whole milliseconds.
pub fn now() -> Instant {
    Instant::from_millis(embassy_time::Instant::now().as_millis())
}

/// The same span on embassy's clock, for its timers (`with_timeout`, `Timer::after`).
pub(crate) fn to_embassy(d: Duration) -> embassy_time::Duration {
    embassy_time::Duration::from_millis(d.as_millis())
}

/// Deadlines on `embassy-time`: the port's timer for the core's request loop.
#[derive(Debug, Clone, Copy, Default)]
pub struct EmbassyTimer;

impl EmbassyTimer {
    /// Completes at `deadline` on the [`now`] clock.
    pub async fn at(&self, deadline: Instant) {
        embassy_time::Timer::at(embassy_time::Instant::from_millis(deadline.as_millis())).await
    }
}
