//! Port settings.

use core::fmt;

use portico::conn::Policy;
use portico::server::ServerConfig;
use portico::time::Duration;

/// How the socket pool serves.
#[derive(Debug, Clone, Copy)]
pub struct PortConfig {
    /// TCP port to listen on.
    pub port: u16,
    /// Connections the table admits at once. Must be below the pool's socket count: the
    /// sockets above `cap` are the backlog, and they listen while nobody waits in it.
    pub cap: usize,
    /// Admission and eviction policy of the connection table.
    pub policy: Policy,
    /// The request loop: limits, every deadline, `Retry-After` of a `503`.
    pub server: ServerConfig,
    /// How long a graceful close may wait for the peer's FIN before the socket is
    /// aborted and reused.
    pub linger: Duration,
}

impl PortConfig {
    /// Port 80, six connections admitted, the core's default policy and deadlines.
    pub const fn const_default() -> Self {
        PortConfig {
            port: 80,
            cap: 6,
            policy: Policy::const_default(),
            server: ServerConfig::const_default(),
            linger: Duration::from_secs(1),
        }
    }

    /// Checks the settings against a pool of `sockets`.
    pub fn check(&self, sockets: usize) -> Result<(), ConfigError> {
        if self.cap == 0 {
            return Err(ConfigError::NoConnections);
        }
        if self.cap >= sockets {
            return Err(ConfigError::NoSpareSocket {
                cap: self.cap,
                sockets,
            });
        }
        Ok(())
    }
}

impl Default for PortConfig {
    fn default() -> Self {
        Self::const_default()
    }
}

/// Settings the pool cannot run with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigError {
    /// `cap` is zero.
    NoConnections,
    /// `cap` leaves no socket to listen with while the table is full.
    NoSpareSocket {
        /// Connections admitted at once.
        cap: usize,
        /// Sockets in the pool.
        sockets: usize,
    },
    /// The pool has more sockets than the connection table has slots.
    TableTooSmall {
        /// Sockets in the pool.
        sockets: usize,
        /// Slots in the table type.
        slots: usize,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::NoConnections => f.write_str("cap must be at least 1"),
            ConfigError::NoSpareSocket { cap, sockets } => write!(
                f,
                "cap {cap} leaves no listening socket in a pool of {sockets}: \
                 a SYN would be reset whenever the table is full"
            ),
            ConfigError::TableTooSmall { sockets, slots } => {
                write!(f, "{sockets} sockets but the table type has {slots} slots")
            }
        }
    }
}

impl core::error::Error for ConfigError {}
