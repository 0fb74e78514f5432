//! Slowing down password guessing: per peer, and for everyone at once.
//!
//! Each peer may get its password wrong a few times for free; after that it must wait
//! 1 s, then 2 s, 4 s… before the next try. A guesser spreading its tries over many
//! addresses meets the same rule on a global count with a higher allowance. No wait is
//! ever longer than [`MAX_WAIT`], so the owner is never locked out for more than a
//! minute. Attempts made while waiting are refused before the password is checked, so
//! they neither cost a hash nor count. Pure: time is an argument, memory is fixed.

use core::net::IpAddr;

use crate::time::{Duration, Instant};

/// The longest wait ever imposed.
pub const MAX_WAIT: Duration = Duration::from_secs(60);
/// Wrong passwords a peer may send before it has to wait.
pub const PEER_FREE: u32 = 3;
/// Wrong passwords from everyone together before everyone has to wait.
pub const GLOBAL_FREE: u32 = 10;
/// Quiet time after which a record's failures are forgotten.
pub const FORGET: Duration = Duration::from_secs(15 * 60);

/// Try again after this long (send as `Retry-After` in whole seconds,
/// rounded up: see [`RetryAfter::seconds`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub Duration);

impl RetryAfter {
    /// The wait in whole seconds, at least 1.
    pub fn seconds(self) -> u64 {
        self.0.as_secs_ceil().max(1)
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Record {
    failures: u32,
    last: Instant,
    until: Instant,
}

impl Record {
    fn wait(&self, now: Instant) -> Option<RetryAfter> {
        (now < self.until).then(|| RetryAfter(self.until - now))
    }

    fn fail(&mut self, now: Instant, free: u32) {
        if now - self.last >= FORGET {
            self.failures = 0;
        }
        self.failures = self.failures.saturating_add(1);
        self.last = now;
        if self.failures > free {
            let doublings = (self.failures - free - 1).min(16);
            self.until = now + Duration::from_secs(1 << doublings).min(MAX_WAIT);
        }
    }
}

/// Failed-login records for up to `N` peers (the least recently failing is forgotten
/// first when full) and one for everyone.
#[derive(Debug, Clone)]
pub struct LoginLimiter<const N: usize> {
    peers: [Option<(IpAddr, Record)>; N],
    global: Record,
}

impl<const N: usize> Default for LoginLimiter<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> LoginLimiter<N> {
    /// No failures yet.
    pub const fn new() -> Self {
        LoginLimiter {
            peers: [None; N],
            global: Record {
                failures: 0,
                last: Instant::EPOCH,
                until: Instant::EPOCH,
            },
        }
    }

    /// `Err` when `peer` (or everyone) must wait before trying a password.
    pub fn check(&self, peer: Option<IpAddr>, now: Instant) -> Result<(), RetryAfter> {
        let own = peer.and_then(|ip| self.find(ip)).and_then(|r| r.wait(now));
        let all = self.global.wait(now);
        match (own, all) {
            (Some(a), Some(b)) => Err(RetryAfter(a.0.max(b.0))),
            (Some(w), None) | (None, Some(w)) => Err(w),
            (None, None) => Ok(()),
        }
    }

    /// A wrong password from `peer`.
    pub fn failure(&mut self, peer: Option<IpAddr>, now: Instant) {
        self.global.fail(now, GLOBAL_FREE);
        let Some(ip) = peer else { return };
        let slot = match self
            .peers
            .iter()
            .position(|p| p.is_some_and(|(a, _)| a == ip))
        {
            Some(i) => i,
            None => {
                // A free slot, else the one whose last failure is oldest.
                let i = self
                    .peers
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, p)| p.map(|(_, r)| r.last))
                    .map_or(0, |(i, _)| i);
                self.peers[i] = Some((ip, Record::default()));
                i
            }
        };
        if let Some((_, r)) = self.peers.get_mut(slot).and_then(|p| p.as_mut()) {
            r.fail(now, PEER_FREE);
        }
    }

    /// The right password from `peer`: its own record is cleared (the global one is
    /// not: one success must not reopen the door to a distributed guesser).
    pub fn success(&mut self, peer: Option<IpAddr>) {
        if let Some(ip) = peer {
            for p in self.peers.iter_mut() {
                if p.is_some_and(|(a, _)| a == ip) {
                    *p = None;
                }
            }
        }
    }

    fn find(&self, ip: IpAddr) -> Option<&Record> {
        self.peers
            .iter()
            .flatten()
            .find(|(a, _)| *a == ip)
            .map(|(_, r)| r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::Ipv4Addr;

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    fn ip(n: u8) -> Option<IpAddr> {
        Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, n)))
    }

    #[test]
    fn a_peer_waits_longer_each_time_up_to_a_minute() {
        let mut l = LoginLimiter::<4>::new();
        let mut now = Instant::EPOCH;
        for _ in 0..PEER_FREE {
            assert_eq!(l.check(ip(1), now), Ok(()));
            l.failure(ip(1), now);
        }
        assert_eq!(l.check(ip(1), now), Ok(()));
        l.failure(ip(1), now);
        assert!(l.check(ip(1), now).is_err());
        assert_eq!(l.check(ip(2), now), Ok(()), "others are not slowed");
        now += Duration::from_secs(1);
        let mut waits = [Duration::ZERO; 10];
        for slot in &mut waits {
            l.failure(ip(1), now);
            let RetryAfter(w) = l.check(ip(1), now).unwrap_err();
            *slot = w;
            now += w;
            assert_eq!(l.check(ip(1), now), Ok(()), "free again after the wait");
        }
        assert_eq!(
            waits.map(Duration::as_secs),
            [2, 4, 8, 16, 32, 60, 60, 60, 60, 60]
        );
        assert!(waits.iter().all(|&w| w <= MAX_WAIT));
        let mut l = LoginLimiter::<4>::new();
        for _ in 0..=PEER_FREE {
            l.failure(ip(1), at(0));
        }
        assert!(l.check(ip(1), at(0)).is_err());
        l.success(ip(1));
        l.failure(ip(1), at(0));
        assert_eq!(l.check(ip(1), at(0)), Ok(()), "success forgives the peer");
    }

    #[test]
    fn many_peers_together_are_slowed_too() {
        let mut l = LoginLimiter::<4>::new();
        for n in 0..GLOBAL_FREE {
            l.failure(ip(n as u8), at(0));
        }
        assert_eq!(l.check(ip(200), at(0)), Ok(()));
        l.failure(ip(201), at(0));
        assert_eq!(
            l.check(ip(200), at(0)),
            Err(RetryAfter(Duration::from_secs(1)))
        );
        assert_eq!(
            l.check(None, at(999)),
            Err(RetryAfter(Duration::from_millis(1)))
        );
        assert_eq!(l.check(None, at(1000)), Ok(()));
        for _ in 0..40 {
            l.failure(None, at(5000));
        }
        assert_eq!(l.check(ip(1), at(5000)), Err(RetryAfter(MAX_WAIT)));
        assert_eq!(RetryAfter(MAX_WAIT).seconds(), 60);
        assert_eq!(RetryAfter(Duration::from_millis(1)).seconds(), 1);
    }

    #[test]
    fn forgets_after_quiet_time_and_when_full() {
        let mut l = LoginLimiter::<2>::new();
        for _ in 0..=PEER_FREE {
            l.failure(ip(1), at(0));
        }
        assert!(l.check(ip(1), at(0)).is_err());
        l.failure(ip(1), at(2000) + FORGET);
        assert_eq!(
            l.check(ip(1), at(2000) + FORGET),
            Ok(()),
            "counted from one again"
        );
        // A third peer takes the slot of the one that failed longest ago.
        l.failure(ip(2), at(3000) + FORGET);
        l.failure(ip(3), at(4000) + FORGET);
        assert!(l.find(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))).is_none());
        assert!(l.find(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 3))).is_some());
    }
}
