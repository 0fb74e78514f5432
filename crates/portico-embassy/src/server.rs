//! The socket pool and its accept strategy.

use core::future::{poll_fn, Future};
use core::net::{IpAddr, SocketAddr};
use core::pin::pin;
use core::task::Poll;

use embassy_futures::select::{select, Either};
use embassy_net::tcp::{State, TcpSocket};
use embassy_net::Stack;
use embassy_time::{with_timeout, Duration, Instant, Timer};
use portico::conn::{ConnId, Stale};

use crate::buffers::SocketBuffers;
use crate::clock::{now, to_embassy};
use crate::config::{ConfigError, PortConfig};
use crate::connection::Connection;
use crate::pool_state::PoolState;
use crate::resources::PoolResources;
use crate::shared::{Admit, PortSnapshot, Shared};
use crate::syn_gate::ListenGate;
use crate::table_view::TableView;

/// How long an evicted connection's socket waits for the peer's FIN once its own FIN is
/// acknowledged (a LAN round trip is a few milliseconds).
pub const EVICTED_LINGER_MS: u64 = 50;

/// Reads and discards until the peer's FIN (or an error).
async fn drain_until_fin(socket: &mut TcpSocket<'_>) {
    let mut sink = [0u8; 64];
    loop {
        match socket.read(&mut sink).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
}

/// How often a held newcomer asks the table again without an event.
const HELD_RETRY_MS: u64 = 100;

/// How often the keeper looks again while no socket listens.
const KEEPER_TICK_MS: u64 = 10;

/// Runs `fut` unless `stop` completes first.
async fn unless<F: Future>(stop: impl Future<Output = ()>, fut: F) -> Option<F::Output> {
    match select(fut, stop).await {
        Either::First(v) => Some(v),
        Either::Second(()) => None,
    }
}

/// What the pool runs on each admitted connection: the request loop.
///
/// `serve` returns when the connection should close (the peer left, `Connection: close`,
/// a deadline passed). The pool may also drop the future while the connection is idle,
/// to evict it; implementations must therefore keep no state across an idle wait that
/// would be lost by being dropped there.
#[allow(async_fn_in_trait)] // Single-executor device code: no `Send` bound wanted.
pub trait Service {
    /// Serves requests on `conn` until it should close.
    async fn serve(&self, conn: &mut Connection<'_, '_>);
}

/// Sockets on one embassy-net stack, run by the connection table.
///
/// The socket count is not in the type: it lives in the [`PoolResources`] the caller
/// sets aside, as embassy-net's `Stack<'d>` borrows its `StackResources<N>`. The crate's
/// getting-started (compiled) shows one serving an application.
pub struct SocketPool<'d> {
    stack: Stack<'d>,
    config: PortConfig,
    shared: &'d dyn PoolState,
}

impl<'d> SocketPool<'d> {
    /// A pool of `N` sockets on `stack`, its state in `resources`. Fails if `config.cap`
    /// leaves no socket to listen.
    pub fn new<const N: usize>(
        stack: Stack<'d>,
        config: PortConfig,
        resources: &'d mut PoolResources<N>,
    ) -> Result<Self, ConfigError> {
        Self::build(stack, config, resources, None)
    }

    /// Like [`SocketPool::new`], reporting its listening sockets to `gate`, which the
    /// stack's driver is wrapped in ([`crate::SynGate`]): a SYN that finds no socket
    /// listening is then dropped (the client retransmits) instead of reset.
    pub fn gated<const N: usize>(
        stack: Stack<'d>,
        config: PortConfig,
        resources: &'d mut PoolResources<N>,
        gate: &'static ListenGate,
    ) -> Result<Self, ConfigError> {
        Self::build(stack, config, resources, Some(gate))
    }

    fn build<const N: usize>(
        stack: Stack<'d>,
        config: PortConfig,
        resources: &'d mut PoolResources<N>,
        gate: Option<&'static ListenGate>,
    ) -> Result<Self, ConfigError> {
        config.check(N)?;
        let shared = resources.state.insert(Shared::new(&config, gate));
        Ok(SocketPool {
            stack,
            config,
            shared,
        })
    }

    /// The settings in force.
    pub fn config(&self) -> &PortConfig {
        &self.config
    }

    /// Sockets in the pool (the `N` of its [`PoolResources`]).
    pub fn sockets(&self) -> usize {
        self.shared.sockets()
    }

    /// Sockets by phase and both sets of counters.
    pub fn snapshot(&self) -> PortSnapshot {
        self.shared.snapshot()
    }

    /// Closes connection `id` at the owner's request (the dashboard's admin action);
    /// `Err(Stale)` when it is no longer open — closed, or its slot reused, so a stale
    /// id can never close the connection that took its place.
    pub fn close_connection(&self, id: ConnId) -> Result<(), Stale> {
        self.shared.close_connection(id)
    }

    /// Runs `f` on the connection table (for `/api/connections`). The view is
    /// `'static` (the table borrows nothing), so an owner may name it as a type:
    /// `dyn TableView`.
    pub fn with_table<R>(&self, f: impl FnOnce(&(dyn TableView + 'static)) -> R) -> R {
        // Through the trait object `f` must be `FnMut`: it is called exactly once.
        let mut f = Some(f);
        let mut out = None;
        self.shared
            .with_table(&mut |t| out = f.take().map(|f| f(t)));
        out.expect("the shared state calls back once")
    }

    /// Serves forever on `buffers`' sockets. All `N` sockets run inside this one future.
    ///
    /// # Panics
    ///
    /// If `buffers` is not for as many sockets as the pool's [`PoolResources`]: a
    /// mistake in the caller's constants, caught at start.
    pub async fn run<S: Service, const N: usize, const RX: usize, const TX: usize>(
        &self,
        buffers: &mut SocketBuffers<N, RX, TX>,
        service: &S,
    ) -> ! {
        assert_eq!(
            N,
            self.sockets(),
            "SocketBuffers<N, ..> and PoolResources<N> must be for the same number of sockets"
        );
        let mut rx = buffers.rx.iter_mut();
        let mut tx = buffers.tx.iter_mut();
        let slots: [_; N] = core::array::from_fn(|i| {
            let (Some(r), Some(t)) = (rx.next(), tx.next()) else {
                unreachable!("the buffers hold exactly N sockets")
            };
            self.slot(i, TcpSocket::new(self.stack, r, t), service)
        });
        embassy_futures::join::join(embassy_futures::join::join_array(slots), self.keeper()).await;
        unreachable!("socket slots never return")
    }

    /// One socket's life: listen, accept, admit or hold, serve, close, listen again.
    async fn slot<S: Service>(&self, i: usize, mut socket: TcpSocket<'_>, service: &S) {
        loop {
            if !self.listen(i, &mut socket).await {
                // The socket was not closed, or the handshake failed: reset it, retry.
                self.shared.release(i, now());
                socket.abort();
                let _ = with_timeout(to_embassy(self.config.linger), socket.flush()).await;
                Timer::after_millis(1).await;
                continue;
            }
            socket.set_nagle_enabled(false);
            let peer = socket
                .remote_endpoint()
                .map(|ep| SocketAddr::new(IpAddr::from(ep.addr), ep.port));
            let mut evicted = false;
            if let Some(peer) = peer {
                let early = self.shared.admitted_early(i);
                let id = match early {
                    Some(id) => Some(id),
                    None => self.admit(i, peer).await,
                };
                match id {
                    Some(id) => {
                        let mut conn = Connection::new(
                            &mut socket,
                            id,
                            peer,
                            self.shared.hooks(),
                            &self.config.server,
                        );
                        match select(service.serve(&mut conn), self.shared.evicted(i)).await {
                            Either::First(()) => {}
                            Either::Second(()) => {
                                debug!("socket {}: evicted", i);
                                evicted = true;
                            }
                        }
                    }
                    None => {
                        self.shared.refused();
                        self.refuse(&mut socket).await;
                    }
                }
            }
            self.close(i, &mut socket, evicted).await;
        }
    }

    /// Puts the socket in `LISTEN` and waits for a connection, telling the shared state
    /// the moment a SYN takes the socket out of `LISTEN` (smoltcp wakes the socket's
    /// wakers on every state change), so the pool knows how many sockets really listen.
    async fn listen(&self, i: usize, socket: &mut TcpSocket<'_>) -> bool {
        {
            let mut accept = pin!(socket.accept(self.config.port));
            match poll_fn(|cx| Poll::Ready(accept.as_mut().poll(cx))).await {
                Poll::Ready(Err(e)) => {
                    warn!("socket {}: listen failed: {:?}", i, e);
                    return false;
                }
                Poll::Ready(Ok(())) | Poll::Pending => {}
            }
        }
        self.shared.listening(i);
        let socket = &*socket;
        let mut writable = pin!(socket.wait_write_ready());
        poll_fn(|cx| {
            match socket.state() {
                State::Listen => {}
                State::SynReceived => {
                    let peer = socket
                        .remote_endpoint()
                        .map(|ep| SocketAddr::new(IpAddr::from(ep.addr), ep.port));
                    self.shared.handshake(i, peer, now())
                }
                _ => return Poll::Ready(()),
            }
            writable.as_mut().poll(cx)
        })
        .await;
        self.shared.accepted(i, now());
        matches!(socket.state(), State::Established | State::CloseWait)
    }

    /// Gets a socket back to `LISTEN` whenever none is, without waiting for the next SYN,
    /// and makes room for SYNs waiting in the driver: see `keep_listening` in the
    /// shared state.
    async fn keeper(&self) {
        loop {
            self.shared.keeper_due().await;
            self.shared.keep_listening(now());
            Timer::after_millis(KEEPER_TICK_MS).await;
        }
    }

    /// Admits the newcomer, holding it unread while the table is full with nothing to
    /// evict. `None` when its deadline passed first.
    async fn admit(&self, i: usize, peer: SocketAddr) -> Option<portico::conn::ConnId> {
        let queue = self.config.server.timeouts.queue;
        let deadline = Instant::now() + to_embassy(queue);
        let mut first = true;
        loop {
            match self.shared.admit(i, peer, now(), first) {
                Admit::Serve(id) => return Some(id),
                Admit::Hold(epoch) => {
                    first = false;
                    if Instant::now() >= deadline {
                        return None;
                    }
                    // Also every `HELD_RETRY_MS`: a silent preconnect or a dripping head
                    // becomes evictable when its grace period ends, with no event.
                    let freed = self.shared.freed_since(epoch);
                    let retry = Instant::now() + Duration::from_millis(HELD_RETRY_MS);
                    let woke = select(freed, Timer::at(deadline.min(retry))).await;
                    if matches!(woke, Either::Second(())) && Instant::now() >= deadline {
                        // One last try: a slot may have freed in the same instant.
                        return match self.shared.admit(i, peer, now(), false) {
                            Admit::Serve(id) => Some(id),
                            Admit::Hold(_) => None,
                        };
                    }
                }
            }
        }
    }

    /// Answers a held newcomer with the core's `503` and `Retry-After`, without reading
    /// its request.
    async fn refuse(&self, socket: &mut TcpSocket<'_>) {
        let cfg = &self.config.server;
        let send = to_embassy(cfg.timeouts.send);
        let _ = with_timeout(send, portico::server::refuse(&mut Raw(socket), cfg)).await;
    }

    /// Closes gracefully: FIN, wait for the peer's FIN (discarding anything it still
    /// sends), and abort only if the linger time runs out. The socket can listen again
    /// afterwards (smoltcp lets a socket in `TIME-WAIT` listen).
    ///
    /// An evicted connection was idle (or a dripping head): nothing of a response is
    /// unread on the peer's side, so a reset cannot destroy anything. Once its FIN is
    /// acknowledged it waits only [`EVICTED_LINGER_MS`] for the peer's FIN — a client
    /// that looks at an idle socket only when it next uses it would otherwise keep this
    /// socket out of `LISTEN` for the whole linger, while newcomers wait for it.
    async fn close(&self, i: usize, socket: &mut TcpSocket<'_>, evicted: bool) {
        self.shared.release(i, now());
        socket.close();
        let linger = to_embassy(self.config.linger);
        let abort = self.shared.abort_requested(i);
        let graceful = with_timeout(
            linger,
            unless(abort, async {
                if evicted {
                    let _ = socket.flush().await;
                    let _ = with_timeout(
                        Duration::from_millis(EVICTED_LINGER_MS),
                        drain_until_fin(socket),
                    )
                    .await;
                } else {
                    drain_until_fin(socket).await;
                }
                // Our FIN may still wait for its ACK (LAST-ACK, CLOSING).
                let _ = socket.flush().await;
            }),
        )
        .await
        .is_ok_and(|done| done.is_some())
            && matches!(socket.state(), State::Closed | State::TimeWait);
        if !graceful {
            socket.abort();
            let _ = with_timeout(linger, socket.flush()).await;
        }
        self.shared.closed(graceful);
    }
}

/// A socket not (or no longer) admitted, as a bare `Transport`: for the `503` only.
struct Raw<'a, 's>(&'a mut TcpSocket<'s>);

impl embedded_io_async::ErrorType for Raw<'_, '_> {
    type Error = embassy_net::tcp::Error;
}

impl embedded_io_async::Read for Raw<'_, '_> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        self.0.read(buf).await
    }
}

impl embedded_io_async::Write for Raw<'_, '_> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.0.write(buf).await
    }
    async fn flush(&mut self) -> Result<(), Self::Error> {
        self.0.flush().await
    }
}

impl portico::server::Transport for Raw<'_, '_> {
    async fn readable(&mut self) -> Result<(), Self::Error> {
        self.0.read_with(|_| (0, ())).await
    }
}
