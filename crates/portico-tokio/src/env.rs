//! The core's `Env` for one host connection: tokio timers and the shared table.

use std::future::Future;
use std::rc::Rc;

use portico::conn::{ConnId, ConnState, TimeoutPhase};
use portico::server::{Env, TimedOut};
use portico::time::{Duration, Instant};

use crate::shared::Shared;

/// The host's calendar clock, for [`portico::server::ServerConfig::wall_clock`]: a PC
/// always knows the date, so its responses carry `Date`.
pub fn wall_clock() -> Option<u64> {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs())
}

/// One connection's view of the server: its identity, the clock and the table.
pub struct ConnEnv {
    pub(crate) shared: Rc<Shared>,
    pub(crate) id: ConnId,
}

impl ConnEnv {
    /// This connection's identity.
    pub fn id(&self) -> ConnId {
        self.id
    }

    /// The server's shared state.
    pub fn shared(&self) -> &Rc<Shared> {
        &self.shared
    }
}

impl Env for ConnEnv {
    fn now(&self) -> Instant {
        self.shared.now()
    }

    async fn timeout<F: Future>(&self, limit: Duration, fut: F) -> Result<F::Output, TimedOut> {
        tokio::time::timeout(limit.into(), fut)
            .await
            .map_err(|_| TimedOut)
    }

    async fn sleep(&self, span: Duration) {
        tokio::time::sleep(span.into()).await
    }

    fn state(&self, state: ConnState) {
        let now = self.now();
        let _ = self
            .shared
            .table
            .borrow_mut()
            .set_state(self.id, state, now);
        if state == ConnState::Idle {
            // An idle connection is a possible victim: a held newcomer may now get in.
            self.shared.wake_acceptor();
        }
    }

    fn touch(&self) {
        let now = self.now();
        let _ = self.shared.table.borrow_mut().touch(self.id, now);
    }

    fn request_done(&self) {
        let _ = self.shared.table.borrow_mut().request_done(self.id);
    }

    fn timed_out(&self, phase: TimeoutPhase) {
        self.shared.table.borrow_mut().timed_out(phase);
    }

    fn is_live(&self) -> bool {
        self.shared.table.borrow().is_live(self.id)
    }

    fn shed_slow_head(&self) {
        let now = self.now();
        let victim = self.shared.table.borrow_mut().evict_slow_head(now);
        if let Some(v) = victim {
            self.shared.evict(v);
        }
    }

    fn refused(&self) {
        self.shared.table.borrow_mut().refused();
    }

    fn peer(&self) -> Option<std::net::IpAddr> {
        let now = self.now();
        let table = self.shared.table.borrow();
        let mut conns = table.connections(now);
        conns.find(|c| c.id == self.id).map(|c| c.peer.ip())
    }
}
