//! Assembly: the TAP, the link emulation, the embassy-net stack, the profile's socket
//! pool and request buffers, the application — then one thread runs it all.

use std::fmt;
use std::net::Ipv4Addr;

use embassy_net::{Config, Ipv4Cidr, StackResources, StaticConfigV4};
use embassy_net_tuntap::TunTapDevice;
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use portico::assets::Asset;
use portico::guard::{HostPolicy, Secrets};
use portico::placement::sim::{SimCharge, SimHeap};
use portico::pool::Pool;
use portico_app::embassy::{serve_app, LinkReport, Network, PortDevice, PortResources};
use portico_app::Provider;
use portico_embassy::mdns::{self, MdnsBuffers};
use portico_embassy::profile::{Profile, ESP32C3, ESP32S3};
use portico_embassy::{HeldSyn, ListenGate, PoolResources, SocketBuffers, SocketPool, SynGate};

use crate::link::{Emulated, LinkConfig};
use crate::upstream;

/// What `/api/status` reports as the platform: the device port on a PC, not a chip.
pub const PLATFORM: &str = "pc-device-stack";

/// The device stack's settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// An existing TAP interface (`scripts/device-tap.sh up` makes one).
    pub tap: String,
    /// The device's address and prefix on the TAP's network.
    pub address: Ipv4Cidr,
    /// HTTP port.
    pub port: u16,
    /// The chip whose numbers the stack runs with.
    pub profile: Profile,
    /// What the emulated link does to frames.
    pub link: LinkConfig,
    /// Delay before every `/api/*` answer (UI tests).
    pub api_delay: portico::time::Duration,
    /// The `Host` names answered (`--allowed-host`).
    pub allowed_hosts: HostPolicy<'static>,
    /// The password hash and token key (`--password-file`), as the device would store
    /// them; `None` leaves the dashboard open.
    pub secrets: Option<Secrets<'static>>,
    /// The upstream WebSocket link's URL (`--upstream`): `ws://` or `wss://`, with an IP
    /// address (the device stack has no DNS server to ask).
    pub upstream: Option<String>,
    /// The CA certificates a `wss://` upstream is checked against (`--upstream-ca`),
    /// DER, one after the other; the verifier tries each. `None` refuses `wss://`.
    pub upstream_ca: Option<Vec<u8>>,
}

impl Options {
    /// The dashboard's URL.
    pub fn url(&self) -> String {
        match self.port {
            80 => format!("http://{}/", self.address.address()),
            p => format!("http://{}:{p}/", self.address.address()),
        }
    }
}

/// Why the stack could not start.
#[derive(Debug)]
pub enum StartError {
    /// The TAP could not be opened (missing, owned by another user, no `/dev/net/tun`).
    Tap(String, std::io::Error),
    /// The profile's socket buffers fit in no region of its memory.
    SocketMemory(usize),
    /// The upstream link's socket buffers fit in no region of its memory.
    LinkMemory,
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Tap(name, e) => write!(
                f,
                "cannot open TAP interface `{name}`: {e} (create it with `scripts/device-tap.sh up {name}`)"
            ),
            StartError::SocketMemory(n) => {
                write!(f, "{n} bytes of socket buffers fit in no memory region")
            }
            StartError::LinkMemory => {
                f.write_str("the upstream link's socket buffers fit in no memory region")
            }
        }
    }
}

impl std::error::Error for StartError {}

/// Opens the TAP and serves on it forever; returns only if it cannot start. `ready` is
/// called once the stack is assembled, before serving (to print the URL).
pub fn run(
    options: &Options,
    assets: &'static [Asset],
    ready: impl FnOnce(),
) -> Result<std::convert::Infallible, StartError> {
    let tap =
        TunTapDevice::new(&options.tap).map_err(|e| StartError::Tap(options.tap.clone(), e))?;
    let device = Emulated::new(tap, options.link);
    // The profile's numbers size arrays, so each profile is its own instance.
    match options.profile.name {
        n if n == ESP32C3.name => serve::<
            { ESP32C3.stack_sockets },
            { ESP32C3.stack_sockets + EXTRA_SOCKETS },
            { ESP32C3.sockets },
            { ESP32C3.rx },
            { ESP32C3.tx },
            { ESP32C3.chunks },
        >(options, device, assets, ready),
        _ => serve::<
            { ESP32S3.stack_sockets },
            { ESP32S3.stack_sockets + EXTRA_SOCKETS },
            { ESP32S3.sockets },
            { ESP32S3.rx },
            { ESP32S3.tx },
            { ESP32S3.chunks },
        >(options, device, assets, ready),
    }
}

/// The device's state for the application: as the firmware's, on a simulated heap with
/// the profile's internal SRAM and PSRAM.
type TapDevice<const P: usize> =
    PortDevice<'static, PortResources<'static, SimHeap, NoopRawMutex, P, 64>>;

/// Sockets the stack has besides the profile's: the mDNS responder's (UDP) and the
/// upstream link's (TCP), as the firmware adds them.
const EXTRA_SOCKETS: usize = 2;

/// The name the device answers to by mDNS: `portico.local`, one of the `Host` names the
/// allowlist takes by default.
pub const MDNS_NAME: &str = "portico";

/// `S` TCP sockets in the stack (the profile's), `R` in all (`S` + [`EXTRA_SOCKETS`]).
fn serve<
    const S: usize,
    const R: usize,
    const N: usize,
    const RX: usize,
    const TX: usize,
    const P: usize,
>(
    options: &Options,
    device: Emulated<TunTapDevice>,
    assets: &'static [Asset],
    ready: impl FnOnce(),
) -> Result<std::convert::Infallible, StartError> {
    let profile = options.profile;
    let config = Config::ipv4_static(StaticConfigV4 {
        address: options.address,
        gateway: None,
        dns_servers: Default::default(),
    });
    // Everything below lives as long as the process: `static` on the firmware.
    let resources: &'static mut StackResources<R> = Box::leak(Box::new(StackResources::new()));
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    // As on the firmware: a SYN that finds no listening socket waits in the profile's
    // backlog (or, past it, is dropped and the client retransmits), never reset.
    let gate: &'static ListenGate = Box::leak(Box::new(ListenGate::new(options.port)));
    let backlog = Box::leak(vec![HeldSyn::FREE; profile.syn_backlog].into_boxed_slice());
    let device = SynGate::with_backlog(device, gate, backlog);
    let (stack, mut runner) = embassy_net::new(device, config, resources, seed);

    let heap = SimHeap::new(profile.internal_ram, profile.psram);
    // Socket buffers: a static array where the profile says so (charged to no heap, as
    // on the firmware), otherwise charged to the heap by the profile's placement, so
    // `/api/memory` shows where they went (a PSRAM miss counts as its failure).
    let _charge = charge_socket_buffers(&heap, &profile)?;
    let buffers: &'static mut SocketBuffers<N, RX, TX> = Box::leak(Box::new(SocketBuffers::new()));
    let mut port = profile.config();
    port.port = options.port;
    // Every response, the core's own 4xx/5xx and 503 included, carries the application's
    // security headers. No `Date`: the emulated device has no SNTP, like the firmware.
    port.server.headers = portico_app::security::HEADERS;
    let resources: &'static mut PoolResources<N> = Box::leak(Box::new(PoolResources::new()));
    let sockets: &'static SocketPool<'static> = Box::leak(Box::new(
        SocketPool::gated(stack, port, resources, gate).expect("profiles leave sockets listening"),
    ));
    let pool: &'static Pool<SimHeap, NoopRawMutex, P, 64> =
        Box::leak(Box::new(Pool::new(heap.clone(), profile.pool_config())));
    let url: &'static str = options.upstream.clone().map_or("", |u| u.leak());
    let link = match &options.upstream {
        Some(_) => Some(upstream::setup(
            stack,
            &heap,
            url,
            options.upstream_ca.clone(),
        )?),
        None => None,
    };
    let app: &'static Provider<TapDevice<P>> = Box::leak(Box::new(Provider::new(
        PortDevice {
            resources: PortResources {
                sockets,
                buffers: pool,
                memory: heap.clone(),
            },
            platform: PLATFORM,
            network: Network {
                mode: "tap",
                address: Ipv4Addr::from(options.address.address().octets()),
            },
            stack_sockets: S,
            upstream: link.map(|_| url),
            link: link.map(|l| l.link as &dyn LinkReport),
            api_delay: options.api_delay,
            allowed_hosts: options.allowed_hosts,
            secrets: options.secrets,
        },
        assets,
    )));
    ready();
    // One thread, like the device's executor.
    let upstream_link = async {
        if let Some(l) = link {
            upstream::run(l, app, heap.clone()).await;
        }
        core::future::pending::<()>().await
    };
    let mdns_buffers: &'static mut MdnsBuffers = Box::leak(Box::new(MdnsBuffers::new()));
    let mdns = async {
        // The dashboard still answers at its address without a name.
        let Err(e) = mdns::respond(stack, MDNS_NAME, mdns_buffers).await;
        eprintln!("warning: no mDNS name: {e}");
        core::future::pending::<()>().await
    };
    // Each its own task, as on the firmware's executor: a future woken by another's
    // poll (every socket access wakes the stack's runner) is the only one polled again.
    // Under one `block_on` waker, that wake re-polled all of them, and the device stack
    // spun at a full core with no client.
    let tasks = async_executor::LocalExecutor::new();
    let spawned = [
        tasks.spawn(async move {
            runner.run().await;
        }),
        tasks.spawn(async move {
            serve_app(app, buffers).await;
        }),
        tasks.spawn(async move {
            mdns.await;
        }),
        tasks.spawn(async move {
            upstream_link.await;
        }),
    ];
    // `block_on` also drives the reactor that wakes the stack when the TAP has a frame.
    // The tasks never end: waiting on the first is waiting forever.
    async_io::block_on(tasks.run(async {
        for task in spawned {
            task.await;
        }
    }));
    unreachable!("the stack, the pool, mDNS and the link run forever")
}

/// Charges the socket buffers and the SYN backlog (both touched only by the network
/// stack) to the heap by the profile's placement.
fn charge_socket_buffers(
    heap: &SimHeap,
    profile: &Profile,
) -> Result<Option<SimCharge>, StartError> {
    let Some(placement) = profile.socket_placement else {
        return Ok(None);
    };
    let size = profile.socket_bytes() + profile.syn_backlog_bytes();
    placement
        .order()
        .iter()
        .find_map(|&r| heap.charge(r, size).ok())
        .map(Some)
        .ok_or(StartError::SocketMemory(size))
}

#[cfg(test)]
mod tests {
    use portico::placement::{MemoryRegions, Region};

    use super::*;

    #[test]
    fn socket_buffers_go_to_psram_first_and_fall_back_to_internal_visibly() {
        let s3 = ESP32S3;
        let heap = SimHeap::new(s3.internal_ram, s3.psram);
        let _held = charge_socket_buffers(&heap, &s3).unwrap();
        assert_eq!(
            heap.stats(Region::External).used,
            s3.socket_bytes() + s3.syn_backlog_bytes()
        );
        assert_eq!(heap.stats(Region::Internal).used, 0);

        // An S3 module without PSRAM: the buffers land in internal SRAM, and the miss
        // shows as a failure of the external region.
        let heap = SimHeap::new(s3.internal_ram, 0);
        let _held = charge_socket_buffers(&heap, &s3).unwrap();
        assert_eq!(
            heap.stats(Region::Internal).used,
            s3.socket_bytes() + s3.syn_backlog_bytes()
        );
        assert_eq!(heap.stats(Region::External).failures, 1);

        // Nowhere to put them: a start-up error, not a panic.
        let heap = SimHeap::new(1024, 0);
        assert!(matches!(
            charge_socket_buffers(&heap, &s3),
            Err(StartError::SocketMemory(n)) if n == s3.socket_bytes() + s3.syn_backlog_bytes()
        ));
    }

    #[test]
    fn the_c3_keeps_its_socket_buffers_static() {
        let heap = SimHeap::new(ESP32C3.internal_ram, 0);
        assert!(charge_socket_buffers(&heap, &ESP32C3).unwrap().is_none());
        assert_eq!(heap.stats(Region::Internal).used, 0);
    }

    #[test]
    fn the_url_names_the_port_only_when_not_80() {
        let mut o = Options {
            tap: "portico0".into(),
            address: Ipv4Cidr::new(Ipv4Addr::new(10, 42, 0, 2), 24),
            port: 80,
            profile: ESP32S3,
            link: LinkConfig::default(),
            api_delay: portico::time::Duration::ZERO,
            allowed_hosts: HostPolicy::default(),
            secrets: None,
            upstream: None,
            upstream_ca: None,
        };
        assert_eq!(o.url(), "http://10.42.0.2/");
        o.port = 8080;
        assert_eq!(o.url(), "http://10.42.0.2:8080/");
    }
}
