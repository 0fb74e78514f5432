//! The device port (`portico-embassy`) seen as a [`Device`] (feature `embassy`), so the
//! firmware and the simulation run the provider application over the same view of the
//! port: a `Provider<PortDevice<…>>` is both the handler and the stream driver of the
//! port's `portico::server::Engine`.

use core::net::{Ipv4Addr, SocketAddr};

use crate::json::Text;
use crate::{Config, ConnTable, Device, JsonWriter, LinkStatus};
use embassy_sync::blocking_mutex::raw::RawMutex;
use portico::conn::{ConnId, ConnInfo, ConnState, Counters, Eviction, Stale};
use portico::guard::{HostPolicy, Secrets};
use portico::placement::{place, MemoryRegions, Placement, Region, RegionStats};
use portico::pool::{Pool, PoolStats};
use portico::time::{Duration, Instant};

use portico_embassy::{now, Engine, SocketBuffers, SocketPool, TableView};

use crate::Provider;

/// How the device reached the network (reported in `/api/status`).
#[derive(Debug, Clone, Copy)]
pub struct Network {
    /// `"station"`, `"access_point"`, `"simulated"`.
    pub mode: &'static str,
    /// The device's address.
    pub address: Ipv4Addr,
}

/// Something that reports an upstream link's status (the WebSocket client).
pub trait LinkReport {
    /// Calls `f` with the link's status.
    fn report(&self, f: &mut dyn FnMut(&LinkStatus<'_>));

    /// Stops the link and starts it again at once.
    fn restart(&self);
}

/// What the port's application runs on, sized in its type and supplied by the caller
/// (`static`s on the firmware): the socket pool, the request buffer pool, and the memory
/// regions behind them.
///
/// As embassy-net's `StackResources<N>`, the capacities live here, named once where
/// the caller allocates, and [`PortDevice`] takes this one type instead of each count:
/// `PortDevice<'static, PortResources<'static, EspRegions, NoopRawMutex, 6, 32>>`
/// behind an alias the caller names. The socket count is the pool's own
/// (`portico_embassy::PoolResources<N>`), so it is not named here.
pub struct PortResources<'a, M: MemoryRegions, R: RawMutex, const P: usize, const W: usize> {
    /// The socket pool (connection table and port counters).
    pub sockets: &'a SocketPool<'a>,
    /// The request buffer pool: `P` buffers leased at once, `W` words of bookkeeping.
    pub buffers: &'a Pool<M, R, P, W>,
    /// The memory regions (statistics, and blocks for large reports).
    pub memory: M,
}

/// The port's state for the application: its resources ([`PortResources`]) and what the
/// board adds.
pub struct PortDevice<'a, S> {
    /// The sockets, request buffers and memory the caller set aside.
    pub resources: S,
    /// The chip (`"esp32c3"`, `"sim"`).
    pub platform: &'static str,
    /// The network link.
    pub network: Network,
    /// Sockets in the TCP stack in all (HTTP pool, DHCP, DNS, outbound links).
    pub stack_sockets: usize,
    /// The upstream WebSocket URL, if any.
    pub upstream: Option<&'static str>,
    /// The upstream link, if one runs.
    pub link: Option<&'a dyn LinkReport>,
    /// Delay before every `/api/*` answer (demos and UI tests; 0 on the firmware).
    pub api_delay: Duration,
    /// The `Host` names answered (`HostPolicy::default()`: IP literals, `localhost`,
    /// `portico.local`).
    pub allowed_hosts: HostPolicy<'a>,
    /// The stored password hash and token key, when the owner has set a password;
    /// `None` leaves the dashboard open. The settings flow that provisions them is
    /// still to come: until then the firmware passes `None`, and a board built for a
    /// shared network supplies them here.
    pub secrets: Option<Secrets<'a>>,
}

impl<M: MemoryRegions, R: RawMutex, const P: usize, const W: usize> Device
    for PortDevice<'_, PortResources<'_, M, R, P, W>>
{
    type Table = dyn TableView;
    type Block = M::Block;

    fn now(&self) -> Instant {
        now()
    }

    fn config(&self) -> Config<'_> {
        let port = self.resources.sockets.config();
        let pool = self.resources.buffers.config();
        let sockets = self.resources.sockets.sockets();
        Config {
            bind: SocketAddr::from((Ipv4Addr::UNSPECIFIED, port.port)),
            max_sockets: port.cap,
            stack_sockets: self.stack_sockets,
            // Sockets beyond the cap listen: the device's backlog.
            backlog: sockets - port.cap,
            reserved_sockets: self.stack_sockets.saturating_sub(sockets),
            lru_purge: port.policy.lru_purge,
            evict_streams: port.policy.evict_streams,
            per_peer_cap: port.policy.per_peer_cap,
            pool_buffers: pool.chunks,
            pool_chunk: pool.chunk_size,
            internal_ram: self.resources.memory.stats(Region::Internal).capacity,
            psram: self.resources.memory.stats(Region::External).capacity,
            upstream: self.upstream,
            api_delay: self.api_delay,
            head_timeout: port.server.timeouts.head,
            idle_timeout: port.server.timeouts.idle,
            queue_timeout: port.server.timeouts.queue,
        }
    }

    fn with_table<T>(&self, f: impl FnOnce(&Self::Table) -> T) -> T {
        self.resources.sockets.with_table(f)
    }

    fn allowed_hosts(&self) -> HostPolicy<'_> {
        self.allowed_hosts
    }

    fn secrets(&self) -> Option<Secrets<'_>> {
        self.secrets
    }

    fn close_connection(&self, id: ConnId) -> Result<(), Stale> {
        self.resources.sockets.close_connection(id)
    }

    fn restart_link(&self) -> bool {
        self.link.inspect(|l| l.restart()).is_some()
    }

    fn pool(&self) -> (PoolStats, Placement) {
        (
            self.resources.buffers.stats(),
            self.resources.buffers.config().placement,
        )
    }

    fn region(&self, region: Region) -> RegionStats {
        self.resources.memory.stats(region)
    }

    fn with_link<T>(&self, f: impl FnOnce(Option<&LinkStatus<'_>>) -> T) -> T {
        let Some(link) = self.link else {
            return f(None);
        };
        let mut f = Some(f);
        let mut out = None;
        link.report(&mut |s| {
            if let Some(f) = f.take() {
                out = Some(f(Some(s)));
            }
        });
        match (out, f) {
            (Some(out), _) => out,
            // A reporter that never called back: report no link rather than panic.
            (None, Some(f)) => f(None),
            (None, None) => unreachable!("the callback ran but produced nothing"),
        }
    }

    /// The device's own members: chip, network, the sockets by phase and the port's
    /// counters (listening sockets, held newcomers, listen gaps).
    fn status_extra(&self, w: &mut JsonWriter<'_>) {
        let p = self.resources.sockets.snapshot();
        w.field("platform", self.platform);
        w.key("network")
            .begin_object()
            .field("mode", self.network.mode)
            .field("address", Text(self.network.address))
            .end_object();
        w.key("sockets")
            .begin_object()
            .field("pool", self.resources.sockets.sockets())
            .field("cap", self.resources.sockets.config().cap)
            .field("listening", p.listening)
            .field("handshake", p.handshake)
            .field("held", p.held)
            .field("serving", p.serving)
            .field("closing", p.closing)
            .end_object();
        w.key("port")
            .begin_object()
            .field("accepted", p.port.accepted)
            .field("held", p.port.held)
            .field("refused_503", p.port.refused_503)
            .field("evictions", p.port.evictions)
            .field("graceful_closes", p.port.graceful_closes)
            .field("aborts", p.port.aborts)
            .field("urgent_aborts", p.port.urgent_aborts)
            .field("listen_gaps", p.port.listen_gaps)
            .end_object();
    }

    /// Reports too large for the connection buffer are transient: external RAM first
    /// where there is some, so internal RAM stays for the network.
    fn alloc(&self, size: usize) -> Option<M::Block> {
        place(&self.resources.memory, Placement::PreferExternal, size)
            .ok()
            .map(|p| p.block)
    }
}

/// The pool's table view, read as the application reads the host's table.
impl ConnTable for dyn TableView {
    fn cap(&self) -> usize {
        TableView::cap(self)
    }
    fn open(&self) -> usize {
        TableView::open(self)
    }
    fn pending(&self) -> usize {
        TableView::pending(self)
    }
    fn counters(&self) -> Counters {
        TableView::counters(self)
    }
    fn count(&self, state: ConnState) -> usize {
        TableView::count(self, state)
    }
    fn connections(&self, now: Instant) -> impl Iterator<Item = ConnInfo> + '_ {
        (0..).map_while(move |k| self.connection(k, now))
    }
    fn recent_evictions(&self) -> impl Iterator<Item = &Eviction> + '_ {
        (0..).map_while(move |k| self.recent_eviction(k))
    }
}

/// Serves the application on its port: the socket pool and request buffers of `app`'s
/// device, through the core's engine. The one assembly the firmware and the PC device
/// stack share; never returns.
pub async fn serve_app<
    M: MemoryRegions,
    R: RawMutex,
    const P: usize,
    const W: usize,
    const N: usize,
    const RX: usize,
    const TX: usize,
>(
    app: &Provider<PortDevice<'_, PortResources<'_, M, R, P, W>>>,
    buffers: &mut SocketBuffers<N, RX, TX>,
) -> ! {
    let resources = &app.device().resources;
    let engine = Engine {
        handler: app,
        streams: app,
        buffers: resources.buffers,
    };
    resources.sockets.run(buffers, &engine).await
}
