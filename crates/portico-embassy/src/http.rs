//! The core's connection engine as the socket pool's [`Service`].

use portico::server::{Buffers, Engine, Handler, Start, Streams};

use crate::connection::Connection;
use crate::server::Service;

/// The core's [`Engine`] on each admitted socket: the same loop as the host port's.
///
/// A new connection stays protected (mid-request in the table) until its first request
/// or its head deadline. Between requests it is `Idle` and holds no buffer: it waits for
/// readability up to the idle timeout, which is exactly when the pool may evict it (by
/// dropping this future). When bytes arrive it leases a buffer (or gets `503` at the
/// queue deadline), serves, and gives the buffer back.
impl<H, S, B> Service for Engine<'_, H, S, B>
where
    H: Handler,
    S: Streams<H::Upgrade>,
    B: Buffers,
{
    async fn serve(&self, conn: &mut Connection<'_, '_>) {
        let env = conn.env();
        let config = conn.config();
        // One task per socket anyway: an idle connection waits in place (no parking).
        self.drive(conn, &env, config, Start::Fresh, None).await;
    }
}
