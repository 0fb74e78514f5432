//! SYNs held in the driver while no socket listens: the device's accept queue.
//!
//! A Linux server whose accept queue has room completes a burst of handshakes at once
//! and lets the application take them when it can. smoltcp has no such queue: a SYN is
//! taken by a socket in `LISTEN` or not at all, and the device has a few dozen sockets.
//! Dropping the SYN (as [`crate::SynGate`] does without a backlog) costs the client its
//! retransmission timer — a second, then three, then seven — while a socket that frees
//! a millisecond later sits listening for nobody. Holding the SYN frame and handing it to
//! the stack again the moment a socket listens turns that second into the time it takes
//! to close one idle keep-alive.
//!
//! Each held SYN is one frame of at most [`HELD_SYN_BYTES`], in storage the caller
//! provides (`&mut [HeldSyn]`), so the memory is chosen by the profile and counted
//! there. A retransmission of a SYN already held replaces it in place (one entry per
//! client port), and a SYN held longer than [`SYN_HOLD_MS`] is let go: its client has
//! retransmitted or given up.
//!
//! Every SYN given to the stack — handed on from the backlog or let through at once —
//! leaves a mark for [`MARK_MS`], so that its client's retransmission (sent while the
//! original waited here, or because the SYN-ACK was lost) is dropped instead of reaching
//! the stack. smoltcp gives a SYN to the first socket that accepts it, and a second
//! socket in `LISTEN` answers it with a second handshake for the same connection; the
//! client's answer to that one makes the second socket send a reset the client accepts,
//! and the first connection dies before its response (seen over the emulated Wi-Fi
//! link: `closed before response` on a fresh connection). The socket that took the
//! original retransmits its own SYN-ACK if it was lost. Marks take free entries, or the
//! oldest mark's; a SYN waiting always has room before a mark.

use embassy_time::{Duration, Instant};

/// Bytes of one held frame: an Ethernet header, an IPv4 header without options and the
/// longest TCP header (a SYN carries MSS, window scale, SACK-permitted and timestamps:
/// 74 bytes from Linux). A longer SYN is dropped as before.
pub const HELD_SYN_BYTES: usize = 14 + 20 + 60;

/// How long a SYN is held at most. Longer than a client's first two retransmissions
/// (1 s and 3 s after the SYN on Linux, RFC 6298's initial timeout), which meet their
/// held original and refresh it instead of waiting in line again.
pub const SYN_HOLD_MS: u64 = 3_000;

/// How long a SYN given to the stack is remembered: past a client's first retransmission
/// (1 s), short of its second (3 s), so that if the socket that took the original was
/// lost meanwhile, the client's next try gets through.
pub const MARK_MS: u64 = 2_000;

/// One SYN frame waiting for a listening socket.
#[derive(Clone, Copy)]
pub struct HeldSyn {
    frame: [u8; HELD_SYN_BYTES],
    /// 0 = free.
    len: u8,
    /// Handed on already: kept to recognise its retransmissions.
    passed: bool,
    /// When it first arrived: the oldest is handed on first.
    first: Instant,
    /// When it (or its retransmission) last arrived: for the hold limit.
    last: Instant,
}

impl HeldSyn {
    /// A free entry, for the caller's storage: `[HeldSyn::FREE; 64]`.
    pub const FREE: HeldSyn = HeldSyn {
        frame: [0; HELD_SYN_BYTES],
        len: 0,
        passed: false,
        first: Instant::from_ticks(0),
        last: Instant::from_ticks(0),
    };

    fn frame(&self) -> &[u8] {
        &self.frame[..usize::from(self.len)]
    }

    fn is_waiting(&self) -> bool {
        self.len > 0 && !self.passed
    }
}

/// The held SYNs, oldest handed on first.
pub(crate) struct SynBacklog<'b> {
    slots: &'b mut [HeldSyn],
    held: usize,
}

/// The client end of a SYN (its IPv4 address and TCP port) and its initial sequence
/// number, read from the frame: the same connection attempt has the same three.
fn client(frame: &[u8], ip_offset: usize) -> Option<([u8; 6], [u8; 4])> {
    let ip = frame.get(ip_offset..)?;
    let tcp = ip.get(usize::from(ip.first()? & 0x0f) * 4..)?;
    let mut c = [0u8; 6];
    c[..4].copy_from_slice(ip.get(12..16)?);
    c[4..].copy_from_slice(tcp.get(0..2)?);
    let mut isn = [0u8; 4];
    isn.copy_from_slice(tcp.get(4..8)?);
    Some((c, isn))
}

impl<'b> SynBacklog<'b> {
    pub(crate) fn new(slots: &'b mut [HeldSyn]) -> Self {
        for s in slots.iter_mut() {
            s.len = 0;
        }
        SynBacklog { slots, held: 0 }
    }

    /// SYNs held now.
    pub(crate) fn held(&self) -> usize {
        self.held
    }

    /// Whether `frame` retransmits a SYN already handed on (same client, same initial
    /// sequence number): it must not reach the stack again.
    pub(crate) fn is_repeat(&self, frame: &[u8], ip_offset: usize, now: Instant) -> bool {
        let Some(this) = client(frame, ip_offset) else {
            return false;
        };
        let mark = Duration::from_millis(MARK_MS);
        self.slots.iter().any(|s| {
            s.len > 0
                && s.passed
                && now.saturating_duration_since(s.last) <= mark
                && client(s.frame(), ip_offset) == Some(this)
        })
    }

    /// Holds `frame` (a SYN whose IP header starts at `ip_offset`). False when it does
    /// not fit: too long, or every entry taken by a SYN still waiting.
    pub(crate) fn hold(&mut self, frame: &[u8], ip_offset: usize, now: Instant) -> bool {
        let (Some((who, _)), Ok(len)) = (client(frame, ip_offset), u8::try_from(frame.len()))
        else {
            return false;
        };
        if frame.len() > HELD_SYN_BYTES {
            return false;
        }
        let waiting_same = self.slots.iter().position(|s| {
            s.is_waiting() && client(s.frame(), ip_offset).is_some_and(|(c, _)| c == who)
        });
        let (i, first) = match waiting_same {
            Some(i) => (i, self.slots[i].first),
            // A free entry, else the oldest mark of one handed on.
            None => match self.slots.iter().position(|s| s.len == 0).or_else(|| {
                (0..self.slots.len())
                    .filter(|&i| self.slots[i].passed)
                    .min_by_key(|&i| self.slots[i].last)
            }) {
                Some(i) => {
                    self.held += 1;
                    (i, now)
                }
                None => return false,
            },
        };
        let s = &mut self.slots[i];
        s.frame[..frame.len()].copy_from_slice(frame);
        s.len = len;
        s.passed = false;
        s.first = first;
        s.last = now;
        true
    }

    /// Lets go of SYNs held past [`SYN_HOLD_MS`] and marks older than [`MARK_MS`];
    /// returns how many SYNs were let go.
    pub(crate) fn expire(&mut self, now: Instant) -> usize {
        let (hold, mark) = (
            Duration::from_millis(SYN_HOLD_MS),
            Duration::from_millis(MARK_MS),
        );
        let mut n = 0;
        for s in self.slots.iter_mut() {
            let limit = if s.passed { mark } else { hold };
            if s.len > 0 && now.saturating_duration_since(s.last) > limit {
                n += usize::from(!s.passed);
                s.len = 0;
            }
        }
        self.held -= n;
        n
    }

    /// Marks `frame`, a SYN the stack is given now without waiting here. Nothing when
    /// every entry holds a SYN still waiting.
    pub(crate) fn mark(&mut self, frame: &[u8], ip_offset: usize, now: Instant) {
        let (Some(_), Ok(len)) = (client(frame, ip_offset), u8::try_from(frame.len())) else {
            return;
        };
        if frame.len() > HELD_SYN_BYTES {
            return;
        }
        let room = self.slots.iter().position(|s| s.len == 0).or_else(|| {
            (0..self.slots.len())
                .filter(|&i| self.slots[i].passed)
                .min_by_key(|&i| self.slots[i].last)
        });
        if let Some(i) = room {
            let s = &mut self.slots[i];
            s.frame[..frame.len()].copy_from_slice(frame);
            s.len = len;
            s.passed = true;
            s.first = now;
            s.last = now;
        }
    }

    /// The entry to hand on next: the oldest.
    pub(crate) fn oldest(&self) -> Option<usize> {
        (0..self.slots.len())
            .filter(|&i| self.slots[i].is_waiting())
            .min_by_key(|&i| self.slots[i].first)
    }

    /// Gives a copy of entry `i`'s frame to `f` (the stack may write into it) and keeps
    /// the entry as the mark of a SYN handed on, from `now`.
    pub(crate) fn take<R>(&mut self, i: usize, now: Instant, f: impl FnOnce(&mut [u8]) -> R) -> R {
        let s = &mut self.slots[i];
        s.passed = true;
        s.last = now;
        self.held -= 1;
        let mut copy = s.frame;
        f(&mut copy[..usize::from(s.len)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An Ethernet frame holding a SYN from 10.0.0.`host`:`port` to port 80.
    fn syn(host: u8, port: u16, tag: u8) -> [u8; 74] {
        let mut f = [0u8; 74];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        let ip = &mut f[14..];
        ip[0] = 0x45;
        ip[9] = 6;
        ip[12..16].copy_from_slice(&[10, 0, 0, host]);
        ip[20..22].copy_from_slice(&port.to_be_bytes());
        ip[22..24].copy_from_slice(&80u16.to_be_bytes());
        ip[33] = 0x02;
        ip[59] = tag;
        f
    }

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    /// Soon after the marks of a test were made.
    const NOW: Instant = Instant::from_millis(1_000);

    #[test]
    fn the_oldest_is_handed_on_first_and_a_retransmission_keeps_its_place() {
        let mut slots = [HeldSyn::FREE; 3];
        let mut b = SynBacklog::new(&mut slots);
        assert!(b.hold(&syn(1, 1000, 1), 14, at(0)));
        assert!(b.hold(&syn(2, 1000, 2), 14, at(5)));
        // The first client retransmits: same entry, newest bytes, first place kept.
        assert!(b.hold(&syn(1, 1000, 3), 14, at(1000)));
        assert_eq!(b.held(), 2);
        let i = b.oldest().unwrap();
        assert_eq!(
            b.take(i, at(1001), |f| f[14 + 59]),
            3,
            "the retransmission's bytes"
        );
        let i = b.oldest().unwrap();
        assert_eq!(b.take(i, at(1002), |f| f[14 + 59]), 2);
        assert_eq!((b.held(), b.oldest()), (0, None));
    }

    #[test]
    fn a_retransmission_of_a_syn_handed_on_is_recognised_until_the_hold_limit() {
        let mut slots = [HeldSyn::FREE; 1];
        let mut b = SynBacklog::new(&mut slots);
        let original = syn(1, 1000, 1);
        assert!(b.hold(&original, 14, at(0)));
        b.take(0, at(900), |_| ());
        assert!(b.is_repeat(&original, 14, NOW), "same client, same ISN");
        let mut next_attempt = original;
        next_attempt[14 + 24] ^= 0xff; // another initial sequence number
        assert!(!b.is_repeat(&next_attempt, 14, NOW));
        assert!(!b.is_repeat(&syn(2, 1000, 1), 14, NOW));
        // The mark gives way to a SYN that needs the room, and expires on its own.
        assert!(b.hold(&syn(2, 1000, 1), 14, at(950)));
        assert!(!b.is_repeat(&original, 14, NOW));
        b.take(0, at(960), |_| ());
        assert_eq!(b.expire(at(960 + MARK_MS + 1)), 0, "marks are not counted");
        assert!(!b.is_repeat(&syn(2, 1000, 1), 14, NOW));
    }

    #[test]
    fn a_syn_let_through_at_once_is_marked_too_but_never_displaces_one_waiting() {
        let mut slots = [HeldSyn::FREE; 2];
        let mut b = SynBacklog::new(&mut slots);
        let passed = syn(1, 1000, 1);
        b.mark(&passed, 14, at(0));
        assert!(
            b.is_repeat(&passed, 14, NOW),
            "its SYN-ACK lost, the client retransmits"
        );
        assert_eq!(b.held(), 0, "a mark is not a SYN waiting");
        assert!(b.hold(&syn(2, 1, 0), 14, at(10)));
        assert!(b.hold(&syn(3, 1, 0), 14, at(10)), "the mark gives way");
        b.mark(&syn(4, 1, 0), 14, at(20));
        assert_eq!(b.held(), 2, "no room: the waiting ones stay");
        assert!(!b.is_repeat(&syn(4, 1, 0), 14, NOW));
        b.expire(at(MARK_MS + 1));
        let mut fresh = [HeldSyn::FREE; 1];
        let mut b = SynBacklog::new(&mut fresh);
        b.mark(&passed, 14, at(0));
        assert!(
            !b.is_repeat(&passed, 14, at(MARK_MS + 1)),
            "after the mark's time, the next try gets through"
        );
    }

    #[test]
    fn full_or_too_long_is_refused_and_old_ones_expire() {
        let mut slots = [HeldSyn::FREE; 2];
        let mut b = SynBacklog::new(&mut slots);
        assert!(b.hold(&syn(1, 1, 0), 14, at(0)));
        assert!(
            b.hold(&syn(1, 2, 0), 14, at(0)),
            "another port is another client"
        );
        assert!(!b.hold(&syn(1, 3, 0), 14, at(0)), "full");
        assert!(!b.hold(&[0u8; HELD_SYN_BYTES + 1], 14, at(0)), "too long");
        assert!(!b.hold(&[0u8; 20], 14, at(0)), "truncated");
        assert!(b.hold(&syn(1, 2, 0), 14, at(2_000)), "refreshed");
        assert_eq!(b.expire(at(SYN_HOLD_MS)), 0);
        assert_eq!(b.expire(at(SYN_HOLD_MS + 1)), 1, "the one never refreshed");
        assert_eq!(b.held(), 1);
        assert!(b.hold(&syn(1, 3, 0), 14, at(3_001)), "room again");
    }
}
