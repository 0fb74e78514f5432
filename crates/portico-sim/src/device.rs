//! The simulated device: an embassy-net stack on the simulated network, running the
//! device port's socket pool with a small dashboard-like site.

use core::net::Ipv4Addr;

use embassy_net::{Config, Ipv4Cidr, StackResources, StaticConfigV4};
use embassy_time::{with_timeout, Duration};
use embedded_io_async::{Read, Write};
use portico::conn::ConnState;
use portico::http::{HeadLimits, HeadWriter, RequestHead, Status};
use portico_embassy::{Connection, PortConfig, Service, SocketBuffers, SocketPool};

use crate::executor::Spawner;
use crate::net::Network;

/// The pages a simulated browser loads, with their sizes in bytes.
pub const SITE: &[(&str, usize)] = &[
    ("/", 1_800),
    ("/assets/app.js", 24_000),
    ("/assets/app.css", 4_000),
    ("/api/status", 400),
    ("/api/connections", 900),
    ("/favicon.svg", 700),
];

/// The resources a page load fetches, page first.
pub fn site_paths() -> Vec<&'static str> {
    SITE.iter().map(|(p, _)| *p).collect()
}

/// A minimal keep-alive request loop over [`Connection`], reporting states to the table.
///
/// Stands in for the core's request loop where the simulation needs only the
/// connection-level behaviour: idle between requests (evictable), head deadline, the
/// head and a body in one write.
pub struct SiteService {
    /// Idle keep-alive timeout.
    pub idle_timeout_ms: u64,
    /// Whole-head deadline.
    pub head_timeout_ms: u64,
}

impl Service for SiteService {
    async fn serve(&self, conn: &mut Connection<'_, '_>) {
        let mut buf = [0u8; 1024];
        let limits = HeadLimits::const_default();
        loop {
            let _ = conn.set_state(ConnState::Idle);
            // Wait for the first byte of the next request (idle, evictable).
            let mut len = match with_timeout(
                Duration::from_millis(self.idle_timeout_ms),
                conn.read(&mut buf),
            )
            .await
            {
                Ok(Ok(n)) if n > 0 => n,
                _ => return,
            };
            let _ = conn.set_state(ConnState::Head);
            let (path, keep_alive) = loop {
                match RequestHead::parse(&buf[..len], &limits) {
                    Ok(Some(h)) => break (h.path.to_string(), h.keep_alive),
                    Ok(None) if len < buf.len() => {}
                    _ => return,
                }
                match with_timeout(
                    Duration::from_millis(self.head_timeout_ms),
                    conn.read(&mut buf[len..]),
                )
                .await
                {
                    Ok(Ok(n)) if n > 0 => len += n,
                    _ => return,
                }
            };
            let size = SITE.iter().find(|(p, _)| *p == path).map(|(_, s)| *s);
            let _ = conn.set_state(ConnState::Response);
            if respond(conn, size, keep_alive).await.is_err() {
                return;
            }
            let _ = conn.request_done();
            if !keep_alive {
                return;
            }
        }
    }
}

async fn respond(
    conn: &mut Connection<'_, '_>,
    size: Option<usize>,
    keep_alive: bool,
) -> Result<(), embassy_net::tcp::Error> {
    const FILL: [u8; 512] = [b'x'; 512];
    let mut head = [0u8; 256];
    let status = if size.is_some() { Status::OK } else { Status::NOT_FOUND };
    let body = size.unwrap_or(0);
    let len = HeadWriter::new(&mut head, status)
        .and_then(|mut w| {
            w.header_fmt("Content-Length", format_args!("{body}"))?
                .header("Connection", if keep_alive { "keep-alive" } else { "close" })?;
            w.finish()
        })
        .unwrap_or(0);
    conn.write_all(&head[..len]).await?;
    let mut left = body;
    while left > 0 {
        let n = left.min(FILL.len());
        conn.write_all(&FILL[..n]).await?;
        left -= n;
    }
    conn.flush().await
}

/// Address of the simulated device.
pub const DEVICE_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

/// Starts the device: its stack runner and the socket pool serving [`SiteService`].
pub fn spawn_device<const N: usize, const RX: usize, const TX: usize>(
    spawner: &Spawner,
    net: &Network,
    config: PortConfig,
    seed: u64,
) -> &'static SocketPool<'static, N> {
    let dev = net.attach(DEVICE_IP);
    let resources: &'static mut StackResources<64> = Box::leak(Box::new(StackResources::new()));
    let (stack, mut runner) = embassy_net::new(dev, static_config(DEVICE_IP), resources, seed);
    spawner.spawn(async move {
        runner.run().await;
    });
    let pool: &'static SocketPool<'static, N> =
        Box::leak(Box::new(SocketPool::new(stack, config).expect("valid port config")));
    let buffers: &'static mut SocketBuffers<N, RX, TX> = Box::leak(Box::new(SocketBuffers::new()));
    let service = SiteService {
        idle_timeout_ms: config.policy.idle_timeout_ms,
        head_timeout_ms: config.policy.head_timeout_ms,
    };
    spawner.spawn(async move {
        pool.run(buffers, &service).await;
    });
    pool
}

/// A static /24 address configuration.
pub fn static_config(ip: Ipv4Addr) -> Config {
    Config::ipv4_static(StaticConfigV4 {
        address: Ipv4Cidr::new(ip, 24),
        gateway: None,
        dns_servers: Default::default(),
    })
}
