//! Time as two small types, because the core never reads a clock.
//!
//! The port reads its clock and passes the time in (smoltcp's `Interface::poll(timestamp)`
//! does the same): the policy code stays pure and a test or a simulation can run it on any
//! clock it likes. What is passed in is an [`Instant`]; what a deadline or a grace period
//! lasts is a [`Duration`]. Both are milliseconds in a `u64` — 584 million years, cheap to
//! copy, no clock type or driver behind them (embassy-time's are tied to its time driver,
//! `std::time::Instant` to an OS) — but they are distinct types, so a timeout cannot be
//! passed where the time of day is expected, and two instants cannot be added.
//!
//! The arithmetic saturates instead of panicking or wrapping: an instant from before a
//! connection was admitted (two clocks read in the "wrong" order) gives a zero age, not a
//! panic or an age of 584 million years, and `now + Duration::MAX` is "never".

use core::ops::{Add, AddAssign, Sub, SubAssign};

/// A moment on the port's clock: milliseconds since the port's epoch (boot on the device,
/// the server's start on the host). Only comparable with instants of the same port.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Instant {
    millis: u64,
}

impl Instant {
    /// The port's epoch.
    pub const EPOCH: Instant = Instant { millis: 0 };

    /// The instant `millis` milliseconds after the port's epoch.
    pub const fn from_millis(millis: u64) -> Self {
        Instant { millis }
    }

    /// Milliseconds since the port's epoch.
    pub const fn as_millis(self) -> u64 {
        self.millis
    }

    /// How long after `earlier` this is; zero if `earlier` is in fact later.
    pub const fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_millis(self.millis.saturating_sub(earlier.millis))
    }
}

/// The time between two instants, saturating at zero (see the module doc).
impl Sub for Instant {
    type Output = Duration;
    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

/// A later instant, saturating at the end of time (`now + Duration::MAX` is "never").
impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        Instant::from_millis(self.millis.saturating_add(d.millis))
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

/// An earlier instant, saturating at the epoch.
impl Sub<Duration> for Instant {
    type Output = Instant;
    fn sub(self, d: Duration) -> Instant {
        Instant::from_millis(self.millis.saturating_sub(d.millis))
    }
}

/// A span of time in milliseconds: a deadline, a grace period, an age.
///
/// Milliseconds are the finest grain any port's deadline needs (embassy's tick is finer,
/// but no HTTP deadline is), and what the `/api` reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Duration {
    millis: u64,
}

impl Duration {
    /// No time at all.
    pub const ZERO: Duration = Duration { millis: 0 };
    /// The longest span: added to an instant, it gives one that never comes.
    pub const MAX: Duration = Duration { millis: u64::MAX };

    /// `millis` milliseconds.
    pub const fn from_millis(millis: u64) -> Self {
        Duration { millis }
    }

    /// `secs` seconds (saturating at [`Duration::MAX`]).
    pub const fn from_secs(secs: u64) -> Self {
        Duration::from_millis(secs.saturating_mul(1000))
    }

    /// Whole milliseconds.
    pub const fn as_millis(self) -> u64 {
        self.millis
    }

    /// Whole seconds, rounded down: what `Keep-Alive: timeout=` may promise without
    /// overstating how long the server waits.
    pub const fn as_secs(self) -> u64 {
        self.millis / 1000
    }

    /// Seconds, rounded up: what `Retry-After` must say so that a client that waits
    /// exactly that long is not refused again.
    pub const fn as_secs_ceil(self) -> u64 {
        self.millis.div_ceil(1000)
    }

    /// Whether this is no time at all.
    pub const fn is_zero(self) -> bool {
        self.millis == 0
    }
}

/// The sum, saturating at [`Duration::MAX`].
impl Add for Duration {
    type Output = Duration;
    fn add(self, other: Duration) -> Duration {
        Duration::from_millis(self.millis.saturating_add(other.millis))
    }
}

/// The difference, saturating at [`Duration::ZERO`].
impl Sub for Duration {
    type Output = Duration;
    fn sub(self, other: Duration) -> Duration {
        Duration::from_millis(self.millis.saturating_sub(other.millis))
    }
}

impl AddAssign for Duration {
    fn add_assign(&mut self, other: Duration) {
        *self = *self + other;
    }
}

impl SubAssign for Duration {
    fn sub_assign(&mut self, other: Duration) {
        *self = *self - other;
    }
}

/// For a port's timer (tokio's `sleep`, `timeout`), which speaks `core::time::Duration`.
impl From<Duration> for core::time::Duration {
    fn from(d: Duration) -> Self {
        core::time::Duration::from_millis(d.millis)
    }
}

/// From a port's clock reading (`std::time::Instant::elapsed`), truncated to whole
/// milliseconds and saturating at [`Duration::MAX`].
impl From<core::time::Duration> for Duration {
    fn from(d: core::time::Duration) -> Self {
        Duration::from_millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    #[test]
    fn instants_subtract_to_a_duration_saturating_at_zero() {
        assert_eq!(at(1_500) - at(500), ms(1_000));
        assert_eq!(at(500) - at(1_500), Duration::ZERO);
        assert_eq!(at(7).saturating_duration_since(at(7)), Duration::ZERO);
        assert_eq!(at(9).saturating_duration_since(at(2)), ms(7));
    }

    #[test]
    fn adding_a_duration_saturates_at_the_end_of_time() {
        assert_eq!(at(100) + ms(50), at(150));
        assert_eq!(at(100) + Duration::MAX, at(u64::MAX));
        let mut t = at(u64::MAX - 1);
        t += ms(5);
        assert_eq!(t, at(u64::MAX));
    }

    #[test]
    fn subtracting_a_duration_saturates_at_the_epoch() {
        assert_eq!(at(100) - ms(30), at(70));
        assert_eq!(at(100) - ms(300), Instant::EPOCH);
    }

    #[test]
    fn durations_add_and_subtract_saturating() {
        assert_eq!(ms(2) + ms(3), ms(5));
        assert_eq!(ms(2) - ms(3), Duration::ZERO);
        assert_eq!(Duration::MAX + ms(1), Duration::MAX);
        let mut d = ms(10);
        d -= ms(4);
        d += ms(1);
        assert_eq!(d, ms(7));
    }

    #[test]
    fn both_order_by_their_milliseconds() {
        assert!(at(1) < at(2));
        assert!(ms(999) < Duration::from_secs(1));
        assert_eq!(at(3).max(at(8)), at(8));
        assert_eq!(Instant::default(), Instant::EPOCH);
        assert_eq!(Duration::default(), Duration::ZERO);
    }

    #[test]
    fn seconds_convert_both_ways() {
        assert_eq!(Duration::from_secs(15), ms(15_000));
        assert_eq!(Duration::from_secs(u64::MAX), Duration::MAX);
        assert_eq!(ms(10_999).as_secs(), 10);
        assert_eq!(ms(10_001).as_secs_ceil(), 11);
        assert_eq!(ms(10_000).as_secs_ceil(), 10);
        assert_eq!(ms(1).as_secs_ceil(), 1);
        assert!(Duration::ZERO.is_zero() && !ms(1).is_zero());
    }

    #[test]
    fn core_durations_convert_to_whole_milliseconds() {
        assert_eq!(
            core::time::Duration::from(ms(1_234)),
            core::time::Duration::from_millis(1_234)
        );
        assert_eq!(
            Duration::from(core::time::Duration::from_micros(2_999)),
            ms(2)
        );
        assert_eq!(Duration::from(core::time::Duration::MAX), Duration::MAX);
    }
}
