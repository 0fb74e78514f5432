//! Fault injection on the host port: every allocation the server makes is failed in
//! turn, and nothing is lost — every client gets a 200, a 503 or a clean close (never a
//! hang), memory returns to where it was (only the pool's cached chunks may stay), and
//! the server keeps serving.
//!
//!     cargo test -p portico-tokio --test faults -- --nocapture
//!
//! The allocation sites are not listed by hand: a fault-free run of the workload counts
//! `SimHeap::allocations()`, and the sweep fails allocation 1, 2, … N of a fresh server
//! running the same workload. The workload is built so that its allocation order is
//! deterministic: three connections each hold a half-sent request head at once (so each
//! leases its own buffer, allocated on first use), then finish, make a second request on
//! the same connection (a cached chunk, no allocation), and a fourth connection comes
//! after them all.

use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use portico::conn::{Budget, Policy};
use portico::http::Status;
use portico::placement::{MemoryRegions, Placement, Region};
use portico::pool::PoolConfig;
use portico::server::{
    Buffers, Env, Exchange, Handler, NoStreams, Reply, ServeError, ServerConfig, Streams, Timeouts,
    Transport,
};
use portico_tokio::{BufferStrategy, Server, ServerOptions, Shared, CONN_STATE_BYTES};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const BODY: &[u8] = b"fixed body from the fault-injection app\n";
const CHUNK: usize = 4096;
/// Every client operation is bounded: exceeding this is a hang.
const OP_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves a fixed body on every path.
struct Fixed;

impl Handler for Fixed {
    type Upgrade = ();

    async fn handle<T: Transport, E: Env>(
        &self,
        ex: &mut Exchange<'_, T, E>,
    ) -> Result<Reply<()>, ServeError<T::Error>> {
        ex.respond(
            Status::OK,
            |h| h.header("Content-Type", "text/plain").map(drop),
            BODY,
        )
        .await?;
        Ok(Reply::Done)
    }
}

impl Streams<()> for Fixed {
    async fn run<T: Transport, E: Env, B: Buffers>(
        &self,
        u: (),
        io: &mut T,
        env: &E,
        cfg: &ServerConfig,
        buffers: &B,
    ) {
        NoStreams.run(u, io, env, cfg, buffers).await
    }
}

fn options(internal_ram: usize, psram: usize, placement: Placement) -> ServerOptions {
    let server = ServerConfig {
        timeouts: Timeouts {
            head: portico::time::Duration::from_secs(2),
            idle: portico::time::Duration::from_secs(3),
            queue: portico::time::Duration::from_secs(1),
            ..Timeouts::default()
        },
        ..ServerConfig::default()
    };
    ServerOptions {
        budget: Budget::new(32, 24).unwrap(),
        policy: Policy::default(),
        server,
        pool: PoolConfig {
            chunks: 8,
            chunk_size: CHUNK,
            placement,
        },
        internal_ram,
        psram,
        conn_state_bytes: CONN_STATE_BYTES,
        buffers: BufferStrategy::Pool,
    }
}

/// What one client request ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Got {
    Ok,
    Refused,
    /// The server closed before any byte of a response (FIN or reset).
    Closed,
    /// Anything else: a wrong status or body, a broken response, or a timeout (hang).
    Bad(String),
}

/// Reads one response (fixed-length body) from `s`.
async fn read_response(s: &mut TcpStream) -> Got {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + OP_TIMEOUT;
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let len: usize = head
                .lines()
                .find_map(|l| {
                    let (n, v) = l.split_once(':')?;
                    n.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                let body = &buf[end + 4..end + 4 + len];
                return if head.starts_with("HTTP/1.1 200 ") && body == BODY {
                    Got::Ok
                } else if head.starts_with("HTTP/1.1 503 ") && head.contains("Retry-After:") {
                    Got::Refused
                } else {
                    Got::Bad(format!("unexpected response {head:?}"))
                };
            }
        }
        let r = tokio::time::timeout_at(deadline, s.read(&mut tmp)).await;
        match r {
            Err(_) => return Got::Bad(format!("HANG: no complete response in {OP_TIMEOUT:?}")),
            Ok(Ok(0)) | Ok(Err(_)) if buf.is_empty() => return Got::Closed,
            Ok(Ok(0)) => {
                return Got::Bad(format!(
                    "closed mid-response: {:?}",
                    String::from_utf8_lossy(&buf)
                ))
            }
            Ok(Err(e)) => return Got::Bad(format!("{e} mid-response")),
            Ok(Ok(n)) => buf.extend_from_slice(&tmp[..n]),
        }
    }
}

const REQ: &[u8] = b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n";

/// The deterministic workload; returns every request's outcome.
async fn workload(addr: SocketAddr) -> Vec<Got> {
    let mut got = Vec::new();
    // Three connections, each with a request head half sent, so that each holds a lease.
    let mut conns = Vec::new();
    for _ in 0..3 {
        match tokio::time::timeout(OP_TIMEOUT, TcpStream::connect(addr)).await {
            Ok(Ok(mut s)) => {
                let _ = s.set_nodelay(true);
                let _ = s.write_all(&REQ[..10]).await;
                conns.push(Some(s));
            }
            other => got.push(Got::Bad(format!("connect: {other:?}"))),
        }
        // Admission, the state block, readability, the lease: in this order.
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    // Finish the heads: the first response on each.
    for slot in conns.iter_mut() {
        let s = slot.as_mut().unwrap();
        let _ = s.write_all(&REQ[10..]).await;
        let g = read_response(s).await;
        if g != Got::Ok {
            *slot = None; // refused or closed: that connection is done
        }
        got.push(g);
    }
    // A second request on every connection still open (keep-alive, cached buffers).
    for s in conns.iter_mut().flatten() {
        let _ = s.write_all(REQ).await;
        got.push(read_response(s).await);
    }
    drop(conns);
    tokio::time::sleep(Duration::from_millis(60)).await;
    // A newcomer after them all.
    got.push(one_request(addr).await);
    got
}

async fn one_request(addr: SocketAddr) -> Got {
    match tokio::time::timeout(OP_TIMEOUT, TcpStream::connect(addr)).await {
        Ok(Ok(mut s)) => {
            let _ = s.write_all(REQ).await;
            read_response(&mut s).await
        }
        other => Got::Bad(format!("connect: {other:?}")),
    }
}

/// Internal and external bytes in use.
fn used(shared: &Shared) -> (usize, usize) {
    (
        shared.heap.stats(Region::Internal).used,
        shared.heap.stats(Region::External).used,
    )
}

/// Bytes the pool legitimately keeps: its allocated (cached) chunks, by region.
fn cached(shared: &Shared) -> (usize, usize) {
    let p = shared.pool.stats();
    (p.in_internal * CHUNK, p.in_external * CHUNK)
}

/// Waits until the server has closed every connection and returned every lease.
async fn settle(shared: &Shared) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(8) {
        if shared.table.borrow().open() == 0 && shared.pool.stats().leased == 0 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// Runs `f` against a fresh server on its own single-threaded runtime.
fn with_server<R>(opts: ServerOptions, f: impl AsyncFnOnce(SocketAddr, Rc<Shared>) -> R) -> R {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = Server::new(opts, |_| Fixed);
        let shared = server.shared().clone();
        let task = tokio::task::spawn_local(server.run(listener));
        let r = f(addr, shared).await;
        task.abort();
        r
    })
}

#[test]
fn every_allocation_failing_in_turn_loses_nothing() {
    // 4 connections' state blocks + 3 buffers allocated on first use (then reused).
    sweep(
        options(64 * 1024, 0, Placement::PreferInternal),
        7,
        false,
        &[],
    );
}

#[test]
fn every_allocation_failing_in_turn_loses_nothing_with_per_request_buffers() {
    // 4 connections' state blocks + one buffer per request (7 requests) + one buffer
    // each time a kept-alive connection wakes up to find the client's FIN (4).
    let opts = ServerOptions {
        buffers: BufferStrategy::PerRequest,
        ..options(64 * 1024, 0, Placement::PreferInternal)
    };
    // Failing one of those last buffers is invisible: the client has already gone.
    sweep(opts, 15, false, &[10, 11, 12, 15]);
}

#[test]
fn every_allocation_failing_in_turn_loses_nothing_with_psram_buffers() {
    // Buffers prefer PSRAM: each buffer allocation is one attempt in external RAM; a
    // failure there falls back to internal RAM (a second attempt, not a refusal).
    sweep(
        options(64 * 1024, 64 * 1024, Placement::PreferExternal),
        7,
        true,
        &[],
    );
}

/// Fails allocation 1, 2, … N+1 of a fresh server running the workload. With
/// `fallback`, a buffer allocation that fails in PSRAM may be absorbed by internal RAM;
/// the `invisible` sites serve a client that has already left.
fn sweep(opts: ServerOptions, expected_sites: u64, fallback: bool, invisible: &[u64]) {
    // Count the allocation sites of the workload, fault-free.
    let (n_sites, clean) = with_server(opts, async |addr, shared| {
        let got = workload(addr).await;
        assert!(settle(&shared).await, "fault-free run did not settle");
        (shared.heap.allocations(), got)
    });
    assert!(
        clean.iter().all(|g| *g == Got::Ok),
        "fault-free workload: {clean:?}"
    );
    assert_eq!(clean.len(), 7);
    assert_eq!(n_sites, expected_sites, "allocation sites of the workload");
    eprintln!("fault sweep: {n_sites} allocation sites in the workload");

    let mut report = Vec::new();
    let mut problems = Vec::new();
    for n in 1..=n_sites + 1 {
        let (got, failures, leaks, after, fell_back) = with_server(opts, async |addr, shared| {
            let base = used(&shared);
            shared.heap.fail_nth(n);
            let got = workload(addr).await;
            let settled = settle(&shared).await;
            shared.heap.clear_faults();
            // Without PSRAM every external attempt fails as "absent": not a fault.
            let failures = shared.heap.stats(Region::Internal).failures
                + if opts.psram > 0 {
                    shared.heap.stats(Region::External).failures
                } else {
                    0
                };
            let (ui, ue) = used(&shared);
            let (ci, ce) = cached(&shared);
            let mut leaks = Vec::new();
            if !settled {
                leaks.push(format!(
                    "did not settle: {} open, {} leased",
                    shared.table.borrow().open(),
                    shared.pool.stats().leased
                ));
            }
            if (ui - base.0, ue - base.1) != (ci, ce) {
                leaks.push(format!(
                    "used ({ui}, {ue}) != baseline {base:?} + cached chunks ({ci}, {ce})"
                ));
            }
            // And it still serves, then settles back again.
            let after = one_request(addr).await;
            if !settle(&shared).await
                || used(&shared) != (base.0 + cached(&shared).0, base.1 + cached(&shared).1)
            {
                leaks.push("memory not back after the recovery request".into());
            }
            let fell_back = opts.pool.placement == Placement::PreferExternal
                && shared.pool.stats().in_internal > 0;
            (got, failures, leaks, after, fell_back)
        });
        let bad: Vec<&Got> = got.iter().filter(|g| matches!(g, Got::Bad(_))).collect();
        let count = |w: &Got| got.iter().filter(|g| *g == w).count();
        report.push(format!(
            "fail #{n}: {} ok, {} refused 503, {} closed; {failures} injected failure(s){}; after: {after:?}",
            count(&Got::Ok),
            count(&Got::Refused),
            count(&Got::Closed),
            if fell_back { ", a buffer fell back to internal RAM" } else { "" },
        ));
        if !bad.is_empty() {
            problems.push(format!("fail #{n}: {bad:?}"));
        }
        if after != Got::Ok {
            problems.push(format!(
                "fail #{n}: server does not serve afterwards: {after:?}"
            ));
        }
        problems.extend(leaks.into_iter().map(|l| format!("fail #{n}: {l}")));
        if n <= n_sites && failures != 1 {
            problems.push(format!(
                "fail #{n}: the injected fault was hit {failures} times"
            ));
        }
        if n <= n_sites
            && count(&Got::Ok) == got.len()
            && !(fallback && fell_back)
            && !invisible.contains(&n)
        {
            problems.push(format!("fail #{n}: a failed allocation went unnoticed"));
        }
    }
    eprintln!("{}", report.join("\n"));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn internal_ram_failing_entirely_gives_503_then_recovers() {
    let opts = options(64 * 1024, 0, Placement::PreferInternal);
    with_server(opts, async |addr, shared| {
        // A kept-alive connection with its buffer already allocated.
        let mut keep = TcpStream::connect(addr).await.unwrap();
        keep.write_all(REQ).await.unwrap();
        assert_eq!(read_response(&mut keep).await, Got::Ok);
        let base = used(&shared);

        shared.heap.fail_region(Region::Internal, true);
        let mut refused = 0;
        for _ in 0..5 {
            match one_request(addr).await {
                Got::Refused => refused += 1,
                other => panic!("with internal RAM failing, a newcomer got {other:?}"),
            }
        }
        assert_eq!(refused, 5);
        // The established connection needs no new memory: it is still served.
        keep.write_all(REQ).await.unwrap();
        assert_eq!(
            read_response(&mut keep).await,
            Got::Ok,
            "established connection"
        );
        let failures = shared.heap.stats(Region::Internal).failures;
        assert!(failures >= 5, "{failures} internal failures");
        let refused_503 = shared.table.borrow().counters().refused_503;
        assert!(refused_503 >= 5, "{refused_503} refusals counted");

        shared.heap.clear_faults();
        for _ in 0..5 {
            assert_eq!(one_request(addr).await, Got::Ok, "after clear_faults");
        }
        drop(keep);
        assert!(settle(&shared).await);
        let (ci, ce) = cached(&shared);
        assert_eq!(
            used(&shared),
            (ci, ce),
            "only cached chunks remain (baseline was {base:?})"
        );
    });
}

#[test]
fn psram_failing_falls_back_to_internal_and_serves() {
    // Buffers prefer PSRAM; with PSRAM failing they land in internal RAM instead.
    let opts = options(64 * 1024, 64 * 1024, Placement::PreferExternal);
    with_server(opts, async |addr, shared| {
        shared.heap.fail_region(Region::External, true);
        // Three concurrent connections so that three buffers are needed at once.
        let mut conns = Vec::new();
        for _ in 0..3 {
            let mut s = TcpStream::connect(addr).await.unwrap();
            s.write_all(&REQ[..10]).await.unwrap();
            conns.push(s);
            tokio::time::sleep(Duration::from_millis(60)).await;
        }
        for s in conns.iter_mut() {
            s.write_all(&REQ[10..]).await.unwrap();
            assert_eq!(read_response(s).await, Got::Ok);
        }
        let p = shared.pool.stats();
        assert_eq!(
            (p.in_internal, p.in_external),
            (3, 0),
            "fell back to internal"
        );
        shared.heap.clear_faults();
        drop(conns);
        assert!(settle(&shared).await);
        assert_eq!(used(&shared), cached(&shared));
    });
}

#[test]
fn internal_ram_exhausted_by_connections_gives_503_not_a_hang() {
    // Room for one buffer and eight connection states.
    let opts = options(CHUNK + 8 * CONN_STATE_BYTES, 0, Placement::PreferInternal);
    with_server(opts, async |addr, shared| {
        // Twelve silent connections: each costs its state block until it goes, and
        // together they leave no room for a buffer.
        let mut idle = Vec::new();
        for _ in 0..12 {
            if let Ok(s) = TcpStream::connect(addr).await {
                idle.push(s);
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut outcomes = Vec::new();
        for _ in 0..4 {
            outcomes.push(one_request(addr).await);
        }
        assert!(
            outcomes
                .iter()
                .all(|g| matches!(g, Got::Ok | Got::Refused | Got::Closed)),
            "{outcomes:?}"
        );
        assert!(
            outcomes.contains(&Got::Refused),
            "no 503 although RAM is exhausted: {outcomes:?}"
        );
        let st = shared.heap.stats(Region::Internal);
        assert!(st.used <= st.capacity);
        drop(idle);
        assert!(settle(&shared).await);
        assert_eq!(
            one_request(addr).await,
            Got::Ok,
            "after the idle crowd left"
        );
        assert!(settle(&shared).await);
        assert_eq!(used(&shared), cached(&shared));
    });
}
