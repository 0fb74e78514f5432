//! The device's name on its network: an mDNS responder (RFC 6762) for `NAME.local`, so a
//! phone can open `http://portico.local/` without knowing the address DHCP gave.
//!
//! The message work — parsing a query, deciding whether it asks for our name, composing
//! the answer — is `edge-mdns`'s sans-IO handler (edge-net; `no_std`, no allocator, the
//! answer composed into a buffer the caller gives). Its own I/O loop sits on `edge-nal`
//! sockets; this file is the smaller loop on an embassy-net UDP socket instead, so the
//! firmware links no second network abstraction. Memory is fixed and the caller's:
//! [`MdnsBuffers`] (2,612 B on the ESP32-C3), one UDP socket of the stack's, one multicast group.
//!
//! Answers only the `A` record of the stack's current IPv4 address (read at each query,
//! so a DHCP renewal that changes it is followed). A querier on port 5353 gets the answer
//! multicast, as RFC 6762 §6 asks; a one-shot "legacy" querier (any other source port,
//! such as `dig` or a resolver library) gets it unicast with its query id (§6.7).

use core::net::{Ipv4Addr, Ipv6Addr};

use edge_mdns::domain::base::Ttl;
use edge_mdns::host::Host;
use edge_mdns::{HostAnswersMdnsHandler, MdnsHandler, MdnsRequest, MdnsResponse};
use embassy_net::udp::{PacketMetadata, UdpSocket};
use embassy_net::{IpAddress, IpEndpoint, Stack};

/// The mDNS IPv4 group, `224.0.0.251`.
pub const MDNS_GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 251);
/// The mDNS port.
pub const MDNS_PORT: u16 = 5353;
/// How long a querier may cache the answer: RFC 6762 §10 recommends 120 s for records
/// that name a host.
const TTL_S: u32 = 120;
/// Bytes of one datagram kept: a query for one name is a few dozen; announcements from
/// other hosts can be larger, and are dropped whole (they ask nothing of us).
const DATAGRAM: usize = 512;

/// The responder's memory: socket rings and one datagram each way, `static`-able.
pub struct MdnsBuffers {
    rx_meta: [PacketMetadata; 2],
    rx: [u8; DATAGRAM * 2],
    tx_meta: [PacketMetadata; 1],
    tx: [u8; DATAGRAM],
    query: [u8; DATAGRAM],
    reply: [u8; DATAGRAM],
}

impl MdnsBuffers {
    /// Zeroed buffers.
    pub const fn new() -> Self {
        MdnsBuffers {
            rx_meta: [PacketMetadata::EMPTY; 2],
            rx: [0; DATAGRAM * 2],
            tx_meta: [PacketMetadata::EMPTY; 1],
            tx: [0; DATAGRAM],
            query: [0; DATAGRAM],
            reply: [0; DATAGRAM],
        }
    }
}

impl Default for MdnsBuffers {
    fn default() -> Self {
        Self::new()
    }
}

/// Why the responder stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MdnsError {
    /// The stack has no room for another multicast group.
    Multicast,
    /// Port 5353 is taken, or the stack has no free socket.
    Bind,
}

impl core::fmt::Display for MdnsError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            MdnsError::Multicast => "cannot join the mDNS multicast group",
            MdnsError::Bind => "cannot bind UDP port 5353",
        })
    }
}

impl core::error::Error for MdnsError {}

/// Answers queries for `hostname.local` (`hostname` without `.local`: `"portico"`) with
/// the stack's IPv4 address, forever. Returns only if it cannot start.
pub async fn respond(
    stack: Stack<'_>,
    hostname: &str,
    buffers: &mut MdnsBuffers,
) -> Result<core::convert::Infallible, MdnsError> {
    stack
        .join_multicast_group(MDNS_GROUP)
        .map_err(|_| MdnsError::Multicast)?;
    let MdnsBuffers {
        rx_meta,
        rx,
        tx_meta,
        tx,
        query,
        reply,
    } = buffers;
    let mut socket = UdpSocket::new(stack, rx_meta, rx, tx_meta, tx);
    socket.bind(MDNS_PORT).map_err(|_| MdnsError::Bind)?;
    let group = IpEndpoint::new(IpAddress::Ipv4(MDNS_GROUP), MDNS_PORT);
    loop {
        // A truncated datagram (larger than the ring's slot) is not a query for us.
        let Ok((n, meta)) = socket.recv_from(query).await else {
            continue;
        };
        let Some(address) = stack.config_v4().map(|c| c.address.address()) else {
            continue; // no address yet: nothing to answer with
        };
        let host = Host {
            hostname,
            ipv4: address,
            ipv6: Ipv6Addr::UNSPECIFIED,
            ttl: Ttl::from_secs(TTL_S),
        };
        let legacy = meta.endpoint.port != MDNS_PORT;
        let request = MdnsRequest::Request {
            legacy,
            multicast: meta.local_address == Some(IpAddress::Ipv4(MDNS_GROUP)),
            data: &query[..n],
        };
        // A malformed query is dropped, like one for another name.
        let Ok(MdnsResponse::Reply { data, .. }) =
            HostAnswersMdnsHandler::new(&host).handle(request, reply)
        else {
            continue;
        };
        // The random delay RFC 6762 §6 asks for applies to shared records; a host's
        // address record is unique to it, so it is answered at once.
        let to = if legacy { meta.endpoint } else { group };
        if socket.send_to(data, to).await.is_err() {
            debug!("mdns: answer to {} not sent", to);
        }
    }
}
