//! One admitted connection, as the request loop sees it.

use core::net::SocketAddr;

use embassy_net::tcp::{Error, TcpSocket};
use portico::conn::{ConnId, ConnState, Stale, TimeoutPhase};
use portico::server::ServerConfig;

use crate::clock::{now, to_embassy};

/// What a connection may ask of the pool (object-safe so [`Connection`] carries no
/// socket count in its type).
pub(crate) trait Hooks {
    fn set_state(&self, id: ConnId, state: ConnState) -> Result<(), Stale>;
    fn touch(&self, id: ConnId) -> Result<(), Stale>;
    fn request_done(&self, id: ConnId) -> Result<(), Stale>;
    fn timed_out(&self, phase: TimeoutPhase);
    fn is_live(&self, id: ConnId) -> bool;
    fn shed_slow_head(&self);
    fn refused(&self);
}

impl<const N: usize> Hooks for crate::shared::Shared<N> {
    fn set_state(&self, id: ConnId, state: ConnState) -> Result<(), Stale> {
        crate::shared::Shared::set_state(self, id, state, now())
    }
    fn touch(&self, id: ConnId) -> Result<(), Stale> {
        crate::shared::Shared::touch(self, id, now())
    }
    fn request_done(&self, id: ConnId) -> Result<(), Stale> {
        crate::shared::Shared::request_done(self, id)
    }
    fn timed_out(&self, phase: TimeoutPhase) {
        self.with_table(|t| t.timed_out(phase))
    }
    fn is_live(&self, id: ConnId) -> bool {
        crate::shared::Shared::is_live(self, id)
    }
    fn shed_slow_head(&self) {
        crate::shared::Shared::shed_slow_head(self, now())
    }
    fn refused(&self) {
        crate::shared::Shared::refused(self)
    }
}

/// An admitted connection: its socket, its identity in the table, and the hooks that keep
/// the table told. Reads and writes count as activity, so a connection that only sends
/// (an event stream) is not mistaken for an idle one.
pub struct Connection<'a, 's> {
    socket: &'a mut TcpSocket<'s>,
    id: ConnId,
    peer: SocketAddr,
    hooks: &'a dyn Hooks,
    config: &'a ServerConfig,
}

impl<'a, 's> Connection<'a, 's> {
    pub(crate) fn new(
        socket: &'a mut TcpSocket<'s>,
        id: ConnId,
        peer: SocketAddr,
        hooks: &'a dyn Hooks,
        config: &'a ServerConfig,
    ) -> Self {
        Connection {
            socket,
            id,
            peer,
            hooks,
            config,
        }
    }

    /// The request loop's settings (limits, deadlines) for this connection.
    pub fn config(&self) -> &'a ServerConfig {
        self.config
    }

    /// Identity in the connection table.
    pub fn id(&self) -> ConnId {
        self.id
    }

    /// The peer's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Tells the table what the connection is doing now. `Idle` makes it a candidate for
    /// eviction: the pool may then close it while the request loop waits for the next
    /// request, which is safe because nothing of an exchange is in flight.
    pub fn set_state(&self, state: ConnState) -> Result<(), Stale> {
        self.hooks.set_state(self.id, state)
    }

    /// Counts one answered request.
    pub fn request_done(&self) -> Result<(), Stale> {
        self.hooks.request_done(self.id)
    }

    /// Counts a missed deadline.
    pub fn timed_out(&self, phase: TimeoutPhase) {
        self.hooks.timed_out(phase)
    }

    /// The port side of the core's request loop for this connection.
    pub fn env(&self) -> ConnEnv<'a> {
        ConnEnv {
            hooks: self.hooks,
            id: self.id,
            peer: self.peer.ip(),
        }
    }

    /// The underlying socket (for `set_nagle_enabled`, queue sizes and the like).
    pub fn socket(&mut self) -> &mut TcpSocket<'s> {
        self.socket
    }
}

impl embedded_io_async::ErrorType for Connection<'_, '_> {
    type Error = Error;
}

impl embedded_io_async::Read for Connection<'_, '_> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let n = self.socket.read(buf).await?;
        if n > 0 {
            let _ = self.hooks.touch(self.id);
        }
        Ok(n)
    }
}

impl embedded_io_async::Write for Connection<'_, '_> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Error> {
        let n = self.socket.write(buf).await?;
        if n > 0 {
            let _ = self.hooks.touch(self.id);
        }
        Ok(n)
    }

    async fn flush(&mut self) -> Result<(), Error> {
        self.socket.flush().await
    }
}

impl portico::server::Transport for Connection<'_, '_> {
    /// Peeks without consuming: ready when bytes arrive, an error when the peer closed
    /// (`wait_read_ready` would not wake for a bare FIN).
    async fn readable(&mut self) -> Result<(), Error> {
        self.socket.read_with(|_| (0, ())).await
    }
}

/// [`portico::server::Env`] for one connection: `embassy-time` deadlines, and every state
/// change reported to the connection table under the connection's identity.
#[derive(Clone, Copy)]
pub struct ConnEnv<'a> {
    hooks: &'a dyn Hooks,
    id: ConnId,
    peer: core::net::IpAddr,
}

impl portico::server::Env for ConnEnv<'_> {
    fn now(&self) -> portico::time::Instant {
        now()
    }

    async fn timeout<F: core::future::Future>(
        &self,
        limit: portico::time::Duration,
        fut: F,
    ) -> Result<F::Output, portico::server::TimedOut> {
        embassy_time::with_timeout(to_embassy(limit), fut)
            .await
            .map_err(|_| portico::server::TimedOut)
    }

    fn state(&self, state: ConnState) {
        let _ = self.hooks.set_state(self.id, state);
    }

    fn touch(&self) {
        let _ = self.hooks.touch(self.id);
    }

    fn request_done(&self) {
        let _ = self.hooks.request_done(self.id);
    }

    fn timed_out(&self, phase: TimeoutPhase) {
        self.hooks.timed_out(phase)
    }

    async fn sleep(&self, span: portico::time::Duration) {
        embassy_time::Timer::after(to_embassy(span)).await
    }

    fn is_live(&self) -> bool {
        self.hooks.is_live(self.id)
    }

    fn shed_slow_head(&self) {
        self.hooks.shed_slow_head()
    }

    fn refused(&self) {
        self.hooks.refused()
    }

    fn peer(&self) -> Option<core::net::IpAddr> {
        Some(self.peer)
    }
}
