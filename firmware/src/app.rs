//! The device application: the embedded dashboard, a JSON API over the port's counters,
//! and a once-a-second event stream.
//!
//! It mirrors the host provider's endpoints (`/api/status`, `/api/connections`,
//! `/api/pool`, `/api/memory`, `/api/events`) so the same dashboard works on both; see
//! `crates/portico-embassy/CORE-REQUESTS.md` for sharing one implementation.

use core::fmt::Write as _;
use core::net::Ipv4Addr;

use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_time::{Duration, Timer};
use embedded_io_async::Write as _;

use portico::http::Status;
use portico::placement::{MemoryRegions, Region};
use portico::pool::Pool;
use portico::server::{Env, Exchange, Handler, Reply, ResponseLength, ServeError, Transport};
use portico_embassy::profile::SOCKETS;
use portico_embassy::{now_ms, Connection, SocketPool, Streams};

use crate::memory::EspRegions;

mod assets {
    include!(concat!(env!("OUT_DIR"), "/assets.rs"));
}

/// Request buffers: leased only while a request is in flight.
pub type Buffers = Pool<EspRegions, NoopRawMutex, 8, 32>;

/// How the device reached the network.
#[derive(Debug, Clone, Copy)]
pub struct Link {
    /// `"station"` or `"access_point"`.
    pub mode: &'static str,
    /// The device's address.
    pub address: Ipv4Addr,
}

/// The application's state: read-only views of the port.
pub struct App {
    /// The socket pool (connection table and port counters).
    pub sockets: &'static SocketPool<'static, SOCKETS>,
    /// The request buffer pool.
    pub buffers: &'static Buffers,
    /// The network link.
    pub link: Link,
}

/// A live-updates subscription handed back to the port.
pub struct Events;

type Json = heapless::String<2048>;

impl App {
    fn status(&self, out: &mut Json) -> core::fmt::Result {
        let p = self.sockets.snapshot();
        write!(
            out,
            "{{\"uptime_ms\":{},\"platform\":\"{}\",\"link\":{{\"mode\":\"{}\",\"address\":\"{}\"}},\
             \"sockets\":{{\"pool\":{},\"cap\":{},\"listening\":{},\"handshake\":{},\"held\":{},\"serving\":{},\"closing\":{}}},\
             \"port\":{{\"accepted\":{},\"held\":{},\"refused_503\":{},\"evictions\":{},\"graceful_closes\":{},\"aborts\":{},\"urgent_aborts\":{},\"listen_gaps\":{}}},\
             \"requests\":{}}}",
            now_ms(),
            crate::CHIP,
            self.link.mode,
            self.link.address,
            SOCKETS,
            self.sockets.config().cap,
            p.listening,
            p.handshake,
            p.held,
            p.serving,
            p.closing,
            p.port.accepted,
            p.port.held,
            p.port.refused_503,
            p.port.evictions,
            p.port.graceful_closes,
            p.port.aborts,
            p.port.urgent_aborts,
            p.port.listen_gaps,
            p.table.requests,
        )
    }

    fn connections(&self, out: &mut Json) -> core::fmt::Result {
        let now = now_ms();
        self.sockets.with_table(|t| {
            let c = t.counters();
            write!(
                out,
                "{{\"cap\":{},\"open\":{},\"pending\":{},\"counters\":{{\"accepted\":{},\"evicted_idle\":{},\"evicted_peer_cap\":{},\"evicted_stream\":{},\"refused_503\":{},\"closed\":{},\"requests\":{}}},\"connections\":[",
                t.cap(),
                t.open(),
                t.pending(),
                c.accepted,
                c.evicted_idle,
                c.evicted_peer_cap,
                c.evicted_stream,
                c.refused_503,
                c.closed,
                c.requests
            )?;
            for (i, ci) in t.connections(now).enumerate() {
                write!(
                    out,
                    "{}{{\"id\":\"{}\",\"peer\":\"{}\",\"state\":\"{}\",\"age_ms\":{},\"idle_ms\":{},\"requests\":{}}}",
                    if i > 0 { "," } else { "" },
                    ci.id,
                    ci.peer,
                    ci.state.name(),
                    ci.age_ms,
                    ci.idle_ms,
                    ci.requests
                )?;
            }
            out.write_str("]}")
        })
    }

    fn pool(&self, out: &mut Json) -> core::fmt::Result {
        let s = self.buffers.stats();
        write!(
            out,
            "{{\"placement\":\"{}\",\"chunks\":{},\"chunk_size\":{},\"allocated\":{},\"leased\":{},\"high_water\":{},\"waits\":{},\"timeouts\":{},\"alloc_failures\":{},\"in_internal\":{},\"in_external\":{},\"leases\":{}}}",
            self.buffers.config().placement.name(),
            s.chunks,
            s.chunk_size,
            s.allocated,
            s.leased,
            s.high_water,
            s.waits,
            s.timeouts,
            s.alloc_failures,
            s.in_internal,
            s.in_external,
            s.leases
        )
    }

    fn memory(&self, out: &mut Json) -> core::fmt::Result {
        out.write_str("{\"regions\":[")?;
        for (i, r) in [Region::Internal, Region::External].into_iter().enumerate() {
            let s = EspRegions.stats(r);
            write!(
                out,
                "{}{{\"region\":\"{}\",\"capacity\":{},\"used\":{},\"free\":{}}}",
                if i > 0 { "," } else { "" },
                r.name(),
                s.capacity,
                s.used,
                s.free
            )?;
        }
        out.write_str("]}")
    }
}

async fn json<T: Transport, E: Env>(
    ex: &mut Exchange<'_, T, E>,
    body: Result<Json, core::fmt::Error>,
) -> Result<(), ServeError<T::Error>> {
    match body {
        Ok(b) => {
            ex.respond(
                Status::OK,
                |h| {
                    h.header("Content-Type", "application/json")?;
                    h.header("Cache-Control", "no-store").map(drop)
                },
                b.as_bytes(),
            )
            .await
        }
        Err(_) => {
            ex.respond_text(Status::INTERNAL_SERVER_ERROR, "report too large\n")
                .await
        }
    }
}

fn render(f: impl FnOnce(&mut Json) -> core::fmt::Result) -> Result<Json, core::fmt::Error> {
    let mut out = Json::new();
    f(&mut out).map(|()| out)
}

impl Handler for App {
    type Upgrade = Events;

    async fn handle<T: Transport, E: Env>(
        &self,
        ex: &mut Exchange<'_, T, E>,
    ) -> Result<Reply<Events>, ServeError<T::Error>> {
        let path = ex.head().path;
        match path {
            "/api/status" => json(ex, render(|o| self.status(o))).await?,
            "/api/connections" => json(ex, render(|o| self.connections(o))).await?,
            "/api/pool" => json(ex, render(|o| self.pool(o))).await?,
            "/api/memory" => json(ex, render(|o| self.memory(o))).await?,
            "/api/events" => {
                ex.begin(Status::OK, ResponseLength::UntilClose, |h| {
                    h.header("Content-Type", "text/event-stream")?;
                    h.header("Cache-Control", "no-store").map(drop)
                })
                .await?;
                return Ok(Reply::Upgrade(Events));
            }
            _ => serve_asset(ex).await?,
        }
        Ok(Reply::Done)
    }
}

impl Streams<Events> for App {
    /// One `status` event a second until the client leaves. Each write counts as
    /// activity, and the table sees a stream, not an idle connection.
    async fn run(&self, _: Events, conn: &mut Connection<'_, '_>) {
        loop {
            let Ok(body) = render(|o| self.status(o)) else {
                return;
            };
            let sent = async {
                conn.write_all(b"event: status\ndata: ").await?;
                conn.write_all(body.as_bytes()).await?;
                conn.write_all(b"\n\n").await?;
                conn.flush().await
            };
            if embassy_time::with_timeout(Duration::from_secs(5), sent)
                .await
                .map_or(true, |r| r.is_err())
            {
                return;
            }
            Timer::after(Duration::from_secs(1)).await;
        }
    }
}

async fn serve_asset<T: Transport, E: Env>(
    ex: &mut Exchange<'_, T, E>,
) -> Result<(), ServeError<T::Error>> {
    // The same static serving as the host provider: negotiation, ETag, ranges, and 406
    // for gzip-only files to a client that refuses gzip.
    portico::server::serve_asset(ex, assets::ASSETS).await
}
