//! The accept loop and the per-connection task.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use portico::conn::{Admission, Budget, ConnId, ConnState, Policy, Table, TimeoutPhase};
use portico::placement::sim::{SimCharge, SimHeap};
use portico::placement::Region;
use portico::pool::{Pool, PoolConfig};
use portico::server::{serve, Env, Handler, Outcome, ServerConfig};
use portico::time::Millis;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

use crate::env::ConnEnv;
use crate::parking::{Parked, Parking};
use crate::transport::TcpTransport;

/// Most connection slots the host table can hold (the cap itself is `--max-sockets`).
pub const TABLE_SLOTS: usize = 1024;

/// The host's buffer pool: up to 64 chunks, up to 256 waiters, no lock (one thread).
pub type HostPool = Pool<SimHeap, NoopRawMutex, 64, 256>;

/// Everything the port needs to know.
#[derive(Debug, Clone, Copy)]
pub struct ServerOptions {
    /// Socket budget.
    pub budget: Budget,
    /// Connection policy.
    pub policy: Policy,
    /// Request loop settings.
    pub server: ServerConfig,
    /// Buffer pool.
    pub pool: PoolConfig,
    /// Internal RAM budget in bytes.
    pub internal_ram: usize,
    /// External RAM budget in bytes (0 = absent).
    pub psram: usize,
    /// Bytes of internal RAM charged per admitted connection (its table entry, socket
    /// bookkeeping and idle task state).
    pub conn_state_bytes: usize,
    /// Where request buffers come from.
    pub buffers: BufferStrategy,
}

/// Where a request's buffer comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BufferStrategy {
    /// Leased from the fixed pool (the design).
    Pool,
    /// Allocated for each request and freed after it: the baseline the pool is measured
    /// against. Accounted in the same heap, so peaks compare directly.
    PerRequest,
}

/// What the application adds to the core `Handler`: driving long-lived streams.
#[allow(async_fn_in_trait)] // One thread: no Send bound wanted.
pub trait App: Handler + 'static {
    /// Runs a stream the handler upgraded to, until it ends or `evicted` fires.
    async fn stream(
        &self,
        upgrade: Self::Upgrade,
        io: &mut TcpTransport,
        env: &ConnEnv,
        evicted: &Notify,
    );
}

/// State shared by the accept loop, the connection tasks and the API handlers.
pub struct Shared {
    start: Instant,
    /// The connection table.
    pub table: RefCell<Box<Table<TABLE_SLOTS>>>,
    /// The buffer pool.
    pub pool: HostPool,
    /// The simulated heap.
    pub heap: SimHeap,
    /// Options in force.
    pub options: ServerOptions,
    /// Sockets held by outbound links (charged against the stack's sockets).
    pub outbound: Cell<usize>,
    evictors: RefCell<HashMap<u16, (u32, Rc<Notify>)>>,
    parking: Parking,
    slot_freed: Notify,
}

/// A copy of the live figures, for the API.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Milliseconds since start.
    pub uptime_ms: Millis,
    /// Open HTTP connections.
    pub open: usize,
    /// Cap.
    pub cap: usize,
    /// By state.
    pub idle: usize,
    /// Mid-exchange.
    pub active: usize,
    /// Streams.
    pub streams: usize,
    /// Held newcomers.
    pub pending: usize,
    /// Counters.
    pub counters: portico::conn::Counters,
    /// Live table.
    pub connections: Vec<portico::conn::ConnInfo>,
    /// Recent evictions.
    pub evictions: Vec<portico::conn::Eviction>,
}

impl Shared {
    /// Milliseconds since the server started.
    pub fn now(&self) -> Millis {
        self.start.elapsed().as_millis() as Millis
    }

    /// A consistent copy of the table's figures.
    pub fn snapshot(&self) -> Snapshot {
        let now = self.now();
        let t = self.table.borrow();
        let connections: Vec<_> = t.connections(now).collect();
        let idle = connections
            .iter()
            .filter(|c| c.state == ConnState::Idle)
            .count();
        let streams = connections
            .iter()
            .filter(|c| c.state == ConnState::Stream)
            .count();
        Snapshot {
            uptime_ms: now,
            open: t.open(),
            cap: t.cap(),
            idle,
            active: t.open() - idle - streams,
            streams,
            pending: t.pending(),
            counters: t.counters(),
            connections,
            evictions: t.recent_evictions().copied().collect(),
        }
    }

    /// Tells the accept loop that admission may now succeed.
    pub(crate) fn wake_acceptor(&self) {
        self.slot_freed.notify_one();
    }

    /// Idle connections parked without a task.
    pub fn parked(&self) -> usize {
        self.parking.len()
    }

    fn register(&self, id: ConnId) -> Rc<Notify> {
        let n = Rc::new(Notify::new());
        self.evictors
            .borrow_mut()
            .insert(id.slot, (id.generation, n.clone()));
        n
    }

    fn unregister(&self, id: ConnId) {
        let mut e = self.evictors.borrow_mut();
        if e.get(&id.slot).map(|(g, _)| *g) == Some(id.generation) {
            e.remove(&id.slot);
        }
    }

    /// Closes the evicted connection: a parked one right here, a running one by
    /// signalling its task.
    fn evict(&self, victim: ConnId) {
        if let Some(p) = self.parking.take(victim) {
            // The table has already let it go; dropping the socket sends FIN.
            drop(p);
            self.slot_freed.notify_one();
            return;
        }
        if let Some((g, n)) = self.evictors.borrow().get(&victim.slot) {
            if *g == victim.generation {
                n.notify_one();
            }
        }
    }
}

/// The host server.
pub struct Server<A: App> {
    shared: Rc<Shared>,
    app: Rc<A>,
}

/// The answer for a newcomer that cannot be served. Static: refusing must not allocate.
const REFUSAL_503: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n\
Content-Type: text/plain; charset=utf-8\r\nContent-Length: 28\r\nConnection: close\r\n\r\n\
server busy, retry in 1 s\r\n\n";

impl<A: App> Server<A> {
    /// Builds the server state. `app` is made from the shared state, so handlers can
    /// report on the table, the pool and the heap.
    pub fn new(options: ServerOptions, app: impl FnOnce(Rc<Shared>) -> A) -> Self {
        let heap = SimHeap::new(options.internal_ram, options.psram);
        let shared = Rc::new(Shared {
            start: Instant::now(),
            table: RefCell::new(Box::new(Table::new(options.budget, options.policy))),
            pool: Pool::new(heap.clone(), options.pool),
            heap,
            options,
            outbound: Cell::new(0),
            evictors: RefCell::new(HashMap::new()),
            parking: Parking::new(TABLE_SLOTS.min(options.budget.max_sockets)),
            slot_freed: Notify::new(),
        });
        let app = Rc::new(app(shared.clone()));
        Server { shared, app }
    }

    /// The shared state.
    pub fn shared(&self) -> &Rc<Shared> {
        &self.shared
    }

    /// Accepts and serves forever. Must run inside a `tokio::task::LocalSet`.
    pub async fn run(self, listener: TcpListener) {
        let shared = self.shared;
        tokio::task::spawn_local(shrink_when_idle(shared.clone()));
        tokio::task::spawn_local(watch_parked(shared.clone(), self.app.clone()));
        let backlog = shared.options.budget.backlog;
        let queue_timeout = shared.options.policy.queue_timeout_ms;
        let mut pending: VecDeque<(TcpStream, SocketAddr, Millis)> = VecDeque::new();
        loop {
            // Admit held newcomers, oldest first.
            while let Some((_, peer, _)) = pending.front() {
                let peer = *peer;
                let now = shared.now();
                let decision = shared.table.borrow_mut().admit(peer, now);
                let id = match decision {
                    Admission::Full => break,
                    Admission::Admitted(id) => id,
                    Admission::Evicted { id, victim, .. } => {
                        shared.evict(victim);
                        id
                    }
                };
                let (stream, _, _) = pending.pop_front().expect("front exists");
                // Charge the connection's state to internal RAM: when it is gone, the
                // newcomer is refused with 503 instead of starving the rest.
                match shared
                    .heap
                    .charge(Region::Internal, shared.options.conn_state_bytes)
                {
                    Ok(charge) => match TcpTransport::new(stream) {
                        Ok(io) => {
                            // No task until the first request arrives: the watcher
                            // resumes it, or closes it at the head deadline.
                            shared.parking.park(Parked {
                                io,
                                id,
                                deadline: now + shared.options.server.head_timeout_ms,
                                fresh: true,
                                charge,
                            });
                        }
                        Err(_) => {
                            let _ = shared.table.borrow_mut().close(id);
                        }
                    },
                    Err(_) => {
                        let _ = shared.table.borrow_mut().close(id);
                        shared.table.borrow_mut().refused();
                        tokio::task::spawn_local(refuse(stream));
                    }
                }
            }
            // A peer caught dripping heads on many sockets (slowloris) does not get to
            // queue: its newcomers are answered at once, so others behind it get in.
            let now = shared.now();
            let mut k = 0;
            while k < pending.len() {
                let ip = pending[k].1.ip();
                if shared.table.borrow().is_dripping(ip, now) {
                    let (stream, _, _) = pending.remove(k).expect("index in range");
                    shared.table.borrow_mut().refused();
                    tokio::task::spawn_local(refuse(stream));
                } else {
                    k += 1;
                }
            }
            // Newcomers that waited too long get a clear answer.
            while pending
                .front()
                .is_some_and(|(_, _, since)| now >= since + queue_timeout)
            {
                let (stream, _, _) = pending.pop_front().expect("front exists");
                shared.table.borrow_mut().refused();
                tokio::task::spawn_local(refuse(stream));
            }
            shared.table.borrow_mut().set_pending(pending.len());
            // While newcomers wait, retry admission every 100 ms as well: a silent
            // preconnect becomes evictable when its grace period ends, with no event.
            let next_deadline = pending
                .front()
                .map(|(_, _, since)| (since + queue_timeout).min(shared.now() + 100));
            // With a full backlog we stop accepting: the kernel's backlog holds the rest,
            // as the device's TCP stack would.
            let can_accept = pending.len() < backlog.max(1);
            tokio::select! {
                r = listener.accept(), if can_accept => {
                    if let Ok((stream, peer)) = r {
                        pending.push_back((stream, peer, shared.now()));
                    }
                }
                _ = shared.slot_freed.notified() => {}
                _ = sleep_until_ms(&shared, next_deadline), if next_deadline.is_some() => {}
            }
        }
    }
}

/// Chunks the pool keeps after a quiet period.
pub const POOL_BASELINE: usize = 2;
/// How long the pool must see no lease before it gives memory back.
pub const POOL_IDLE_MS: u64 = 30_000;

/// Gives pool chunks back to the heap after a spike, once no lease has been taken for
/// [`POOL_IDLE_MS`]: the device's RAM returns to the baseline between bursts.
async fn shrink_when_idle(shared: Rc<Shared>) {
    let mut last = shared.pool.stats().leases;
    let mut quiet_since = shared.now();
    loop {
        tokio::time::sleep(Duration::from_millis(POOL_IDLE_MS / 6)).await;
        let s = shared.pool.stats();
        let now = shared.now();
        if s.leases != last || s.leased > 0 {
            last = s.leases;
            quiet_since = now;
        } else if now - quiet_since >= POOL_IDLE_MS && s.allocated > POOL_BASELINE {
            shared.pool.shrink(POOL_BASELINE);
        }
    }
}

/// Runs the request loop until it ends or the table evicts the connection. The table
/// only evicts a connection inside the loop while it is still dripping its head.
async fn evictable<U, E>(
    evict: &Notify,
    serve: impl std::future::Future<Output = Result<Outcome<U>, E>>,
) -> Result<Outcome<U>, E> {
    tokio::select! {
        o = serve => o,
        _ = evict.notified() => Ok(Outcome::Close),
    }
}

async fn sleep_until_ms(shared: &Shared, at: Option<Millis>) {
    if let Some(at) = at {
        let now = shared.now();
        tokio::time::sleep(Duration::from_millis(at.saturating_sub(now))).await;
    }
}

async fn refuse(stream: TcpStream) {
    if let Ok(mut io) = TcpTransport::new(stream) {
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            use portico::server::Transport;
            let _ = io.write_all_vectored(&[REFUSAL_503]).await;
            io.shutdown().await;
        })
        .await;
    }
}

/// How long a task waits for the next request after a response before it parks the
/// connection.
const LINGER_MS: u64 = 2;

/// How a connection task begins: always because its socket looked readable in the
/// parking lot; the kind says which deadline applies if that was a spurious wake-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    /// Its first request: the head deadline.
    Fresh,
    /// A later request on a kept-alive connection: the idle timeout.
    Resumed,
}

/// Watches the parked connections: resumes the ones whose peer speaks, closes the ones
/// idle too long. One task and one timer for all of them.
async fn watch_parked<A: App>(shared: Rc<Shared>, app: Rc<A>) {
    let mut timer = Box::pin(tokio::time::sleep(Duration::from_secs(3600)));
    std::future::poll_fn(|cx| loop {
        let now = shared.now();
        let sweep = shared.parking.sweep(cx, now);
        for p in sweep.expired {
            let phase = if p.fresh {
                TimeoutPhase::Head
            } else {
                TimeoutPhase::Idle
            };
            shared.table.borrow_mut().timed_out(phase);
            let _ = shared.table.borrow_mut().close(p.id);
            drop(p);
            shared.slot_freed.notify_one();
        }
        for p in sweep.ready {
            tokio::task::spawn_local(connection(
                shared.clone(),
                app.clone(),
                p.io,
                p.id,
                p.charge,
                if p.fresh {
                    Start::Fresh
                } else {
                    Start::Resumed
                },
            ));
        }
        let Some(at) = sweep.next_deadline else {
            return std::task::Poll::<()>::Pending;
        };
        let when = shared.start + Duration::from_millis(at);
        timer.as_mut().reset(tokio::time::Instant::from_std(when));
        if std::future::Future::poll(timer.as_mut(), cx).is_pending() {
            return std::task::Poll::Pending;
        }
    })
    .await;
}

async fn connection<A: App>(
    shared: Rc<Shared>,
    app: Rc<A>,
    mut io: TcpTransport,
    id: ConnId,
    charge: SimCharge,
    start: Start,
) {
    let env = ConnEnv {
        shared: shared.clone(),
        id,
    };
    let evict = shared.register(id);
    let park = drive(&shared, &*app, &mut io, &env, &evict, start).await;
    shared.unregister(id);
    // Idle with nothing buffered, and still ours: park it and end this task. No await
    // between the check and the parking, so no eviction can slip in between.
    if park && shared.table.borrow().is_live(id) {
        let deadline = shared.now() + shared.options.server.idle_timeout_ms;
        shared.parking.park(Parked {
            io,
            id,
            deadline,
            fresh: false,
            charge,
        });
        return;
    }
    io.shutdown().await;
    let _ = shared.table.borrow_mut().close(id);
    shared.slot_freed.notify_one();
}

/// Serves one request (and any pipelined behind it). Returns `true` to park the
/// connection idle, `false` to close it.
async fn drive<A: App>(
    shared: &Shared,
    app: &A,
    io: &mut TcpTransport,
    env: &ConnEnv,
    evict: &Notify,
    start: Start,
) -> bool {
    let opts = &shared.options;
    let mut lingering = false;
    loop {
        // Wait for the request holding no buffer. A fresh connection gets the head deadline;
        // a resumed one is normally readable at once (readiness is confirmed by a peek, so a
        // spurious wake-up waits here, under the idle timeout). After a response the task
        // lingers a moment: a busy client's next request usually arrives within it, and
        // serving it here is cheaper than parking and resuming.
        let (wait, phase) = match (lingering, start) {
            (true, _) => (LINGER_MS, TimeoutPhase::Idle),
            (false, Start::Fresh) => (opts.server.head_timeout_ms, TimeoutPhase::Head),
            (false, Start::Resumed) => (opts.server.idle_timeout_ms, TimeoutPhase::Idle),
        };
        let ready = tokio::select! {
            r = io.readable() => r.is_ok(),
            _ = evict.notified() => false,
            _ = tokio::time::sleep(Duration::from_millis(wait)) => {
                if lingering {
                    return true;
                }
                env.timed_out(phase);
                false
            }
        };
        // Evicted in the same instant? The table is the arbiter.
        if !ready || !shared.table.borrow().is_live(env.id) {
            return false;
        }
        env.state(ConnState::Head);
        let mut filled = 0;
        // Boxed so that a waiting task does not carry the size of the request loop and the
        // handler's futures.
        let outcome = match opts.buffers {
            BufferStrategy::Pool => {
                // Every buffer taken? Heads still dripping in after the grace period
                // give theirs up first, so a slowloris cannot starve real requests.
                if shared.pool.exhausted() {
                    let victim = shared.table.borrow_mut().evict_slow_head(shared.now());
                    if let Some(v) = victim {
                        shared.evict(v);
                    }
                }
                let lease = match tokio::time::timeout(
                    Duration::from_millis(opts.policy.queue_timeout_ms),
                    shared.pool.acquire(),
                )
                .await
                {
                    Ok(Ok(lease)) => lease,
                    _ => {
                        use portico::server::Transport;
                        let _ = io.write_all_vectored(&[REFUSAL_503]).await;
                        return false;
                    }
                };
                let mut lease = lease;
                evictable(
                    evict,
                    Box::pin(serve(io, &mut lease, &mut filled, app, env, &opts.server)),
                )
                .await
            }
            BufferStrategy::PerRequest => {
                let Ok(mut block) = portico::placement::place(
                    &shared.heap,
                    opts.pool.placement,
                    opts.pool.chunk_size,
                ) else {
                    use portico::server::Transport;
                    let _ = io.write_all_vectored(&[REFUSAL_503]).await;
                    return false;
                };
                evictable(
                    evict,
                    Box::pin(serve(
                        io,
                        block.block.as_mut(),
                        &mut filled,
                        app,
                        env,
                        &opts.server,
                    )),
                )
                .await
            }
        };
        match outcome {
            Ok(Outcome::Idle) => lingering = true,
            Ok(Outcome::Upgrade(u)) => {
                env.state(ConnState::Stream);
                Box::pin(app.stream(u, io, env, evict)).await;
                return false;
            }
            Ok(Outcome::Close) | Err(_) => return false,
        }
    }
}
