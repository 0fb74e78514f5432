//! The upstream WebSocket link: started when `--upstream` is given.

use std::time::Duration;

use portico::placement::sim::SimHeap;
use portico_ws::tokio::{Client, Config, Control, Handle, StartError, TlsConfig};
use portico_ws::Event;

/// The running link (its counters, `messages_in` included, are the client's own).
pub struct Link {
    pub handle: Handle,
}

impl Link {
    /// Starts the client with its buffers placed by the default policy (external RAM
    /// first, internal when there is none) from the device's simulated heap. For
    /// `wss://` the server is checked against the bundled roots and `ca_pem`, if given.
    pub fn start(url: &str, ca_pem: Option<Vec<u8>>, heap: SimHeap) -> Result<Link, StartError> {
        let config = Config {
            tls: TlsConfig {
                webpki_roots: true,
                extra_ca_pem: ca_pem,
            },
            ..Config::new(url)
        };
        let handle = Client::start(config, heap, |_: Event<'_>, _: &Control| {})?;
        Ok(Link { handle })
    }

    /// Sends the device's state upstream every `every` while the link is up; a failed
    /// send, or a document that could not be rendered (memory short), is skipped: the
    /// next one carries fresher data anyway.
    pub async fn report(
        handle: Handle,
        every: Duration,
        mut snapshot: impl FnMut() -> Option<String>,
    ) {
        loop {
            tokio::time::sleep(every).await;
            if let Some(text) = snapshot() {
                let _ = handle.try_send_text(&text);
            }
        }
    }
}
