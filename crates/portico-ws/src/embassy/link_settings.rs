//! The link settings a device changes at run time, from the application's own settings
//! (URL, extra headers such as `Authorization`, subprotocols, the CA for `wss://`),
//! instead of only the `Config` compiled in.
//!
//! They are owned (`alloc`), since they arrive after start-up; each run borrows a copy
//! taken when it begins, so a change never alters a connection in progress: it ends the
//! run and starts a new one ([`Handle::reconfigure`](super::Handle::reconfigure)).

use alloc::string::String;
use alloc::vec::Vec;

use super::client::Config;

/// Settings that replace the build-time [`Config`]'s URL, headers, subprotocols, basic
/// auth and (with `embassy-tls`) CA. Buffers, timeouts and reconnect stay the `Config`'s.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkSettings {
    /// `ws://` or `wss://` URL.
    pub url: String,
    /// Extra request headers (`Authorization`, an API key...).
    pub headers: Vec<(String, String)>,
    /// Subprotocols to offer.
    pub subprotocols: Vec<String>,
    /// `user:password` for basic auth.
    pub basic_auth: Option<String>,
    /// The CA (DER) a `wss://` server is checked against; `None` keeps `Config::tls.ca`.
    #[cfg(feature = "embassy-tls")]
    pub ca: Option<Vec<u8>>,
}

/// What one run connects with, borrowed from the run-time settings when there are some,
/// else from the `Config`.
pub(crate) struct RunTarget<'a> {
    pub url: &'a str,
    pub headers: Vec<(&'a str, &'a str)>,
    pub subprotocols: Vec<&'a str>,
    pub basic_auth: Option<&'a str>,
    #[cfg(feature = "embassy-tls")]
    pub ca: Option<&'a [u8]>,
}

impl<'a> RunTarget<'a> {
    pub fn new(config: &'a Config, runtime: Option<&'a LinkSettings>) -> Self {
        match runtime {
            None => RunTarget {
                url: config.url,
                headers: config.headers.to_vec(),
                subprotocols: config.subprotocols.to_vec(),
                basic_auth: config.basic_auth,
                #[cfg(feature = "embassy-tls")]
                ca: config.tls.ca,
            },
            Some(r) => RunTarget {
                url: &r.url,
                headers: r
                    .headers
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.as_str()))
                    .collect(),
                subprotocols: r.subprotocols.iter().map(String::as_str).collect(),
                basic_auth: r.basic_auth.as_deref(),
                #[cfg(feature = "embassy-tls")]
                ca: r.ca.as_deref().or(config.tls.ca),
            },
        }
    }
}
