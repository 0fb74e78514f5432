//! The host client's configuration: the URL and handshake extras, owned, around the
//! shared numeric [`Settings`].

use crate::compression::{Compression, CompressionMode};
use crate::settings::Settings;

/// The host's default compression cap: a 32 KiB window and an 8 KiB hash table.
pub const HOST_COMPRESSION_CAP: usize = 40 * 1024;

/// Client configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `ws://` or `wss://` URL.
    pub url: String,
    /// Buffers, placement, timeouts, keep-alive and reconnect.
    pub settings: Settings,
    /// Subprotocols to offer.
    pub subprotocols: Vec<String>,
    /// Extra request headers.
    pub headers: Vec<(String, String)>,
    /// `user:password` for basic auth (the URL's userinfo is used otherwise).
    pub basic_auth: Option<String>,
    /// Trust settings for `wss://`.
    #[cfg(feature = "tls")]
    pub tls: super::tls::TlsConfig,
}

impl Config {
    /// Defaults for `url`: the shared [`Settings`] defaults, with permessage-deflate
    /// offered (`Prefer`) within a 40 KiB cap, enough for a server's full 32 KiB
    /// window, so any compressing server can agree. The device keeps it off.
    pub fn new(url: impl Into<String>) -> Self {
        Config {
            url: url.into(),
            settings: Settings {
                compression: Compression {
                    mode: CompressionMode::Prefer,
                    max_memory: HOST_COMPRESSION_CAP,
                    ..Compression::const_default()
                },
                ..Settings::const_default()
            },
            subprotocols: Vec::new(),
            headers: Vec::new(),
            basic_auth: None,
            #[cfg(feature = "tls")]
            tls: Default::default(),
        }
    }
}
