//! `wss://` on the device: TLS 1.3 through `embedded-tls` (pure Rust, no allocator of
//! its own) over the port's TCP connection, with both record buffers placed by the
//! client's memory policy.
//!
//! Why this shape:
//! - `embedded-tls` takes its record buffers from the caller, so each is a block placed
//!   through `portico::placement` (PSRAM first by default, internal SRAM as fallback)
//!   and listed in the memory report as `tls_rx` / `tls_tx` with its region. Nothing
//!   else of the session is on a heap: its key schedule lives in the link task.
//! - The blocks belong to one connection: the driver keeps them in the port's
//!   [`Memory`](crate::driver::Port::Memory) slot, fills it at connect and drops it
//!   with the connection, so a link in backoff holds no TLS memory at all.
//! - Its reads are cancel-safe (the record reader keeps partial records in its own
//!   buffer), which the driver's `select` on read needs.
//!
//! What it checks: the server's chain up to a configured CA certificate (DER; several,
//! one after the other, make a bundle: the one whose name the chain's issuer gives is
//! used, `anchors.rs`), the certificate's signature over the handshake, and the host name
//! of the URL against the certificate's DNS names (subjectAltName, or the common name).
//! What it does not: TLS 1.2 (the crate speaks 1.3 only), validity dates (the device has
//! no trusted clock before it is online), RSA server keys (ECDSA P-256 only in this
//! build).

use alloc::boxed::Box;

use embedded_io_async::{ErrorKind, ErrorType, Read, Write};
use embedded_tls::{
    Aes128GcmSha256, CryptoProvider, TlsConfig, TlsConnection, TlsContext, TlsError, TlsVerifier,
};
use portico::placement::{place, MemoryRegions, Placed, Placement};

use crate::buffers::MemoryBlock;
use crate::driver::Port;
use crate::event::ConnectError;
use crate::url::WsUrl;

use super::anchors::{self, BundleVerifier};

/// The cipher suite: `TLS_AES_128_GCM_SHA256`, the one every TLS 1.3 server must offer
/// (RFC 8446 §9.1).
type Suite = Aes128GcmSha256;

/// Largest server certificate (DER) the verifier keeps between the certificate and its
/// signature check.
const CERT_BYTES: usize = 2048;

/// Largest TLS record a server may send (2^14 bytes of plaintext plus 256 of expansion,
/// RFC 8446 §5.2): the receive buffer must hold one whole.
pub const MAX_RECORD: usize = 16_384 + 256;

/// TLS settings of the device link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlsOptions {
    /// The trust anchors: the DER certificate of the CA that signed the server's
    /// certificate (or the server's own self-signed certificate, pinned), or several
    /// DER certificates one after the other (a bundle; each is tried). `None`, or bytes
    /// that hold no certificate, refuse every `wss://` connection: there is no "trust
    /// anything" default.
    pub ca: Option<&'static [u8]>,
    /// Receive record buffer. Below [`MAX_RECORD`] a server sending full-size records
    /// fails the connection.
    pub record_rx: usize,
    /// Send record buffer: a larger message goes out in several records. It must hold
    /// the ClientHello (about 300 bytes).
    pub record_tx: usize,
}

impl TlsOptions {
    /// No CA (every `wss://` refused), a full-size receive buffer, a 4 KiB send buffer.
    pub const fn const_default() -> Self {
        TlsOptions {
            ca: None,
            record_rx: MAX_RECORD,
            record_tx: 4096,
        }
    }

    /// The defaults, trusting `ca` (DER).
    pub const fn with_ca(ca: &'static [u8]) -> Self {
        TlsOptions {
            ca: Some(ca),
            ..Self::const_default()
        }
    }
}

impl Default for TlsOptions {
    fn default() -> Self {
        Self::const_default()
    }
}

/// A port that adds TLS to `tcp` for `wss://` URLs (plain `ws://` passes through).
pub struct TlsPort<'a, P, R> {
    tcp: &'a P,
    mem: &'a R,
    placement: Placement,
    options: TlsOptions,
    ca: Option<&'a [u8]>,
}

impl<'a, P: Port, R: MemoryRegions> TlsPort<'a, P, R> {
    /// TLS over `tcp`, its record buffers placed in `mem` by `placement`, trusting
    /// `options.ca`.
    pub fn new(tcp: &'a P, mem: &'a R, placement: Placement, options: TlsOptions) -> Self {
        TlsPort {
            tcp,
            mem,
            placement,
            options,
            ca: options.ca,
        }
    }

    /// Trusts `ca` (DER) instead (a CA chosen at run time); `None` trusts nothing.
    pub fn with_ca(mut self, ca: Option<&'a [u8]>) -> Self {
        self.ca = ca;
        self
    }
}

/// One connection's memory: the TCP port's own, and the TLS record buffers.
pub struct TlsMemory<T, B> {
    tcp: T,
    records: Option<(Placed<B>, Placed<B>)>,
}

impl<T: Default, B> Default for TlsMemory<T, B> {
    fn default() -> Self {
        TlsMemory {
            tcp: T::default(),
            records: None,
        }
    }
}

/// A connection: plain, or a TLS session over it.
pub enum Transport<'m, T: Read + Write> {
    /// `ws://`.
    Plain(T),
    /// `wss://`, with its blocks for the memory report.
    Tls(Box<TlsConnection<'m, T, Suite>>, [MemoryBlock; 3]),
}

impl<'a, P: Port, R: MemoryRegions> Port for TlsPort<'a, P, R> {
    type Memory = TlsMemory<P::Memory, R::Block>;
    type Io<'m> = Transport<'m, P::Io<'m>>;

    async fn connect<'m>(
        &self,
        url: &WsUrl<'_>,
        memory: &'m mut Self::Memory,
    ) -> Result<Self::Io<'m>, ConnectError> {
        let TlsMemory { tcp, records } = memory;
        if !url.secure {
            return Ok(Transport::Plain(self.tcp.connect(url, tcp).await?));
        }
        // Checked before anything is opened or placed: a link without a trust anchor
        // must not even try.
        let ca = self
            .ca
            .filter(|b| anchors::certificates(b).next().is_some())
            .ok_or(ConnectError::TlsNoTrustAnchor)?;
        // The TCP port sees a plain URL: the TLS is this layer's.
        let plain = WsUrl {
            secure: false,
            ..*url
        };
        let io = self.tcp.connect(&plain, tcp).await?;
        // Placed once the TCP connection is up: an unreachable server costs no memory.
        let rx = place(self.mem, self.placement, self.options.record_rx)
            .map_err(|_| ConnectError::TlsMemory)?;
        let tx = place(self.mem, self.placement, self.options.record_tx)
            .map_err(|_| ConnectError::TlsMemory)?;
        let report = [
            MemoryBlock {
                block: "tls_session",
                bytes: core::mem::size_of::<TlsConnection<'m, P::Io<'m>, Suite>>(),
                // The global heap's: not placed by the policy.
                region: None,
            },
            MemoryBlock {
                block: "tls_rx",
                bytes: rx.block.as_ref().len(),
                region: Some(rx.region),
            },
            MemoryBlock {
                block: "tls_tx",
                bytes: tx.block.as_ref().len(),
                region: Some(tx.region),
            },
        ];
        let (rx, tx) = records.insert((rx, tx));
        // Boxed (global heap): the session's keys and the handshake's state would
        // otherwise be part of the link task's own storage, static RAM held for the life
        // of the device even while the link is down. Boxed, they exist only during a
        // connection.
        let mut session = Box::new(TlsConnection::new(io, rx.block.as_mut(), tx.block.as_mut()));
        // The handshake's state (the verifier holds the server's certificate until its
        // signature is checked) is boxed with it, for the same reason.
        let host = url.host;
        let random = PortRandom(self.tcp);
        Box::pin(async {
            // The host is always checked against the certificate, also for an IP
            // literal, which RFC 6066 keeps out of SNI.
            let verifier = BundleVerifier::<Suite, CERT_BYTES>::new(ca, host);
            let mut config = TlsConfig::new();
            if host.parse::<core::net::IpAddr>().is_err() {
                config = config.with_server_name(host);
            }
            let provider = Provider { random, verifier };
            session
                .open(TlsContext::new(&config, provider))
                .await
                .map_err(connect_error)
        })
        .await?;
        Ok(Transport::Tls(session, report))
    }

    fn io_memory<'b, 'm>(io: &'b Self::Io<'m>) -> &'b [MemoryBlock] {
        match io {
            Transport::Plain(_) => &[],
            Transport::Tls(_, report) => report,
        }
    }

    fn now_ms(&self) -> u64 {
        self.tcp.now_ms()
    }

    async fn sleep_ms(&self, ms: u64) {
        self.tcp.sleep_ms(ms).await
    }

    fn fill_random(&self, dst: &mut [u8]) {
        self.tcp.fill_random(dst)
    }
}

/// A refused certificate is told apart from other handshake failures: it is the one a
/// person must act on (wrong CA configured, or a server that is not the one meant).
fn connect_error(e: TlsError) -> ConnectError {
    match e {
        TlsError::InvalidCertificate
        | TlsError::InvalidCertificateEntry
        | TlsError::InvalidSignature
        | TlsError::InvalidSignatureScheme => ConnectError::TlsCertificate,
        TlsError::Io(_) | TlsError::ConnectionClosed => ConnectError::Io,
        _ => ConnectError::Tls,
    }
}

/// What `embedded-tls` asks of its environment: randomness (the port's) and a verifier.
struct Provider<'p, P, V> {
    random: PortRandom<'p, P>,
    verifier: V,
}

impl<P: Port, V: TlsVerifier<Suite>> CryptoProvider for Provider<'_, P, V> {
    type CipherSuite = Suite;
    /// No client certificate: nothing is ever signed.
    type Signature = [u8; 0];

    fn rng(&mut self) -> impl embedded_tls::CryptoRngCore {
        &mut self.random
    }

    fn verifier(&mut self) -> Result<&mut impl TlsVerifier<Suite>, TlsError> {
        Ok(&mut self.verifier)
    }
}

/// The port's random source (on the device, the hardware RNG) as a `rand_core` RNG.
struct PortRandom<'p, P>(&'p P);

impl<P: Port> rand_core::RngCore for PortRandom<'_, P> {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0; 4];
        self.0.fill_random(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0; 8];
        self.0.fill_random(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        self.0.fill_random(dst)
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), rand_core::Error> {
        self.0.fill_random(dst);
        Ok(())
    }
}

/// The port's source is the platform's cryptographic RNG (esp-hal's `Rng` on the
/// device); the port's contract for `fill_random` already asks for unpredictable bytes.
impl<P: Port> rand_core::CryptoRng for PortRandom<'_, P> {}

impl<T: Read + Write> ErrorType for Transport<'_, T> {
    type Error = ErrorKind;
}

impl<T: Read + Write> Read for Transport<'_, T> {
    /// Cancel-safe when `T`'s read is: a TLS record read in part stays in the record
    /// reader's buffer for the next call.
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
        use embedded_io_async::Error as _;
        match self {
            Transport::Plain(t) => t.read(buf).await.map_err(|e| e.kind()),
            Transport::Tls(t, _) => match t.read(buf).await {
                Ok(n) => Ok(n),
                // The server's close_notify: the stream's end.
                Err(TlsError::ConnectionClosed) => Ok(0),
                Err(e) => Err(e.kind()),
            },
        }
    }
}

impl<T: Read + Write> Write for Transport<'_, T> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
        use embedded_io_async::Error as _;
        match self {
            Transport::Plain(t) => t.write(buf).await.map_err(|e| e.kind()),
            Transport::Tls(t, _) => t.write(buf).await.map_err(|e| e.kind()),
        }
    }

    /// For TLS, seals the buffered bytes into a record and sends it: the driver flushes
    /// after each frame, so a frame never waits in the record buffer.
    async fn flush(&mut self) -> Result<(), ErrorKind> {
        use embedded_io_async::Error as _;
        match self {
            Transport::Plain(t) => t.flush().await.map_err(|e| e.kind()),
            Transport::Tls(t, _) => t.flush().await.map_err(|e| e.kind()),
        }
    }
}
