//! The listener and the accept loop: admission, eviction and the bounded backlog.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::rc::Rc;

use portico::conn::{Admission, Arrival};
use portico::placement::Region;
use portico::server::{refuse, Handler, Streams};
use portico::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};

use crate::options::ServerOptions;
use crate::parking::Parked;
use crate::shared::Shared;
use crate::shrink::shrink_when_idle;
use crate::task::watch_parked;
use crate::transport::TcpTransport;

/// The kernel's accept queue for [`listen`]. A crowd of browsers arrives as a burst of
/// SYNs much larger than the sockets the port holds; a SYN that overflows the queue is
/// dropped and the client retries only after a second. Queued here, a newcomer waits
/// milliseconds for its turn instead (nginx uses 511). The kernel caps it at
/// `net.core.somaxconn`.
pub const LISTEN_BACKLOG: i32 = 1024;

/// Binds a listener with [`LISTEN_BACKLOG`] (and `SO_REUSEADDR`, so a restarted
/// provider gets its port back at once).
pub fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    TcpListener::from_std(socket.into())
}

/// Serves `app` on `addr` with the design's defaults ([`ServerOptions::default`]) until
/// the future is dropped: the one-line start for an application on a PC.
///
/// Runs the server on a `LocalSet` of its own (the port is single-threaded, like the
/// device's executor), so it can be awaited from any tokio runtime. Unless the program
/// installed a `tracing` subscriber of its own, one is installed that prints the
/// stack's log (evictions, `503`s, missed deadlines, the link's state) on stderr,
/// filtered by `RUST_LOG` (`info` by default).
pub async fn serve<A>(addr: impl tokio::net::ToSocketAddrs, app: A) -> std::io::Result<()>
where
    A: Handler + Streams<A::Upgrade> + 'static,
{
    let addr = tokio::net::lookup_host(addr)
        .await?
        .next()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "no address"))?;
    serve_on(listen(addr)?, app).await;
    Ok(())
}

/// [`serve`] on a listener the caller made (port 0, to learn the port first).
pub async fn serve_on<A>(listener: TcpListener, app: A)
where
    A: Handler + Streams<A::Upgrade> + 'static,
{
    init_log();
    let server = Server::new(ServerOptions::default(), |_| app);
    tokio::task::LocalSet::new()
        .run_until(server.run(listener))
        .await
}

/// Prints the log on stderr, `RUST_LOG` filtering (`info` by default): the core's `log`
/// lines and any `tracing` events. A no-op when a subscriber is already installed.
pub fn init_log() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// The host server.
pub struct Server<A> {
    shared: Rc<Shared>,
    app: Rc<A>,
}

impl<A: Handler + Streams<A::Upgrade> + 'static> Server<A> {
    /// Builds the server state. `app` is made from the shared state, so handlers can
    /// report on the table, the pool and the heap.
    pub fn new(options: ServerOptions, app: impl FnOnce(Rc<Shared>) -> A) -> Self {
        let shared = Rc::new(Shared::new(options));
        let app = Rc::new(app(shared.clone()));
        Server { shared, app }
    }

    /// The shared state.
    pub fn shared(&self) -> &Rc<Shared> {
        &self.shared
    }

    /// Accepts and serves forever. Must run inside a `tokio::task::LocalSet`.
    ///
    /// While the table is full with nothing to evict, newcomers wait here (up to
    /// `PENDING_MAX`, the rest in the kernel's accept queue); one still waiting at the
    /// queue deadline gets `503` with `Retry-After`. Whoever has sent a whole request is
    /// admitted first, a head still dripping in last (`portico::conn::Arrival`).
    pub async fn run(self, listener: TcpListener) {
        let shared = self.shared;
        tokio::task::spawn_local(shrink_when_idle(shared.clone()));
        tokio::task::spawn_local(watch_parked(shared.clone(), self.app.clone()));
        let queue_timeout = shared.options.server.timeouts.queue;
        let mut pending: VecDeque<(TcpStream, SocketAddr, Instant)> = VecDeque::new();
        loop {
            // Admit held newcomers: whole requests first, then silent ones, then heads
            // still dripping; in arrival order within each.
            while let Some(k) = next_newcomer(&pending) {
                let peer = pending[k].1;
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
                let (stream, _, _) = pending.remove(k).expect("index in range");
                // Charge the connection's state to internal RAM: when it is gone, the
                // newcomer is refused with 503 instead of starving the rest.
                let charge = shared
                    .heap
                    .charge(Region::Internal, shared.options.conn_state_bytes);
                match (charge, TcpTransport::new(stream)) {
                    (Ok(charge), Ok(io)) => {
                        // No task until the first request arrives: the watcher resumes
                        // it, or closes it at the head deadline.
                        shared.parking.park(Parked {
                            io,
                            id,
                            deadline: now + shared.options.server.timeouts.head,
                            fresh: true,
                            charge,
                        });
                    }
                    (Err(_), Ok(io)) => {
                        let _ = shared.table.borrow_mut().close(id);
                        shared.table.borrow_mut().refused();
                        tokio::task::spawn_local(refuse_newcomer(shared.clone(), io));
                    }
                    (_, Err(_)) => {
                        let _ = shared.table.borrow_mut().close(id);
                    }
                }
            }
            // Newcomers that waited too long get a clear answer.
            let now = shared.now();
            while pending
                .front()
                .is_some_and(|(_, _, since)| now >= *since + queue_timeout)
            {
                let (stream, _, _) = pending.pop_front().expect("front exists");
                shared.table.borrow_mut().refused();
                if let Ok(io) = TcpTransport::new(stream) {
                    tokio::task::spawn_local(refuse_newcomer(shared.clone(), io));
                }
            }
            shared.table.borrow_mut().set_pending(pending.len());
            // While newcomers wait, retry admission every `RETRY_ADMISSION` as well: a silent
            // preconnect or a dripping head becomes evictable when its grace period
            // ends, with no event.
            let next_deadline = pending
                .front()
                .map(|(_, _, since)| (*since + queue_timeout).min(shared.now() + RETRY_ADMISSION));
            // Newcomers are taken from the kernel's queue as they come, so that whom to
            // admit next is decided by what each has sent, not by who connected first;
            // past `PENDING_MAX` the kernel's queue holds the rest.
            let can_accept = pending.len() < PENDING_MAX;
            tokio::select! {
                r = listener.accept(), if can_accept => {
                    if let Ok((stream, peer)) = r {
                        pending.push_back((stream, peer, shared.now()));
                    }
                }
                _ = shared.slot_freed.notified() => {}
                _ = sleep_until(&shared, next_deadline), if next_deadline.is_some() => {}
            }
        }
    }
}

/// How often held newcomers are offered to the table again while they wait: a silent
/// preconnect or a dripping head becomes evictable when its grace period ends, with no
/// event to say so.
const RETRY_ADMISSION: Duration = Duration::from_millis(100);

/// Newcomers held in user space at most (each costs a file descriptor, no stack socket).
pub const PENDING_MAX: usize = 256;

/// The held newcomer to admit next: the first of the best [`Arrival`] class.
fn next_newcomer(pending: &VecDeque<(TcpStream, SocketAddr, Instant)>) -> Option<usize> {
    let mut best: Option<(Arrival, usize)> = None;
    for (k, (stream, _, _)) in pending.iter().enumerate() {
        let class = arrival(stream);
        if best.is_none_or(|(b, _)| class < b) {
            best = Some((class, k));
            if class == Arrival::Request {
                break;
            }
        }
    }
    best.map(|(_, k)| k)
}

/// Peeks at what a held newcomer has sent, without consuming it or waiting.
fn arrival(stream: &TcpStream) -> Arrival {
    use std::task::{Context, Poll, Waker};
    let mut buf = [0u8; 1024];
    let mut peeked = tokio::io::ReadBuf::new(&mut buf);
    // Nothing waits on this poll: the accept loop looks again at its next round.
    let mut cx = Context::from_waker(Waker::noop());
    match stream.poll_peek(&mut cx, &mut peeked) {
        Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => Arrival::of(&[], true),
        Poll::Ready(Ok(_)) => Arrival::of(peeked.filled(), false),
        Poll::Pending => Arrival::Silent,
    }
}

async fn sleep_until(shared: &Shared, at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep((at - shared.now()).into()).await;
    }
}

/// Answers a newcomer that cannot be served with the core's `503`, then closes.
async fn refuse_newcomer(shared: Rc<Shared>, mut io: TcpTransport) {
    let cfg = &shared.options.server;
    let _ = tokio::time::timeout(cfg.timeouts.send.into(), async {
        let _ = refuse(&mut io, cfg).await;
        io.shutdown().await;
    })
    .await;
}
