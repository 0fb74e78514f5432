//! Slowing down password guessing: per peer, and for everyone at once.
//!
//! Each peer may get its password wrong a few times for free; after that it must wait
//! 1 s, then 2 s, 4 s… before the next try. A guesser spreading its tries over many
//! addresses meets the same rule on a global count with a higher allowance. No wait is
//! ever longer than [`MAX_WAIT_MS`], so the owner is never locked out for more than a
//! minute. Attempts made while waiting are refused before the password is checked, so
//! they neither cost a hash nor count. Pure: time is an argument, memory is fixed.

use core::net::IpAddr;

use crate::time::Millis;

/// The longest wait ever imposed.
pub const MAX_WAIT_MS: Millis = 60_000;
/// Wrong passwords a peer may send before it has to wait.
pub const PEER_FREE: u32 = 3;
/// Wrong passwords from everyone together before everyone has to wait.
pub const GLOBAL_FREE: u32 = 10;
/// Quiet time after which a record's failures are forgotten.
pub const FORGET_MS: Millis = 15 * 60_000;

/// Try again after this many milliseconds (send as `Retry-After` in whole seconds,
/// rounded up: see [`RetryAfter::seconds`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub Millis);

impl RetryAfter {
    /// The wait in whole seconds, at least 1.
    pub fn seconds(self) -> u64 {
        self.0.div_ceil(1000).max(1)
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Record {
    failures: u32,
    last_ms: Millis,
    until_ms: Millis,
}

impl Record {
    fn wait(&self, now: Millis) -> Option<RetryAfter> {
        (now < self.until_ms).then(|| RetryAfter(self.until_ms - now))
    }

    fn fail(&mut self, now: Millis, free: u32) {
        if now.saturating_sub(self.last_ms) >= FORGET_MS {
            self.failures = 0;
        }
        self.failures = self.failures.saturating_add(1);
        self.last_ms = now;
        if self.failures > free {
            let doublings = (self.failures - free - 1).min(16);
            self.until_ms = now + (1000u64 << doublings).min(MAX_WAIT_MS);
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
                last_ms: 0,
                until_ms: 0,
            },
        }
    }

    /// `Err` when `peer` (or everyone) must wait before trying a password.
    pub fn check(&self, peer: Option<IpAddr>, now: Millis) -> Result<(), RetryAfter> {
        let own = peer.and_then(|ip| self.find(ip)).and_then(|r| r.wait(now));
        let all = self.global.wait(now);
        match (own, all) {
            (Some(a), Some(b)) => Err(RetryAfter(a.0.max(b.0))),
            (Some(w), None) | (None, Some(w)) => Err(w),
            (None, None) => Ok(()),
        }
    }

    /// A wrong password from `peer`.
    pub fn failure(&mut self, peer: Option<IpAddr>, now: Millis) {
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
                    .min_by_key(|(_, p)| p.map_or(0, |(_, r)| r.last_ms + 1))
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

    fn ip(n: u8) -> Option<IpAddr> {
        Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, n)))
    }

    #[test]
    fn a_peer_waits_longer_each_time_up_to_a_minute() {
        let mut l = LoginLimiter::<4>::new();
        let mut now = 0;
        for _ in 0..PEER_FREE {
            assert_eq!(l.check(ip(1), now), Ok(()));
            l.failure(ip(1), now);
        }
        assert_eq!(l.check(ip(1), now), Ok(()));
        l.failure(ip(1), now);
        assert!(l.check(ip(1), now).is_err());
        assert_eq!(l.check(ip(2), now), Ok(()), "others are not slowed");
        now += 1000;
        let mut waits = std::vec::Vec::new();
        for _ in 0..10 {
            l.failure(ip(1), now);
            let RetryAfter(w) = l.check(ip(1), now).unwrap_err();
            waits.push(w);
            now += w;
            assert_eq!(l.check(ip(1), now), Ok(()), "free again after the wait");
        }
        assert_eq!(
            waits,
            [2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000, 60000, 60000]
        );
        assert!(waits.iter().all(|&w| w <= MAX_WAIT_MS));
        let mut l = LoginLimiter::<4>::new();
        for _ in 0..=PEER_FREE {
            l.failure(ip(1), 0);
        }
        assert!(l.check(ip(1), 0).is_err());
        l.success(ip(1));
        l.failure(ip(1), 0);
        assert_eq!(l.check(ip(1), 0), Ok(()), "success forgives the peer");
    }

    #[test]
    fn many_peers_together_are_slowed_too() {
        let mut l = LoginLimiter::<4>::new();
        for n in 0..GLOBAL_FREE {
            l.failure(ip(n as u8), 0);
        }
        assert_eq!(l.check(ip(200), 0), Ok(()));
        l.failure(ip(201), 0);
        assert_eq!(l.check(ip(200), 0), Err(RetryAfter(1000)));
        assert_eq!(l.check(None, 999), Err(RetryAfter(1)));
        assert_eq!(l.check(None, 1000), Ok(()));
        for _ in 0..40 {
            l.failure(None, 5000);
        }
        assert_eq!(l.check(ip(1), 5000), Err(RetryAfter(MAX_WAIT_MS)));
        assert_eq!(RetryAfter(MAX_WAIT_MS).seconds(), 60);
        assert_eq!(RetryAfter(1).seconds(), 1);
    }

    #[test]
    fn forgets_after_quiet_time_and_when_full() {
        let mut l = LoginLimiter::<2>::new();
        for _ in 0..=PEER_FREE {
            l.failure(ip(1), 0);
        }
        assert!(l.check(ip(1), 0).is_err());
        l.failure(ip(1), FORGET_MS + 2000);
        assert_eq!(
            l.check(ip(1), FORGET_MS + 2000),
            Ok(()),
            "counted from one again"
        );
        // A third peer takes the slot of the one that failed longest ago.
        l.failure(ip(2), FORGET_MS + 3000);
        l.failure(ip(3), FORGET_MS + 4000);
        assert!(l.find(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))).is_none());
        assert!(l.find(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 3))).is_some());
    }
}
