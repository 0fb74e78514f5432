//! Why starting or stopping the host client failed.

use portico::placement::OutOfMemory;

use crate::url::UrlError;

/// Why the client could not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartError {
    /// No region could hold the client's buffers.
    OutOfMemory(OutOfMemory),
    /// The URL is invalid.
    Url(UrlError),
    /// The TLS configuration is invalid.
    #[cfg(feature = "tls")]
    Tls(crate::tokio::tls::TlsConfigError),
    /// Not called from inside a tokio runtime.
    NoRuntime,
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::OutOfMemory(e) => write!(f, "{e}"),
            StartError::Url(e) => write!(f, "{e}"),
            #[cfg(feature = "tls")]
            StartError::Tls(e) => write!(f, "{e}"),
            StartError::NoRuntime => f.write_str("no tokio runtime"),
        }
    }
}

impl std::error::Error for StartError {}

/// `stop_and_wait` gave up before the run task finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopTimeout;

impl std::fmt::Display for StopTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("client task did not finish in time")
    }
}

impl std::error::Error for StopTimeout {}
