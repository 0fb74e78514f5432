//! Reconnect delays: exponential, capped, with jitter — pure arithmetic.
//!
//! The ESP-IDF client retries at a fixed interval (#594), so a fleet that lost its server
//! comes back in lock-step and hammers it. Doubling spreads retries out in time; the
//! jitter ("equal jitter": half fixed, half random) spreads devices apart.

/// Reconnect policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Reconnect {
    /// Reconnect at all after a connection ends or fails.
    pub enabled: bool,
    /// First delay, in milliseconds.
    pub min_delay_ms: u64,
    /// Largest delay, in milliseconds.
    pub max_delay_ms: u64,
}

impl Reconnect {
    /// 500 ms doubling up to 30 s.
    pub const fn const_default() -> Self {
        Reconnect {
            enabled: true,
            min_delay_ms: 500,
            max_delay_ms: 30_000,
        }
    }

    /// Never reconnect.
    pub const fn disabled() -> Self {
        Reconnect {
            enabled: false,
            ..Self::const_default()
        }
    }
}

impl Default for Reconnect {
    fn default() -> Self {
        Self::const_default()
    }
}

/// The state of a backoff sequence.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    policy: Reconnect,
    attempt: u32,
}

impl Backoff {
    /// A sequence at its first step.
    pub const fn new(policy: Reconnect) -> Self {
        Backoff { policy, attempt: 0 }
    }

    /// Failed attempts since the last success.
    pub const fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Back to the first step (after a successful connection).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// The next delay, given 64 random bits; advances the sequence.
    pub fn next_delay(&mut self, random: u64) -> u64 {
        let min = self.policy.min_delay_ms.max(1);
        let max = self.policy.max_delay_ms.max(min);
        let base = min.saturating_mul(1u64 << self.attempt.min(32)).min(max);
        self.attempt = self.attempt.saturating_add(1);
        let half = base / 2;
        base - half + random % (half + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_caps_and_jitters_within_bounds() {
        let mut b = Backoff::new(Reconnect {
            enabled: true,
            min_delay_ms: 100,
            max_delay_ms: 1000,
        });
        let bases = [100, 200, 400, 800, 1000, 1000];
        for base in bases {
            let lo = base - base / 2;
            let mut probe = b;
            assert_eq!(probe.next_delay(0), lo);
            let mut probe = b;
            assert_eq!(probe.next_delay(base / 2), base);
            let d = b.next_delay(0xDEAD_BEEF);
            assert!((lo..=base).contains(&d), "{d} not in {lo}..={base}");
        }
        b.reset();
        assert!(b.next_delay(7) <= 100);
    }

    #[test]
    fn no_overflow_after_many_attempts() {
        let mut b = Backoff::new(Reconnect::const_default());
        for _ in 0..200 {
            assert!(b.next_delay(u64::MAX) <= 30_000);
        }
    }
}
