//! The host port's live state seen as a `portico_app::Device`.

use std::rc::Rc;

use portico::conn::{ConnId, Stale, Table};
use portico::guard::{HostPolicy, Secrets};
use portico::placement::sim::SimBlock;
use portico::placement::{place, MemoryRegions, Placement, Region, RegionStats};
use portico::pool::PoolStats;
use portico::time::Instant;
use portico_app::{Config, Device, LinkStatus};
use portico_tokio::{Shared, TABLE_SLOTS};

use crate::cli::Settings;
use crate::link::Link;
use crate::security::HostSecurity;

/// What the application reads: the server's shared state, the settings, the link.
#[derive(Clone)]
pub struct HostDevice {
    shared: Rc<Shared>,
    settings: Settings,
    link: Option<Rc<Link>>,
    security: Rc<HostSecurity>,
}

impl HostDevice {
    pub fn new(
        shared: Rc<Shared>,
        settings: Settings,
        link: Option<Link>,
        security: Rc<HostSecurity>,
    ) -> Self {
        HostDevice {
            security,
            shared,
            settings,
            link: link.map(Rc::new),
        }
    }
}

impl Device for HostDevice {
    type Table = Table<TABLE_SLOTS>;
    type Block = SimBlock;

    fn now(&self) -> Instant {
        self.shared.now()
    }

    fn config(&self) -> Config<'_> {
        let o = &self.shared.options;
        Config {
            bind: self.settings.bind,
            max_sockets: o.budget.max_sockets,
            stack_sockets: o.budget.stack_sockets,
            backlog: o.budget.backlog,
            reserved_sockets: o.budget.reserved,
            lru_purge: o.policy.lru_purge,
            evict_streams: o.policy.evict_streams,
            per_peer_cap: o.policy.per_peer_cap,
            pool_buffers: o.pool.chunks,
            pool_chunk: o.pool.chunk_size,
            internal_ram: o.internal_ram,
            psram: o.psram,
            upstream: self.settings.upstream.as_deref(),
            api_delay: self.settings.api_delay,
            head_timeout: o.server.timeouts.head,
            idle_timeout: o.server.timeouts.idle,
            queue_timeout: o.server.timeouts.queue,
        }
    }

    fn with_table<R>(&self, f: impl FnOnce(&Self::Table) -> R) -> R {
        f(&self.shared.table.borrow())
    }

    fn parked(&self) -> usize {
        self.shared.parked()
    }

    fn pool(&self) -> (PoolStats, Placement) {
        (
            self.shared.pool.stats(),
            self.shared.pool.config().placement,
        )
    }

    fn region(&self, region: Region) -> RegionStats {
        self.shared.heap.stats(region)
    }

    fn with_link<R>(&self, f: impl FnOnce(Option<&LinkStatus<'_>>) -> R) -> R {
        let Some(link) = &self.link else {
            return f(None);
        };
        let st = link.handle.stats();
        f(Some(&LinkStatus {
            url: &st.url,
            state: st.state,
            connects: st.connects,
            reconnects: st.reconnects,
            last_error: st.last_error.as_deref(),
            rtt_ms: st.rtt_ms,
            messages_in: st.messages_in,
            memory: &st.memory,
        }))
    }

    /// Reports are transient: external RAM first, so internal RAM stays for I/O. They
    /// are charged to the simulated heap like everything else the device would hold.
    fn alloc(&self, size: usize) -> Option<SimBlock> {
        place(&self.shared.heap, Placement::PreferExternal, size)
            .ok()
            .map(|p| p.block)
    }

    fn allowed_hosts(&self) -> HostPolicy<'_> {
        self.security.allowed_hosts()
    }

    fn secrets(&self) -> Option<Secrets<'_>> {
        self.security.secrets()
    }

    fn close_connection(&self, id: ConnId) -> Result<(), Stale> {
        self.shared.close_connection(id)
    }

    fn restart_link(&self) -> bool {
        let Some(link) = &self.link else {
            return false;
        };
        link.handle.stop();
        // A client that was running starts again; one that cannot start (its runtime
        // gone) shows it in `/api/link`'s state.
        let _ = link.handle.start();
        true
    }
}
