//! The simulated device: an embassy-net stack on the simulated network, running the
//! device port's socket pool with a small dashboard-like site.

use core::net::Ipv4Addr;

use embassy_net::{Config, Ipv4Cidr, Stack, StackResources, StaticConfigV4};
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use portico::http::Status;
use portico::placement::sim::SimHeap;
use portico::pool::Pool;
use portico::server::{Env, Exchange, Handler, Reply, ServeError, Transport};
use portico_embassy::{
    profile, Engine, HeldSyn, ListenGate, NoStreams, PoolResources, PortConfig, SocketBuffers,
    SocketPool, SynGate,
};

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

/// The simulated site: fixed-size bodies for the paths in [`SITE`], `/slow` answered
/// after `slow_ms` (a handler busy that long), 404 otherwise.
pub struct Site {
    /// How long `/slow` keeps its handler busy.
    pub slow_ms: u64,
}

static BODY: [u8; 32 * 1024] = [b'x'; 32 * 1024];

impl Handler for Site {
    type Upgrade = ();

    async fn handle<T: Transport, E: Env>(
        &self,
        ex: &mut Exchange<'_, T, E>,
    ) -> Result<Reply<()>, ServeError<T::Error>> {
        if ex.head().path == "/slow" {
            embassy_time::Timer::after_millis(self.slow_ms).await;
            ex.respond_text(Status::OK, "done").await?;
            return Ok(Reply::Done);
        }
        let size = SITE
            .iter()
            .find(|(p, _)| *p == ex.head().path)
            .map(|(_, s)| *s);
        match size {
            Some(n) => {
                ex.respond(
                    Status::OK,
                    |h| h.header("Content-Type", "text/plain").map(drop),
                    &BODY[..n],
                )
                .await?
            }
            None => ex.respond_text(Status::NOT_FOUND, "not found").await?,
        }
        Ok(Reply::Done)
    }
}

/// The device's request buffer pool, on a simulated two-region heap.
pub type SimPool = Pool<SimHeap, NoopRawMutex, 16, 64>;

/// Address of the simulated device.
pub const DEVICE_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

/// Starts the device: its stack runner and the socket pool serving [`Site`].
pub fn spawn_device<const N: usize, const RX: usize, const TX: usize>(
    spawner: &Spawner,
    net: &Network,
    config: PortConfig,
    seed: u64,
    slow_ms: u64,
) -> &'static SocketPool<'static> {
    // The device's RAM: 320 KiB internal, no PSRAM (an ESP32-C3).
    let heap = SimHeap::new(320 * 1024, 0);
    spawn_with::<N, RX, TX, _, _>(spawner, net, config, seed, heap, |_, _| {
        (Box::leak(Box::new(Site { slow_ms })), &NoStreams)
    })
}

/// Starts the device with the application `make` builds from the socket pool and the
/// request buffer pool (drawn from `heap`): its stack runner and the port's server.
pub fn spawn_with<const N: usize, const RX: usize, const TX: usize, H, S>(
    spawner: &Spawner,
    net: &Network,
    config: PortConfig,
    seed: u64,
    heap: SimHeap,
    make: impl FnOnce(&'static SocketPool<'static>, &'static SimPool) -> (&'static H, &'static S),
) -> &'static SocketPool<'static>
where
    H: Handler + 'static,
    S: portico_embassy::Streams<H::Upgrade> + 'static,
{
    let stack = spawn_device_stack(spawner, net, seed);
    serve_with::<N, RX, TX, H, S>(spawner, stack, config, heap, make)
}

/// The device's network: its embassy-net stack, and the gate its driver passes received
/// SYNs through (as on the firmware).
#[derive(Clone, Copy)]
pub struct DeviceStack {
    /// The stack.
    pub stack: Stack<'static>,
    /// Told by the socket pool whether a socket listens on the HTTP port.
    pub gate: &'static ListenGate,
}

/// The device's embassy-net stack at [`DEVICE_IP`], its runner spawned: for a test that
/// runs more than the HTTP server on it (the upstream link).
pub fn spawn_device_stack(spawner: &Spawner, net: &Network, seed: u64) -> DeviceStack {
    let gate: &'static ListenGate = Box::leak(Box::new(ListenGate::new(80)));
    // The ESP32-C3's SYN backlog, as on the firmware.
    let backlog = Box::leak(vec![HeldSyn::FREE; profile::ESP32C3.syn_backlog].into_boxed_slice());
    let dev = SynGate::with_backlog(net.attach(DEVICE_IP), gate, backlog);
    let resources: &'static mut StackResources<64> = Box::leak(Box::new(StackResources::new()));
    let (stack, mut runner) = embassy_net::new(dev, static_config(DEVICE_IP), resources, seed);
    spawner.spawn(async move {
        runner.run().await;
    });
    DeviceStack { stack, gate }
}

/// [`spawn_with`] on a stack already running.
pub fn serve_with<const N: usize, const RX: usize, const TX: usize, H, S>(
    spawner: &Spawner,
    device: DeviceStack,
    config: PortConfig,
    heap: SimHeap,
    make: impl FnOnce(&'static SocketPool<'static>, &'static SimPool) -> (&'static H, &'static S),
) -> &'static SocketPool<'static>
where
    H: Handler + 'static,
    S: portico_embassy::Streams<H::Upgrade> + 'static,
{
    let resources: &'static mut PoolResources<N> = Box::leak(Box::new(PoolResources::new()));
    let pool: &'static SocketPool<'static> = Box::leak(Box::new(
        SocketPool::gated(device.stack, config, resources, device.gate).expect("valid port config"),
    ));
    let buffers: &'static mut SocketBuffers<N, RX, TX> = Box::leak(Box::new(SocketBuffers::new()));
    let buffers_pool: &'static SimPool =
        Box::leak(Box::new(Pool::new(heap, profile::pool_config())));
    LAST_POOL.with(|p| p.set(Some(buffers_pool)));
    let (handler, streams) = make(pool, buffers_pool);
    let service: &'static _ = Box::leak(Box::new(Engine {
        handler,
        streams,
        buffers: buffers_pool,
    }));
    let run = pool.run(buffers, service);
    SERVER_FUTURE_BYTES.with(|b| b.set(core::mem::size_of_val(&run)));
    spawner.spawn(async move {
        run.await;
    });
    pool
}

thread_local! {
    /// Size of the last device server future spawned on this thread (all sockets' state
    /// machines): on the device this is static RAM.
    pub static SERVER_FUTURE_BYTES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The request buffer pool of the last device spawned on this thread.
pub fn last_buffer_pool() -> Option<&'static SimPool> {
    LAST_POOL.with(|p| p.get())
}

thread_local! {
    static LAST_POOL: std::cell::Cell<Option<&'static SimPool>> = const { std::cell::Cell::new(None) };
}

/// A static /24 address configuration.
pub fn static_config(ip: Ipv4Addr) -> Config {
    Config::ipv4_static(StaticConfigV4 {
        address: Ipv4Cidr::new(ip, 24),
        gateway: None,
        dns_servers: Default::default(),
    })
}

/// Starts an embassy-net stack for another node at `ip` (the upstream server, a browser;
/// a socket table of 16) and its runner.
pub fn spawn_stack(spawner: &Spawner, net: &Network, ip: Ipv4Addr, seed: u64) -> Stack<'static> {
    let slots: &'static mut StackResources<16> = Box::leak(Box::new(StackResources::new()));
    let (stack, mut runner) = embassy_net::new(net.attach(ip), static_config(ip), slots, seed);
    spawner.spawn(async move { runner.run().await });
    stack
}
