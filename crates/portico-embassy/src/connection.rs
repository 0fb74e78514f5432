//! One admitted connection, as the request loop sees it.

use core::net::SocketAddr;

use embassy_net::tcp::{Error, TcpSocket};
use portico::conn::{ConnId, ConnState, Stale};

use crate::clock::now_ms;

/// What a connection may ask of the pool (object-safe so [`Connection`] carries no
/// socket count in its type).
pub(crate) trait Hooks {
    fn set_state(&self, id: ConnId, state: ConnState) -> Result<(), Stale>;
    fn touch(&self, id: ConnId) -> Result<(), Stale>;
    fn request_done(&self, id: ConnId) -> Result<(), Stale>;
}

impl<const N: usize> Hooks for crate::shared::Shared<N> {
    fn set_state(&self, id: ConnId, state: ConnState) -> Result<(), Stale> {
        crate::shared::Shared::set_state(self, id, state, now_ms())
    }
    fn touch(&self, id: ConnId) -> Result<(), Stale> {
        crate::shared::Shared::touch(self, id, now_ms())
    }
    fn request_done(&self, id: ConnId) -> Result<(), Stale> {
        crate::shared::Shared::request_done(self, id)
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
}

impl<'a, 's> Connection<'a, 's> {
    pub(crate) fn new(
        socket: &'a mut TcpSocket<'s>,
        id: ConnId,
        peer: SocketAddr,
        hooks: &'a dyn Hooks,
    ) -> Self {
        Connection {
            socket,
            id,
            peer,
            hooks,
        }
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
