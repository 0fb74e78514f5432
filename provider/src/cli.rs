//! Command line: the device's limits, with the device's defaults.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use portico::conn::{Budget, BudgetError, Policy};
use portico::placement::Placement;
use portico::pool::PoolConfig;
use portico::server::{ServerConfig, Timeouts};
use portico::time::Duration;
use portico_tokio::ServerOptions;

pub use portico_tokio::DEFAULT_INTERNAL_RAM;

/// Portico provider: serves the device dashboard and API with the device's limits.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
pub struct Cli {
    /// Which TCP stack serves: `host` (the kernel's, through tokio) or `device` (the
    /// device port and the firmware's application on an embassy-net stack over a TAP
    /// interface: see --tap, --profile, --device-addr and the --link-* flags).
    #[arg(long, value_enum, default_value_t = Stack::Host)]
    pub stack: Stack,
    /// Address to listen on [default: 127.0.0.1:8080]. With --stack device only its
    /// port is used (default 80); the address is --device-addr.
    #[arg(long)]
    pub bind: Option<SocketAddr>,
    /// --stack device: an existing TAP interface to attach the device's stack to
    /// (`scripts/device-tap.sh up IFACE` creates one owned by you).
    #[arg(long, default_value = "portico0")]
    pub tap: String,
    /// --stack device: the device's address and prefix on the TAP's network.
    #[arg(long, default_value = "10.42.0.2/24")]
    pub device_addr: String,
    /// --stack device: the chip whose sockets, buffers, pool and RAM regions the device
    /// stack runs with (the host flags for those do not apply).
    #[arg(long, value_enum, default_value_t = ProfileName::Esp32s3)]
    pub profile: ProfileName,
    /// --stack device: one-way delay the emulated link adds to every frame, in ms.
    #[arg(long, default_value_t = 0)]
    pub link_delay_ms: u64,
    /// --stack device: share of frames the emulated link loses, in percent (0-100).
    #[arg(long, default_value_t = 0.0)]
    pub link_loss: f64,
    /// --stack device: the emulated link's rate in kbit/s (0 = unlimited).
    #[arg(long, default_value_t = 0)]
    pub link_kbps: u64,
    /// HTTP sockets the server may hold open (the cap of the connection table).
    #[arg(long, default_value_t = 24)]
    pub max_sockets: usize,
    /// Sockets in the (simulated) TCP stack; the rest after HTTP and the backlog is kept
    /// for the stack and outbound links.
    #[arg(long, default_value_t = 32)]
    pub stack_sockets: usize,
    /// Never evict idle keep-alive connections when full (ESP-IDF's default behaviour).
    #[arg(long)]
    pub no_lru_purge: bool,
    /// Also evict event streams when full (after every idle connection).
    #[arg(long)]
    pub evict_streams: bool,
    /// Connections per client address above which its own idle ones are evicted first.
    #[arg(long, default_value_t = 8)]
    pub per_peer_cap: usize,
    /// I/O buffers in the pool (chunks are allocated on first use).
    #[arg(long, default_value_t = 10)]
    pub pool_buffers: usize,
    /// Bytes per pool buffer.
    #[arg(long, default_value_t = 4096)]
    pub pool_chunk: usize,
    /// Internal RAM budget in bytes.
    #[arg(long, default_value_t = DEFAULT_INTERNAL_RAM)]
    pub internal_ram: usize,
    /// External PSRAM budget in bytes (0 = no PSRAM).
    #[arg(long, default_value_t = 0)]
    pub psram: usize,
    /// WebSocket URL (ws:// or wss://) of the upstream link.
    #[arg(long)]
    pub upstream: Option<String>,
    /// PEM file of a CA to trust for a wss:// upstream (a private server, a test CA), in
    /// addition to the bundled Mozilla roots; several certificates (a bundle) are each
    /// trusted. With --stack device it is the only trust (the device has no root store).
    #[arg(long, value_name = "FILE")]
    pub upstream_ca: Option<std::path::PathBuf>,
    /// Delay every /api/* answer by this many milliseconds (demos, UI tests).
    #[arg(long, default_value_t = 0)]
    pub api_delay_ms: u64,
    /// Whole request head deadline, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    pub head_timeout_ms: u64,
    /// Idle keep-alive timeout, in milliseconds (advertised with Keep-Alive: timeout=).
    #[arg(long, default_value_t = 10_000)]
    pub idle_timeout_ms: u64,
    /// How long a newcomer waits for a socket or buffer before it gets 503, in ms.
    #[arg(long, default_value_t = 2000)]
    pub queue_timeout_ms: u64,
    /// Where request buffers come from: `pool` (the design) or `per-request` (allocate
    /// and free one per request: the baseline the pool benchmark compares against).
    #[arg(long, value_enum, default_value_t = Buffers::Pool)]
    pub buffers: Buffers,
    /// Another name the dashboard answers to (repeatable), besides IP literals,
    /// `localhost` and `portico.local`; requests for other names get 421 (DNS-rebinding
    /// defence). `--allowed-host '*'` turns the check off.
    #[arg(long = "allowed-host", value_name = "NAME")]
    pub allowed_hosts: Vec<String>,
    /// Require a login: the file holds the password (one line). Without it the
    /// dashboard and API are open to anyone who can reach them.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
}

/// `--stack` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Stack {
    /// The kernel's TCP stack through the tokio port.
    Host,
    /// The device port on an embassy-net stack over a TAP interface.
    Device,
}

/// `--profile` values (`portico_embassy::profile`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProfileName {
    /// ESP32-S3 with 8 MB PSRAM: 32 stack sockets, 24 for HTTP, 10 x 4 KiB buffers.
    Esp32s3,
    /// ESP32-C3: 18 stack sockets, 14 for HTTP (8 admitted), 6 x 4 KiB buffers.
    Esp32c3,
}

/// Default `--bind` of the host stack.
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";

/// `--buffers` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Buffers {
    Pool,
    PerRequest,
}

/// What the application itself needs from the command line.
#[derive(Debug, Clone)]
pub struct Settings {
    pub bind: SocketAddr,
    pub upstream: Option<String>,
    /// The `--upstream-ca` file's PEM, read and checked by [`Cli::upstream_ca_pem`].
    pub upstream_ca: Option<Vec<u8>>,
    pub api_delay: Duration,
    /// `None`: `--allowed-host '*'`, every name is answered.
    pub allowed_hosts: Option<Vec<String>>,
}

impl Cli {
    /// The host stack's listen address.
    pub fn bind(&self) -> SocketAddr {
        self.bind
            .unwrap_or_else(|| DEFAULT_BIND.parse().expect("a valid default"))
    }

    /// The device stack's settings, checked.
    pub fn device_options(&self) -> Result<portico_tap::Options, String> {
        let address = parse_cidr(&self.device_addr)?;
        let port = match self.bind {
            None => 80,
            Some(b) if b.ip().is_unspecified() || b.ip().is_loopback() || b.ip() == address.address() => b.port(),
            Some(b) => {
                return Err(format!(
                    "--bind {b}: on the device stack --bind gives only the port; the address is --device-addr ({})",
                    address.address()
                ))
            }
        };
        if port == 0 {
            return Err("--bind: the device stack needs a fixed port, not 0".into());
        }
        if !(0.0..=100.0).contains(&self.link_loss) {
            return Err(format!(
                "--link-loss must be a percentage (0-100), got {}",
                self.link_loss
            ));
        }
        self.check_upstream_url()?;
        let upstream_ca = self.upstream_ca_der()?;
        if upstream_ca.is_none()
            && self
                .upstream
                .as_deref()
                .is_some_and(|u| u.starts_with("wss://"))
        {
            return Err(
                "--upstream wss://… on --stack device needs --upstream-ca FILE: the device carries no root store"
                    .into(),
            );
        }
        let profile = match self.profile {
            ProfileName::Esp32s3 => portico_tap::profile::ESP32S3,
            ProfileName::Esp32c3 => portico_tap::profile::ESP32C3,
        };
        Ok(portico_tap::Options {
            tap: self.tap.clone(),
            address,
            port,
            profile,
            link: portico_tap::LinkConfig {
                delay_ms: self.link_delay_ms,
                loss_percent: self.link_loss,
                kbps: self.link_kbps,
                seed: std::process::id().into(),
            },
            api_delay: Duration::from_millis(self.api_delay_ms),
            upstream: self.upstream.clone(),
            upstream_ca,
            allowed_hosts: portico::guard::HostPolicy::default(),
            secrets: None,
        })
    }

    /// One line on what the device stack runs with.
    pub fn device_summary(o: &portico_tap::Options) -> String {
        let p = &o.profile;
        let link = if o.link.is_perfect() {
            "no link emulation".to_string()
        } else {
            format!(
                "link {} ms one way, {} % loss, {}",
                o.link.delay_ms,
                o.link.loss_percent,
                match o.link.kbps {
                    0 => "unlimited rate".to_string(),
                    k => format!("{k} kbit/s"),
                }
            )
        };
        format!(
            "profile {}: {} HTTP sockets ({} admitted) of {} in the stack, sockets {} B rx + {} B tx, pool {} x {} B, internal RAM {} B, PSRAM {} B; {link}",
            p.name, p.sockets, p.cap, p.stack_sockets, p.rx, p.tx, p.chunks, p.chunk_size, p.internal_ram, p.psram
        )
    }

    pub fn options(&self) -> Result<ServerOptions, String> {
        let budget = Budget::new(self.stack_sockets, self.max_sockets).map_err(
            |e: BudgetError| match e {
                BudgetError::NoHttpSockets => "--max-sockets must be at least 1".to_string(),
                BudgetError::Overcommitted { .. } => {
                    format!("{e} (raise --stack-sockets or lower --max-sockets)")
                }
            },
        )?;
        if budget.max_sockets > portico_tokio::TABLE_SLOTS {
            return Err(format!(
                "--max-sockets {} exceeds the host table's {} slots",
                budget.max_sockets,
                portico_tokio::TABLE_SLOTS
            ));
        }
        if !(1..=64).contains(&self.pool_buffers) {
            return Err("--pool-buffers must be between 1 and 64".into());
        }
        if !(1024..=65536).contains(&self.pool_chunk) {
            return Err("--pool-chunk must be between 1024 and 65536 bytes".into());
        }
        self.check_upstream_url()?;
        self.upstream_ca_pem()?;
        let policy = Policy {
            lru_purge: !self.no_lru_purge,
            evict_streams: self.evict_streams,
            per_peer_cap: self.per_peer_cap.max(1),
            ..Policy::default()
        };
        let mut server = ServerConfig {
            timeouts: Timeouts {
                head: Duration::from_millis(self.head_timeout_ms),
                idle: Duration::from_millis(self.idle_timeout_ms),
                queue: Duration::from_millis(self.queue_timeout_ms),
                ..Timeouts::default()
            },
            headers: portico_app::security::HEADERS,
            wall_clock: portico_tokio::wall_clock,
            ..ServerConfig::default()
        };
        // Leave a quarter of each buffer (at least 512 B) for the response head.
        server.response_reserve = (self.pool_chunk / 4).max(512);
        Ok(ServerOptions {
            budget,
            policy,
            server,
            pool: PoolConfig {
                chunks: self.pool_buffers,
                chunk_size: self.pool_chunk,
                placement: Placement::PreferInternal,
            },
            internal_ram: self.internal_ram,
            psram: self.psram,
            conn_state_bytes: portico_tokio::CONN_STATE_BYTES,
            buffers: match self.buffers {
                Buffers::Pool => portico_tokio::BufferStrategy::Pool,
                Buffers::PerRequest => portico_tokio::BufferStrategy::PerRequest,
            },
        })
    }

    fn check_upstream_url(&self) -> Result<(), String> {
        match &self.upstream {
            Some(u) if !(u.starts_with("ws://") || u.starts_with("wss://")) => Err(format!(
                "--upstream must be a ws:// or wss:// URL, got {u:?}"
            )),
            _ => Ok(()),
        }
    }

    /// The `--upstream-ca` file for the device stack: every certificate in it (a bundle
    /// may hold several), DER, one after the other — what the device's verifier tries
    /// in turn.
    pub fn upstream_ca_der(&self) -> Result<Option<Vec<u8>>, String> {
        use rustls_pki_types::pem::PemObject;
        let Some(pem) = self.upstream_ca_pem()? else {
            return Ok(None);
        };
        let path = self.upstream_ca.as_ref().map(|p| p.display());
        let mut der = Vec::new();
        for cert in rustls_pki_types::CertificateDer::pem_slice_iter(&pem) {
            let cert =
                cert.map_err(|e| format!("--upstream-ca {}: {e}", path.as_ref().unwrap()))?;
            der.extend_from_slice(&cert);
        }
        Ok(Some(der))
    }

    /// The `--upstream-ca` file, read and parsed up front so that a wrong path or a
    /// file with no certificate stops the provider with a clear message instead of a
    /// link that never connects.
    pub fn upstream_ca_pem(&self) -> Result<Option<Vec<u8>>, String> {
        let Some(path) = &self.upstream_ca else {
            return Ok(None);
        };
        if self.upstream.is_none() {
            return Err("--upstream-ca needs --upstream".into());
        }
        let pem = std::fs::read(path)
            .map_err(|e| format!("--upstream-ca: cannot read {}: {e}", path.display()))?;
        portico_ws::tokio::TlsConfig {
            webpki_roots: false,
            extra_ca_pem: Some(pem.clone()),
        }
        .build()
        .map_err(|e| format!("--upstream-ca {}: {e}", path.display()))?;
        Ok(Some(pem))
    }

    pub fn settings(&self) -> Settings {
        Settings {
            bind: self.bind(),
            upstream: self.upstream.clone(),
            // Checked by `options()`, which runs first.
            upstream_ca: self.upstream_ca_pem().ok().flatten(),
            api_delay: Duration::from_millis(self.api_delay_ms),
            allowed_hosts: if self.allowed_hosts.iter().any(|h| h == "*") {
                None
            } else {
                Some(self.allowed_hosts.clone())
            },
        }
    }

    /// The password from `--password-file`: its first line, without the line end.
    pub fn password(&self) -> Result<Option<String>, String> {
        let Some(path) = &self.password_file else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read --password-file {}: {e}", path.display()))?;
        let line = text.lines().next().unwrap_or("");
        if line.is_empty() {
            return Err(format!(
                "--password-file {}: the first line (the password) is empty",
                path.display()
            ));
        }
        if line.len() > portico_app::login::MAX_PASSWORD {
            return Err(format!(
                "--password-file {}: the password is longer than {} bytes",
                path.display(),
                portico_app::login::MAX_PASSWORD
            ));
        }
        Ok(Some(line.to_string()))
    }

    pub fn summary(&self, o: &ServerOptions) -> String {
        format!(
            "limits: {} HTTP sockets of {} (backlog {}, {} reserved), LRU purge {}, pool {} x {} B, internal RAM {} B, PSRAM {} B",
            o.budget.max_sockets,
            o.budget.stack_sockets,
            o.budget.backlog,
            o.budget.reserved,
            if o.policy.lru_purge { "on" } else { "off" },
            o.pool.chunks,
            o.pool.chunk_size,
            o.internal_ram,
            o.psram
        )
    }
}

/// `A.B.C.D/P` as the device's address and prefix.
fn parse_cidr(s: &str) -> Result<portico_tap::Ipv4Cidr, String> {
    let bad = || {
        format!("--device-addr must be an IPv4 address with a prefix, like 10.42.0.2/24; got {s:?}")
    };
    let (addr, prefix) = s.split_once('/').ok_or_else(bad)?;
    let addr: std::net::Ipv4Addr = addr.parse().map_err(|_| bad())?;
    let prefix: u8 = prefix.parse().map_err(|_| bad())?;
    if !(1..=30).contains(&prefix) || addr.is_unspecified() || addr.is_broadcast() {
        return Err(bad());
    }
    Ok(portico_tap::Ipv4Cidr::new(addr, prefix))
}
