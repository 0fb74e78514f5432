//! Command line: the device's limits, with the device's defaults.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use portico::conn::{Budget, BudgetError, Policy};
use portico::placement::Placement;
use portico::pool::PoolConfig;
use portico::server::ServerConfig;
use portico_tokio::ServerOptions;

/// Internal RAM the application may use on an ESP32-S3 (of 512 KB SRAM, after the
/// Wi-Fi stack, the TCP stack and the firmware's own data).
pub const DEFAULT_INTERNAL_RAM: usize = 320 * 1024;

/// Portico provider: serves the device dashboard and API with the device's limits.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
pub struct Cli {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
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
    pub api_delay_ms: u64,
    /// `None`: `--allowed-host '*'`, every name is answered.
    pub allowed_hosts: Option<Vec<String>>,
}

impl Cli {
    pub fn options(&self) -> Result<ServerOptions, String> {
        let budget = Budget::new(self.stack_sockets, self.max_sockets)
            .map_err(|e: BudgetError| e.to_string())?;
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
        if let Some(u) = &self.upstream {
            if !(u.starts_with("ws://") || u.starts_with("wss://")) {
                return Err(format!(
                    "--upstream must be a ws:// or wss:// URL, got {u:?}"
                ));
            }
        }
        let policy = Policy {
            lru_purge: !self.no_lru_purge,
            evict_streams: self.evict_streams,
            per_peer_cap: self.per_peer_cap.max(1),
            head_timeout_ms: self.head_timeout_ms,
            idle_timeout_ms: self.idle_timeout_ms,
            queue_timeout_ms: self.queue_timeout_ms,
            ..Policy::default()
        };
        let mut server = ServerConfig {
            head_timeout_ms: self.head_timeout_ms,
            idle_timeout_ms: self.idle_timeout_ms,
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

    pub fn settings(&self) -> Settings {
        Settings {
            bind: self.bind,
            upstream: self.upstream.clone(),
            api_delay_ms: self.api_delay_ms,
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
