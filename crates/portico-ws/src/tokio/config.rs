//! The host client's configuration: the URL and handshake extras, owned, around the
//! shared numeric [`Settings`].

use crate::settings::Settings;

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
    /// Defaults for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Config {
            url: url.into(),
            settings: Settings::const_default(),
            subprotocols: Vec::new(),
            headers: Vec::new(),
            basic_auth: None,
            #[cfg(feature = "tls")]
            tls: Default::default(),
        }
    }
}
