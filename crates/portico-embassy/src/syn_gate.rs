//! A SYN that finds no listening socket is held or dropped, never reset.
//!
//! smoltcp answers a SYN for a port with no socket in `LISTEN` with a reset, and a
//! browser reports a reset as a failed load. Linux, whose accept queue is full, drops
//! the SYN instead, and the client retransmits it a second later. So a burst of SYNs
//! larger than the listening sockets, or a listener lost with a packet, costs the
//! browser time instead of the page.
//!
//! [`SynGate`] wraps the network driver and looks at each received packet's first bytes
//! (no copy): a SYN to the HTTP port while the [`ListenGate`] says nothing listens is
//! held in the driver's backlog ([`SynGate::with_backlog`], see `syn_backlog`) and given
//! to the stack the moment a socket listens again — or, with no room, has its IP
//! version field cleared, so the stack discards it as malformed without answering.
use core::sync::atomic::{AtomicU32, Ordering};
use core::task::Context;

use embassy_net_driver::{Capabilities, Driver, HardwareAddress, LinkState, RxToken};
use embassy_sync::waitqueue::AtomicWaker;
use embassy_time::Instant;

use crate::syn_backlog::{HeldSyn, SynBacklog};

/// What the socket pool and the driver tell each other: how many sockets listen on the
/// HTTP port, and how many SYNs wait for one.
///
/// Only loads and stores (no read-modify-write): the ESP32-C3 has no atomic
/// compare-and-swap, and one executor updates it.
pub struct ListenGate {
    port: AtomicU32,
    listening: AtomicU32,
    dropped: AtomicU32,
    /// SYNs held in the driver's backlog now.
    waiting: AtomicU32,
    /// SYNs ever held (a retransmission of one held counts once).
    held: AtomicU32,
    /// The stack's runner, woken to hand a held SYN on when a socket listens.
    driver: AtomicWaker,
    /// The pool's keeper, woken when a SYN starts waiting (to make room for it).
    pool: AtomicWaker,
}

impl core::fmt::Debug for ListenGate {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ListenGate")
            .field("listening", &self.listening.load(Ordering::Relaxed))
            .field("waiting", &self.waiting())
            .field("dropped", &self.dropped())
            .finish()
    }
}

/// What becomes of a received packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Not a SYN to the port, or a socket listens for it.
    Pass,
    /// A SYN for which no socket listens (or others wait before it).
    Wait,
}

impl ListenGate {
    /// A gate for `port`, open (nothing dropped) until the pool reports its sockets.
    pub const fn new(port: u16) -> Self {
        ListenGate {
            port: AtomicU32::new(port as u32),
            listening: AtomicU32::new(u32::MAX),
            dropped: AtomicU32::new(0),
            waiting: AtomicU32::new(0),
            held: AtomicU32::new(0),
            driver: AtomicWaker::new(),
            pool: AtomicWaker::new(),
        }
    }

    /// The pool reports its listening sockets; a held SYN is handed on if one does.
    pub fn set_listening(&self, n: usize) {
        self.listening.store(n as u32, Ordering::Relaxed);
        if n > 0 && self.waiting() > 0 {
            self.driver.wake();
        }
    }

    /// SYNs dropped because nothing listened and the backlog had no room.
    pub fn dropped(&self) -> u32 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// SYNs waiting in the driver's backlog for a socket.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed) as usize
    }

    /// SYNs ever held in the backlog.
    pub fn held(&self) -> u32 {
        self.held.load(Ordering::Relaxed)
    }

    /// Registers the pool's keeper, woken when a SYN starts waiting.
    pub fn register_pool(&self, waker: &core::task::Waker) {
        self.pool.register(waker);
    }

    /// Takes a listener for a SYN handed to the stack: smoltcp moves that socket to
    /// `SYN-RECEIVED`, so a burst that arrives before the pool looks again cannot
    /// overrun the count; the pool's next report sets it right.
    fn take_listener(&self) -> bool {
        match self.listening.load(Ordering::Relaxed) {
            0 => false,
            u32::MAX => true,
            n => {
                self.listening.store(n - 1, Ordering::Relaxed);
                true
            }
        }
    }

    /// Whether `ip` opens a connection to the HTTP port.
    fn is_syn(&self, ip: &[u8]) -> bool {
        tcp_syn_port(ip) == Some(self.port.load(Ordering::Relaxed) as u16)
    }

    /// What becomes of `ip` (a packet from its IP header on); `queued`: SYNs already
    /// wait, so a new one waits behind them.
    fn verdict(&self, ip: &[u8], queued: bool) -> Verdict {
        if !self.is_syn(ip) {
            return Verdict::Pass;
        }
        if !queued && self.take_listener() {
            Verdict::Pass
        } else {
            Verdict::Wait
        }
    }

    fn set_waiting(&self, n: usize, newly_held: bool) {
        self.waiting.store(n as u32, Ordering::Relaxed);
        if newly_held {
            let h = self.held.load(Ordering::Relaxed);
            self.held.store(h.wrapping_add(1), Ordering::Relaxed);
            self.pool.wake();
        }
    }

    fn count_drop(&self) {
        let n = self.dropped.load(Ordering::Relaxed);
        self.dropped.store(n.wrapping_add(1), Ordering::Relaxed);
    }
}

/// The destination port of an IPv4 TCP segment that opens a connection (SYN without
/// ACK), or `None` for anything else.
fn tcp_syn_port(ip: &[u8]) -> Option<u16> {
    const TCP: u8 = 6;
    let (&vihl, _) = ip.split_first()?;
    if vihl >> 4 != 4 || ip.get(9) != Some(&TCP) {
        return None;
    }
    let tcp = ip.get(usize::from(vihl & 0x0f) * 4..)?;
    let flags = *tcp.get(13)?;
    let (syn, ack) = (flags & 0x02 != 0, flags & 0x10 != 0);
    (syn && !ack).then(|| u16::from_be_bytes([tcp[2], tcp[3]]))
}

/// A network driver whose received SYNs pass the [`ListenGate`].
pub struct SynGate<'g, D> {
    inner: D,
    gate: &'g ListenGate,
    backlog: SynBacklog<'g>,
}

impl<'g, D: Driver> SynGate<'g, D> {
    /// Wraps `inner`; a SYN that finds no socket listening is dropped (the client
    /// retransmits a second later).
    pub fn new(inner: D, gate: &'g ListenGate) -> Self {
        Self::with_backlog(inner, gate, &mut [])
    }

    /// Wraps `inner`; a SYN that finds no socket listening waits in `backlog` (one
    /// [`HeldSyn`] per client, [`crate::HELD_SYN_BYTES`] each) until one
    /// does, and is dropped only when the backlog is full.
    pub fn with_backlog(inner: D, gate: &'g ListenGate, backlog: &'g mut [HeldSyn]) -> Self {
        SynGate {
            inner,
            gate,
            backlog: SynBacklog::new(backlog),
        }
    }

    fn ip_offset(&self) -> usize {
        match self.inner.hardware_address() {
            HardwareAddress::Ethernet(_) => 14,
            _ => 0,
        }
    }
}

/// A received packet, checked against the gate as the stack reads it — or a held SYN
/// handed on.
pub struct GatedRx<'a, 'g, R> {
    from: From<'a, 'g, R>,
}

enum From<'a, 'g, R> {
    /// Just received.
    Driver {
        inner: R,
        gate: &'g ListenGate,
        backlog: &'a mut SynBacklog<'g>,
        /// Bytes before the IP header (14 for Ethernet, 0 for an IP medium).
        ip_offset: usize,
    },
    /// Entry `i` of the backlog.
    Backlog {
        backlog: &'a mut SynBacklog<'g>,
        i: usize,
    },
}

impl<R: RxToken> RxToken for GatedRx<'_, '_, R> {
    fn consume<T, F: FnOnce(&mut [u8]) -> T>(self, f: F) -> T {
        match self.from {
            From::Backlog { backlog, i } => backlog.take(i, Instant::now(), f),
            From::Driver {
                inner,
                gate,
                backlog,
                ip_offset: off,
            } => inner.consume(|frame| {
                let ethernet_ipv4 = off == 0 || frame.get(12..14) == Some(&[0x08, 0x00]);
                let queued = backlog.held() > 0;
                let ours = ethernet_ipv4 && frame.len() > off;
                let now = Instant::now();
                let syn = ours && gate.is_syn(&frame[off..]);
                if syn && backlog.is_repeat(frame, off, now) {
                    // A retransmission of a SYN the stack has: see `syn_backlog`.
                    frame[off] &= 0x0f;
                } else if syn && gate.verdict(&frame[off..], queued) == Verdict::Pass {
                    backlog.mark(frame, off, now);
                } else if syn {
                    let before = backlog.held();
                    if backlog.hold(frame, off, now) {
                        gate.set_waiting(backlog.held(), backlog.held() > before);
                    } else {
                        gate.count_drop();
                    }
                    // Version 0: the stack discards it as malformed, and sends nothing.
                    frame[off] &= 0x0f;
                }
                f(frame)
            }),
        }
    }
}

impl<'g, D: Driver> Driver for SynGate<'g, D> {
    type RxToken<'a>
        = GatedRx<'a, 'g, D::RxToken<'a>>
    where
        Self: 'a;
    type TxToken<'a>
        = D::TxToken<'a>
    where
        Self: 'a;

    fn receive(&mut self, cx: &mut Context) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let ip_offset = self.ip_offset();
        let SynGate {
            inner,
            gate,
            backlog,
        } = self;
        if backlog.held() > 0 {
            backlog.expire(Instant::now());
            gate.set_waiting(backlog.held(), false);
            // Woken by the pool when a socket listens again.
            gate.driver.register(cx.waker());
            let listens = gate.listening.load(Ordering::Relaxed) > 0;
            let next = backlog
                .oldest()
                .filter(|_| listens && inner.transmit(cx).is_some());
            if let Some(i) = next {
                let tx = inner.transmit(cx)?;
                gate.take_listener();
                gate.set_waiting(backlog.held() - 1, false);
                let from = From::Backlog { backlog, i };
                return Some((GatedRx { from }, tx));
            }
        }
        let gate = *gate;
        inner.receive(cx).map(|(rx, tx)| {
            let from = From::Driver {
                inner: rx,
                gate,
                backlog,
                ip_offset,
            };
            (GatedRx { from }, tx)
        })
    }

    fn transmit(&mut self, cx: &mut Context) -> Option<Self::TxToken<'_>> {
        self.inner.transmit(cx)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// IPv4 (20-byte header) + TCP header with the given flags, to port 80.
    fn segment(flags: u8) -> [u8; 40] {
        let mut p = [0u8; 40];
        p[0] = 0x45;
        p[9] = 6;
        p[20..22].copy_from_slice(&40000u16.to_be_bytes());
        p[22..24].copy_from_slice(&80u16.to_be_bytes());
        p[33] = flags;
        p
    }

    #[test]
    fn only_a_syn_to_the_port_with_nothing_listening_is_refused() {
        let gate = ListenGate::new(80);
        let syn = segment(0x02);
        assert_eq!(
            gate.verdict(&syn, false),
            Verdict::Pass,
            "open until the pool reports"
        );
        gate.set_listening(1);
        assert_eq!(
            gate.verdict(&syn, false),
            Verdict::Pass,
            "one listener takes one SYN"
        );
        assert_eq!(
            gate.verdict(&syn, false),
            Verdict::Wait,
            "the next finds none"
        );
        gate.set_listening(0);
        assert_eq!(gate.verdict(&syn, false), Verdict::Wait);
        assert_eq!(
            gate.verdict(&segment(0x12), false),
            Verdict::Pass,
            "SYN-ACK"
        );
        assert_eq!(gate.verdict(&segment(0x10), false), Verdict::Pass, "ACK");
        let mut other_port = syn;
        other_port[22..24].copy_from_slice(&8080u16.to_be_bytes());
        assert_eq!(gate.verdict(&other_port, false), Verdict::Pass);
        let mut udp = syn;
        udp[9] = 17;
        assert_eq!(gate.verdict(&udp, false), Verdict::Pass);
        assert_eq!(gate.verdict(&syn[..30], false), Verdict::Pass, "truncated");
        assert_eq!(tcp_syn_port(&[]), None);
    }

    #[test]
    fn a_syn_waits_behind_those_already_waiting_even_when_a_socket_listens() {
        let gate = ListenGate::new(80);
        gate.set_listening(1);
        assert_eq!(gate.verdict(&segment(0x02), true), Verdict::Wait);
        assert!(gate.take_listener(), "the listener is left for the oldest");
    }
}
