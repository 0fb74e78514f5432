//! An in-memory IP network: one [`SimDevice`] (an `embassy-net-driver`) per node, a hub
//! that routes raw IPv4 packets by destination address with seeded loss and delay, and
//! counters read off the TCP headers as packets pass.

use std::cell::RefCell;
use std::collections::{HashSet, VecDeque};
use std::net::Ipv4Addr;
use std::rc::Rc;
use std::task::{Context, Waker};

use embassy_net_driver::{Capabilities, HardwareAddress, LinkState};

use crate::clock;
use crate::rng::Rng;

/// Link behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkConfig {
    /// One-way latency in microseconds.
    pub latency_us: u64,
    /// Extra random delay, uniform in `0..=jitter_us` (packets to one node keep their order).
    pub jitter_us: u64,
    /// Packets lost, per million.
    pub loss_per_million: u32,
}

impl LinkConfig {
    /// A quiet Wi-Fi LAN: 1 ms each way, 0.5 ms jitter, no loss.
    pub const fn lan() -> Self {
        LinkConfig {
            latency_us: 1_000,
            jitter_us: 500,
            loss_per_million: 0,
        }
    }
}

/// What the hub saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetStats {
    /// Packets handed to the hub.
    pub sent: u64,
    /// Packets dropped by the loss model.
    pub lost: u64,
    /// Resets from the server answering a SYN (no socket listening), delivered.
    pub syn_resets: u64,
    /// Of those, resets sent while the server's table held a connection it could have
    /// given up (the accept strategy promises none).
    pub syn_resets_while_evictable: u64,
    /// Resets from the server on an established connection, delivered.
    pub conn_resets: u64,
    /// Resets sent by clients.
    pub client_resets: u64,
}

struct Node {
    ip: Ipv4Addr,
    rx: VecDeque<(u64, Vec<u8>)>,
    last_due: u64,
    waker: Option<Waker>,
}

type Probe = Box<dyn Fn() -> bool>;

struct Hub {
    link: LinkConfig,
    rng: Rng,
    nodes: Vec<Node>,
    server: Option<Ipv4Addr>,
    /// Client (address, port) pairs the server has answered with SYN-ACK.
    synacked: HashSet<(Ipv4Addr, u16)>,
    probe: Option<Probe>,
    stats: NetStats,
}

/// The network: add nodes, read counters.
#[derive(Clone)]
pub struct Network(Rc<RefCell<Hub>>);

impl Network {
    /// An empty network whose loss and jitter follow `seed`.
    pub fn new(link: LinkConfig, seed: u64) -> Self {
        Network(Rc::new(RefCell::new(Hub {
            link,
            rng: Rng::new(seed),
            nodes: Vec::new(),
            server: None,
            synacked: HashSet::new(),
            probe: None,
            stats: NetStats::default(),
        })))
    }

    /// Attaches a node with address `ip` and returns its driver.
    pub fn attach(&self, ip: Ipv4Addr) -> SimDevice {
        let mut hub = self.0.borrow_mut();
        hub.nodes.push(Node {
            ip,
            rx: VecDeque::new(),
            last_due: 0,
            waker: None,
        });
        SimDevice {
            hub: self.0.clone(),
            node: hub.nodes.len() - 1,
        }
    }

    /// Marks `ip` as the server whose resets are classified, with `probe` answering
    /// "does the server's table hold a connection it could give up right now?".
    pub fn watch_server(&self, ip: Ipv4Addr, probe: impl Fn() -> bool + 'static) {
        let mut hub = self.0.borrow_mut();
        hub.server = Some(ip);
        hub.probe = Some(Box::new(probe));
    }

    /// Counters so far.
    pub fn stats(&self) -> NetStats {
        self.0.borrow().stats
    }
}

/// Fields of a TCP/IPv4 packet the hub looks at.
struct Tcp {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    src_port: u16,
    dst_port: u16,
    syn: bool,
    ack: bool,
    rst: bool,
}

fn parse_tcp(p: &[u8]) -> Option<Tcp> {
    if p.len() < 20 || p[0] >> 4 != 4 || p[9] != 6 {
        return None;
    }
    let ihl = usize::from(p[0] & 0x0f) * 4;
    let t = p.get(ihl..ihl + 14)?;
    let flags = t[13];
    Some(Tcp {
        src: Ipv4Addr::new(p[12], p[13], p[14], p[15]),
        dst: Ipv4Addr::new(p[16], p[17], p[18], p[19]),
        src_port: u16::from_be_bytes([t[0], t[1]]),
        dst_port: u16::from_be_bytes([t[2], t[3]]),
        syn: flags & 0x02 != 0,
        ack: flags & 0x10 != 0,
        rst: flags & 0x04 != 0,
    })
}

impl Hub {
    fn route(&mut self, packet: Vec<u8>) {
        self.stats.sent += 1;
        if packet.len() < 20 {
            return;
        }
        let dst = Ipv4Addr::new(packet[16], packet[17], packet[18], packet[19]);
        let lost = self.rng.chance(self.link.loss_per_million);
        self.observe(&packet, !lost);
        if lost {
            self.stats.lost += 1;
            return;
        }
        let jitter = if self.link.jitter_us > 0 {
            self.rng.below(self.link.jitter_us + 1)
        } else {
            0
        };
        let Some(node) = self.nodes.iter_mut().find(|n| n.ip == dst) else {
            return;
        };
        let delay = clock::TICK_HZ * (self.link.latency_us + jitter) / 1_000_000;
        let due = (clock::now() + delay).max(node.last_due);
        node.last_due = due;
        node.rx.push_back((due, packet));
        if let Some(w) = node.waker.take() {
            w.wake();
        }
    }

    /// Tracks handshakes as packets are sent and counts the resets that get through.
    fn observe(&mut self, packet: &[u8], delivered: bool) {
        let Some(server) = self.server else { return };
        let Some(t) = parse_tcp(packet) else { return };
        if t.src == server {
            let peer = (t.dst, t.dst_port);
            if t.syn && t.ack {
                self.synacked.insert(peer);
            } else if t.rst {
                if !delivered {
                    return;
                }
                if self.synacked.remove(&peer) {
                    self.stats.conn_resets += 1;
                } else {
                    self.stats.syn_resets += 1;
                    if self.probe.as_ref().is_some_and(|p| p()) {
                        self.stats.syn_resets_while_evictable += 1;
                    }
                }
            }
        } else if t.dst == server {
            if t.syn && !t.ack {
                // A new attempt from this port: forget any earlier connection on it.
                self.synacked.remove(&(t.src, t.src_port));
            }
            if t.rst && delivered {
                self.stats.client_resets += 1;
            }
        }
    }
}

/// One node's network interface, for `embassy_net::new`.
pub struct SimDevice {
    hub: Rc<RefCell<Hub>>,
    node: usize,
}

/// A received packet.
pub struct RxToken(Vec<u8>);

/// Room for one packet to send.
pub struct TxToken<'a> {
    hub: &'a Rc<RefCell<Hub>>,
}

impl embassy_net_driver::RxToken for RxToken {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(mut self, f: F) -> R {
        f(&mut self.0)
    }
}

impl embassy_net_driver::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut buf = vec![0; len];
        let r = f(&mut buf);
        self.hub.borrow_mut().route(buf);
        r
    }
}

impl embassy_net_driver::Driver for SimDevice {
    type RxToken<'a> = RxToken;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, cx: &mut Context) -> Option<(RxToken, TxToken<'_>)> {
        let packet = {
            let mut hub = self.hub.borrow_mut();
            let node = &mut hub.nodes[self.node];
            match node.rx.front() {
                Some((due, _)) if *due <= clock::now() => node.rx.pop_front().map(|(_, p)| p),
                Some((due, _)) => {
                    let due = *due;
                    node.waker = Some(cx.waker().clone());
                    embassy_time_driver::schedule_wake(due, cx.waker());
                    None
                }
                None => {
                    node.waker = Some(cx.waker().clone());
                    None
                }
            }
        }?;
        Some((RxToken(packet), TxToken { hub: &self.hub }))
    }

    fn transmit(&mut self, _cx: &mut Context) -> Option<TxToken<'_>> {
        Some(TxToken { hub: &self.hub })
    }

    fn link_state(&mut self, _cx: &mut Context) -> LinkState {
        LinkState::Up
    }

    fn capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::default();
        caps.max_transmission_unit = 1500;
        caps.max_burst_size = None;
        caps
    }

    fn hardware_address(&self) -> HardwareAddress {
        HardwareAddress::Ip
    }
}
