//! A SYN that finds no listening socket is dropped, not reset.
//!
//! smoltcp answers a SYN for a port with no socket in `LISTEN` with a reset, and a
//! browser reports a reset as a failed load. Linux, whose accept queue is full, drops
//! the SYN instead, and the client retransmits it a second later — by then one of the
//! device's sockets listens again (a victim's close takes one round trip). So a burst of
//! SYNs larger than the listening sockets, or a listener lost with a packet, costs the
//! browser time instead of the page.
//!
//! [`SynGate`] wraps the network driver and looks at each received packet's first bytes
//! (no copy): a SYN to the HTTP port while the [`ListenGate`] says nothing listens has its
//! IP version field cleared, so the stack discards it as malformed without answering.

use core::sync::atomic::{AtomicU32, Ordering};
use core::task::Context;

use embassy_net_driver::{Capabilities, Driver, HardwareAddress, LinkState, RxToken};

/// What the socket pool tells the driver: how many sockets listen on the HTTP port.
///
/// Only loads and stores (no read-modify-write): the ESP32-C3 has no atomic
/// compare-and-swap, and one executor updates it.
#[derive(Debug, Default)]
pub struct ListenGate {
    port: AtomicU32,
    listening: AtomicU32,
    dropped: AtomicU32,
}

impl ListenGate {
    /// A gate for `port`, open (nothing dropped) until the pool reports its sockets.
    pub const fn new(port: u16) -> Self {
        ListenGate {
            port: AtomicU32::new(port as u32),
            listening: AtomicU32::new(u32::MAX),
            dropped: AtomicU32::new(0),
        }
    }

    /// The pool reports its listening sockets.
    pub fn set_listening(&self, n: usize) {
        self.listening.store(n as u32, Ordering::Relaxed);
    }

    /// SYNs dropped because nothing listened.
    pub fn dropped(&self) -> u32 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Whether `packet` (starting at its IP header) must be dropped now. A SYN let
    /// through takes a listener with it (smoltcp moves that socket to `SYN-RECEIVED`),
    /// so a burst that arrives before the pool looks again cannot overrun the count; the
    /// pool's next report sets it right.
    fn refuses(&self, ip: &[u8]) -> bool {
        if tcp_syn_port(ip) != Some(self.port.load(Ordering::Relaxed) as u16) {
            return false;
        }
        match self.listening.load(Ordering::Relaxed) {
            0 => true,
            u32::MAX => false,
            n => {
                self.listening.store(n - 1, Ordering::Relaxed);
                false
            }
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
}

impl<'g, D: Driver> SynGate<'g, D> {
    /// Wraps `inner`.
    pub fn new(inner: D, gate: &'g ListenGate) -> Self {
        SynGate { inner, gate }
    }
}

/// A received packet, checked against the gate as the stack reads it.
pub struct GatedRx<'g, R> {
    inner: R,
    gate: &'g ListenGate,
    /// Bytes before the IP header (14 for Ethernet, 0 for an IP medium).
    ip_offset: usize,
}

impl<R: RxToken> RxToken for GatedRx<'_, R> {
    fn consume<T, F: FnOnce(&mut [u8]) -> T>(self, f: F) -> T {
        let (gate, off) = (self.gate, self.ip_offset);
        self.inner.consume(|frame| {
            let ethernet_ipv4 = off == 0 || frame.get(12..14) == Some(&[0x08, 0x00]);
            if ethernet_ipv4 && frame.len() > off && gate.refuses(&frame[off..]) {
                // Version 0: the stack discards it as malformed, and sends nothing.
                frame[off] &= 0x0f;
                gate.count_drop();
            }
            f(frame)
        })
    }
}

impl<'g, D: Driver> Driver for SynGate<'g, D> {
    type RxToken<'a>
        = GatedRx<'g, D::RxToken<'a>>
    where
        Self: 'a;
    type TxToken<'a>
        = D::TxToken<'a>
    where
        Self: 'a;

    fn receive(&mut self, cx: &mut Context) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let ip_offset = match self.inner.hardware_address() {
            HardwareAddress::Ethernet(_) => 14,
            _ => 0,
        };
        let gate = self.gate;
        self.inner.receive(cx).map(|(rx, tx)| {
            let rx = GatedRx {
                inner: rx,
                gate,
                ip_offset,
            };
            (rx, tx)
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
        assert!(!gate.refuses(&syn), "open until the pool reports");
        gate.set_listening(1);
        assert!(!gate.refuses(&syn), "one listener takes one SYN");
        assert!(gate.refuses(&syn), "the next finds none");
        gate.set_listening(0);
        assert!(gate.refuses(&syn));
        assert!(!gate.refuses(&segment(0x12)), "SYN-ACK");
        assert!(!gate.refuses(&segment(0x10)), "ACK");
        let mut other_port = syn;
        other_port[22..24].copy_from_slice(&8080u16.to_be_bytes());
        assert!(!gate.refuses(&other_port));
        let mut udp = syn;
        udp[9] = 17;
        assert!(!gate.refuses(&udp));
        assert!(!gate.refuses(&syn[..30]), "truncated");
        assert_eq!(tcp_syn_port(&[]), None);
    }
}
