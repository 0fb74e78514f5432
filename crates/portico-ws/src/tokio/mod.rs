//! The host port on tokio: TCP with `TCP_NODELAY`, TLS through rustls (feature `tls`),
//! tokio timers and tasks, and the [`Client`]/[`Handle`] lifecycle on top of the
//! generic driver.

mod client;
mod config;
mod io;
mod port;
mod stats;
#[cfg(feature = "tls")]
mod tls;

pub use client::{
    Client, CloseError, Control, Handle, Handler, Outbound, SharedHeap, StartError, StopTimeout,
};
pub use config::Config;
pub use io::{EmbeddedIo, Stream};
pub use port::TokioPort;
pub use stats::Stats;
#[cfg(feature = "tls")]
pub use tls::{TlsConfig, TlsConfigError};
