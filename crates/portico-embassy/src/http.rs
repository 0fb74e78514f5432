//! The core's request loop on the pool: buffers leased only while a request is in
//! flight, idle keep-alives waiting for readability with no buffer at all.

use embassy_sync::blocking_mutex::raw::RawMutex;
use embassy_time::{with_timeout, Duration};
use portico::conn::{ConnState, TimeoutPhase};
use portico::placement::MemoryRegions;
use portico::pool::Pool;
use portico::server::{serve, Env, Handler, Outcome, ServerConfig};

use crate::connection::Connection;
use crate::server::Service;

/// Drives the long-lived streams (server-sent events, WebSocket) a handler upgraded to.
#[allow(async_fn_in_trait)] // Single-executor device code.
pub trait Streams<U> {
    /// Runs the stream on `conn` until it ends. The table sees the connection as
    /// [`ConnState::Stream`]; writes count as activity.
    async fn run(&self, upgrade: U, conn: &mut Connection<'_, '_>);
}

/// For applications without streams: an upgrade just closes.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoStreams;

impl<U> Streams<U> for NoStreams {
    async fn run(&self, _upgrade: U, _conn: &mut Connection<'_, '_>) {}
}

/// The core's [`serve`] loop as the pool's [`Service`].
///
/// Between requests the connection is `Idle` in the table and holds no buffer: it waits
/// for readability (up to the idle timeout), which is exactly when the pool may evict it.
/// When bytes arrive it leases a chunk from `pool`, runs the loop until the connection is
/// idle again, and gives the chunk back.
pub struct HttpService<'a, H, S, M: MemoryRegions, R: RawMutex, const P: usize, const W: usize> {
    /// The application.
    pub handler: &'a H,
    /// Stream driver for upgrades.
    pub streams: &'a S,
    /// Connection buffers.
    pub pool: &'a Pool<M, R, P, W>,
    /// Loop settings (deadlines, limits).
    pub config: ServerConfig,
}

impl<H, S, M, R, const P: usize, const W: usize> Service for HttpService<'_, H, S, M, R, P, W>
where
    H: Handler,
    S: Streams<H::Upgrade>,
    M: MemoryRegions,
    R: RawMutex,
{
    async fn serve(&self, conn: &mut Connection<'_, '_>) {
        let env = conn.env();
        loop {
            env.state(ConnState::Idle);
            let idle = Duration::from_millis(self.config.idle_timeout_ms);
            // Peek without consuming: ready when bytes arrive, an error when the peer
            // closed (`wait_read_ready` would not wake for a bare FIN).
            match with_timeout(idle, conn.socket().read_with(|_| (0, ()))).await {
                Err(_) => {
                    env.timed_out(TimeoutPhase::Idle);
                    return;
                }
                Ok(Err(_)) => return,
                Ok(Ok(())) => {}
            }
            // Readable: a request is coming (or the peer closed, which `serve` sees as
            // a zero-byte read). It is no longer idle, so it can no longer be evicted.
            env.state(ConnState::Head);
            let head = Duration::from_millis(self.config.head_timeout_ms);
            let Ok(Ok(mut lease)) = with_timeout(head, self.pool.acquire()).await else {
                env.timed_out(TimeoutPhase::Head);
                return;
            };
            let mut filled = 0;
            let outcome = serve(
                conn,
                &mut lease,
                &mut filled,
                self.handler,
                &env,
                &self.config,
            )
            .await;
            drop(lease);
            match outcome {
                Ok(Outcome::Idle) => continue,
                Ok(Outcome::Upgrade(u)) => {
                    env.state(ConnState::Stream);
                    self.streams.run(u, conn).await;
                    return;
                }
                Ok(Outcome::Close) | Err(_) => return,
            }
        }
    }
}
