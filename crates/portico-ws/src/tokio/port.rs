//! The tokio [`Port`]: DNS + TCP (+ TLS), tokio timers, `getrandom`.

use std::time::Instant;

use crate::driver::Port;
use crate::event::ConnectError;
use crate::url::WsUrl;

use super::io::{EmbeddedIo, Stream};

/// Services the driver gets from tokio.
#[derive(Debug, Clone)]
pub struct TokioPort {
    epoch: Instant,
    #[cfg(feature = "tls")]
    tls: Option<std::sync::Arc<rustls::ClientConfig>>,
}

impl TokioPort {
    /// A port for plain `ws://` (and `wss://` if `tls` is given).
    pub fn new(#[cfg(feature = "tls")] tls: Option<std::sync::Arc<rustls::ClientConfig>>) -> Self {
        TokioPort {
            epoch: Instant::now(),
            #[cfg(feature = "tls")]
            tls,
        }
    }
}

impl Port for TokioPort {
    /// rustls keeps its buffers in its own (global-heap) session object.
    type Memory = ();
    type Io<'m> = EmbeddedIo<Stream>;

    async fn connect<'m>(
        &self,
        url: &WsUrl<'_>,
        _memory: &'m mut (),
    ) -> Result<Self::Io<'m>, ConnectError> {
        let addrs = tokio::net::lookup_host((url.host, url.port))
            .await
            .map_err(|_| ConnectError::Resolve)?;
        let mut tcp = None;
        for addr in addrs {
            if let Ok(s) = tokio::net::TcpStream::connect(addr).await {
                tcp = Some(s);
                break;
            }
        }
        let tcp = tcp.ok_or(ConnectError::Tcp)?;
        tcp.set_nodelay(true).map_err(|_| ConnectError::Tcp)?;
        if !url.secure {
            return Ok(EmbeddedIo(Stream::Plain(tcp)));
        }
        #[cfg(feature = "tls")]
        {
            let cfg = self.tls.clone().ok_or(ConnectError::Tls)?;
            let name = rustls::pki_types::ServerName::try_from(url.host.to_owned())
                .map_err(|_| ConnectError::Tls)?;
            let tls = tokio_rustls::TlsConnector::from(cfg)
                .connect(name, tcp)
                .await
                .map_err(|_| ConnectError::Tls)?;
            Ok(EmbeddedIo(Stream::Tls(Box::new(tls))))
        }
        #[cfg(not(feature = "tls"))]
        Err(ConnectError::Tls)
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    async fn sleep_ms(&self, ms: u64) {
        // Clamp: tokio panics on deadlines too far in the future.
        tokio::time::sleep(std::time::Duration::from_millis(ms.min(1 << 40))).await
    }

    fn fill_random(&self, dst: &mut [u8]) {
        crate::mask::MaskRng::fill(&mut crate::mask::OsRng, dst)
    }
}
