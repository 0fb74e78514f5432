//! picoserve on embassy-net over a Linux TAP: the device-stack bench's peer
//! (`scripts/bench-device.sh`).
//!
//! The same TAP driver and link wrapper as `provider --stack device`
//! (`portico_tap::link::Emulated` over `embassy-net-tuntap`), the same embassy-net, and
//! the profile's numbers: one task per socket of the profile's HTTP
//! pool, each socket with the profile's receive and transmit buffers, each task with a
//! request buffer of the profile's request-buffer size. It serves a directory's files
//! (the provider's page and assets, fetched into it by `device-bench`) and a small JSON
//! `/api/status`, configured as `pico-server` is: keep-alive on, a 30 s idle timeout,
//! Nagle's algorithm off on every accepted socket.
//!
//! What it does not get from Portico: the SYN gate (a SYN that finds no listening socket
//! is reset by smoltcp, as a user of picoserve on embassy-net sees it), admission and
//! eviction, and the shared buffer pool (each task owns its buffer, as in picoserve's
//! examples).

use std::future::Future;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use clap::Parser;
use embassy_net::tcp::TcpSocket;
use embassy_net::{Config as NetConfig, Ipv4Cidr, Stack, StackResources, StaticConfigV4};
use embassy_net_tuntap::TunTapDevice;
use picoserve::io::Write;
use picoserve::response::Content;
use picoserve::routing::{get, get_service, PathRouter};
use picoserve::time::Duration;
use picoserve::{Config, Router, Timeouts};
use portico_bench::docroot::{index, load_dir};
use portico_tap::link::{Emulated, LinkConfig};
use portico_tap::profile::{Profile, ESP32C3, ESP32S3};

#[derive(Debug, Parser)]
#[command(
    about = "picoserve on embassy-net over a TAP, with a device profile's sockets and buffers (bench peer)"
)]
struct Args {
    /// An existing TAP interface (`scripts/device-tap.sh up` makes one).
    #[arg(long, default_value = "portico0")]
    tap: String,
    /// The device's address and prefix on the TAP's network.
    #[arg(long, default_value = "10.42.0.2/24")]
    device_addr: String,
    /// The chip whose sockets and buffers to use: esp32s3 or esp32c3.
    #[arg(long, default_value = "esp32s3")]
    profile: String,
    /// HTTP port.
    #[arg(long, default_value_t = 80)]
    port: u16,
    /// Directory to serve (`/` is its index.html).
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// Idle keep-alive timeout in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    idle_timeout_ms: u64,
    /// Emulated link: one-way delay in milliseconds.
    #[arg(long, default_value_t = 0)]
    link_delay_ms: u64,
    /// Emulated link: frame loss in percent, each direction.
    #[arg(long, default_value_t = 0.0)]
    link_loss: f64,
    /// Emulated link: rate in kbit/s (0 = unlimited).
    #[arg(long, default_value_t = 0)]
    link_kbps: u64,
}

/// What `/api/status` reports as the platform.
const PLATFORM: &str = "pc-device-stack-picoserve";

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let fail = |msg: String| {
        eprintln!("pico-device: {msg}");
        std::process::ExitCode::from(2)
    };
    let Some(profile) = Profile::by_name(&args.profile) else {
        return fail(format!(
            "--profile must be esp32s3 or esp32c3; got {:?}",
            args.profile
        ));
    };
    let address = match parse_cidr(&args.device_addr) {
        Ok(a) => a,
        Err(e) => return fail(e),
    };
    if !(0.0..=100.0).contains(&args.link_loss) {
        return fail(format!(
            "--link-loss is a percentage (0-100); got {}",
            args.link_loss
        ));
    }
    let dir = match load_dir(&args.root) {
        Ok(d) => d,
        Err(e) => return fail(format!("cannot read {}: {e}", args.root.display())),
    };
    let page = index(&dir);
    let started = std::time::Instant::now();
    let app: &'static Router<_> = Box::leak(Box::new(
        Router::from_service(dir)
            .route("/", get_service(page))
            .route(
                "/api/status",
                get(move || async move { Status::new(profile, started) }),
            ),
    ));
    let config: &'static Config = Box::leak(Box::new(
        Config::new(Timeouts {
            start_read_request: Duration::from_secs(5),
            persistent_start_read_request: Duration::from_millis(args.idle_timeout_ms),
            read_request: Duration::from_secs(3),
            write: Duration::from_secs(5),
        })
        .keep_connection_alive(),
    ));
    let link = LinkConfig {
        delay_ms: args.link_delay_ms,
        loss_percent: args.link_loss,
        kbps: args.link_kbps,
        seed: 1,
    };
    let server = Server {
        app,
        config,
        profile,
        address,
        port: args.port,
    };
    let tap = match TunTapDevice::new(&args.tap) {
        Ok(t) => t,
        Err(e) => return fail(format!("cannot open TAP interface `{}`: {e}", args.tap)),
    };
    println!(
        "picoserve device stack ({}) on {}: http://{}:{}/",
        profile.name,
        args.tap,
        address.address(),
        args.port
    );
    // The socket count sizes arrays, so each profile is its own instance.
    match profile.name {
        n if n == ESP32C3.name => {
            server.run::<{ ESP32C3.stack_sockets }, { ESP32C3.sockets }>(Emulated::new(tap, link))
        }
        _ => server.run::<{ ESP32S3.stack_sockets }, { ESP32S3.sockets }>(Emulated::new(tap, link)),
    }
}

/// The server's fixed parts, shared by every task.
struct Server<P: PathRouter + 'static> {
    app: &'static Router<P>,
    config: &'static Config,
    profile: Profile,
    address: Ipv4Cidr,
    port: u16,
}

impl<P: PathRouter + 'static> Server<P> {
    /// `S` sockets in the stack (the profile's), `N` serving tasks (its HTTP pool).
    fn run<const S: usize, const N: usize>(&self, device: Emulated<TunTapDevice>) -> ! {
        let resources: &'static mut StackResources<S> = Box::leak(Box::new(StackResources::new()));
        let net = NetConfig::ipv4_static(StaticConfigV4 {
            address: self.address,
            gateway: None,
            dns_servers: Default::default(),
        });
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        let (stack, mut runner) = embassy_net::new(device, net, resources, seed);
        // One thread, like the device's executor (and `provider --stack device`), each
        // socket its own task as in picoserve's examples (an embassy task per socket):
        // with one waker for everything, every socket access woke every future and the
        // stack spun at a full core. `block_on` also drives the reactor that wakes the
        // stack when the TAP has a frame.
        let executor = async_executor::LocalExecutor::new();
        let mut tasks: Vec<_> = (0..N).map(|_| executor.spawn(self.task(stack))).collect();
        tasks.push(executor.spawn(async move {
            runner.run().await;
        }));
        async_io::block_on(executor.run(async {
            for task in tasks {
                task.await;
            }
        }));
        unreachable!("the stack and the serving tasks never return")
    }

    /// One socket's task: its buffers live in the future, as in picoserve's examples.
    fn task(&self, stack: Stack<'static>) -> impl Future<Output = ()> + '_ {
        let p = self.profile;
        async move {
            let mut rx = vec![0u8; p.rx];
            let mut tx = vec![0u8; p.tx];
            let mut request = vec![0u8; p.chunk_size];
            // `listen_and_serve`'s loop, plus Nagle off, as Portico's device port and
            // `pico-server` have it.
            loop {
                let mut socket = TcpSocket::new(stack, &mut rx, &mut tx);
                if socket.accept(self.port).await.is_err() {
                    continue;
                }
                socket.set_nagle_enabled(false);
                // What `listen_and_serve` sets.
                socket.set_keep_alive(Some(embassy_time::Duration::from_secs(30)));
                socket.set_timeout(Some(embassy_time::Duration::from_secs(45)));
                let _ = picoserve::Server::new(self.app, self.config, &mut request)
                    .serve(socket)
                    .await;
            }
        }
    }
}

/// `/api/status`: a small JSON document, as the provider's status is one.
struct Status(String);

impl Status {
    fn new(p: Profile, started: std::time::Instant) -> Status {
        Status(format!(
            "{{\"platform\":\"{PLATFORM}\",\"uptime_ms\":{},\"config\":{{\"profile\":\"{}\",\"sockets\":{},\"socket_rx\":{},\"socket_tx\":{},\"http_buffer\":{}}}}}",
            started.elapsed().as_millis(),
            p.name,
            p.sockets,
            p.rx,
            p.tx,
            p.chunk_size
        ))
    }
}

impl Content for Status {
    fn content_type(&self) -> &'static str {
        "application/json"
    }

    fn content_length(&self) -> usize {
        self.0.len()
    }

    async fn write_content<W: Write>(self, mut writer: W) -> Result<(), W::Error> {
        writer.write_all(self.0.as_bytes()).await
    }
}

/// `A.B.C.D/P` as the device's address and prefix.
fn parse_cidr(s: &str) -> Result<Ipv4Cidr, String> {
    let bad = || {
        format!("--device-addr must be an IPv4 address with a prefix, like 10.42.0.2/24; got {s:?}")
    };
    let (addr, prefix) = s.split_once('/').ok_or_else(bad)?;
    let addr: Ipv4Addr = addr.parse().map_err(|_| bad())?;
    let prefix: u8 = prefix.parse().map_err(|_| bad())?;
    if !(1..=30).contains(&prefix) || addr.is_unspecified() || addr.is_broadcast() {
        return Err(bad());
    }
    Ok(Ipv4Cidr::new(addr, prefix))
}
