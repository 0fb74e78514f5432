//! The embassy [`Port`]: one TCP socket on an `embassy_net::Stack`, kept for the life of
//! the port so that every reconnect reuses its buffers; `embassy-time` timers; random
//! bytes from a source the firmware supplies (esp-hal's `Rng`).

use core::cell::Cell;

use embassy_net::tcp::{Error as TcpError, State as TcpState, TcpSocket};
use embassy_net::{IpAddress, IpEndpoint, Stack};
use embassy_time::{Instant, Timer};

use crate::driver::Port;
use crate::event::ConnectError;
use crate::url::WsUrl;

/// Unpredictable bytes for masks, handshake nonces and backoff jitter.
///
/// Any `Fn(&mut [u8])` is one, so esp-hal's `Rng` is passed as
/// `move |dst: &mut [u8]| rng.read(dst)`.
pub trait Random {
    /// Fills `dst`.
    fn fill(&self, dst: &mut [u8]);
}

impl<F: Fn(&mut [u8])> Random for F {
    fn fill(&self, dst: &mut [u8]) {
        self(dst)
    }
}

/// Longest single sleep: the driver asks for "forever" as a huge number, and
/// `embassy-time` overflows on deadlines that far out. The driver recomputes its
/// deadlines after every wake-up, so a shorter sleep changes nothing.
const MAX_SLEEP_MS: u64 = 1 << 31;

/// Services the driver gets on the device.
///
/// The port owns one TCP socket built on the caller's buffers. The driver holds one
/// connection at a time, so one socket is all it needs; each connection borrows it and
/// gives it back when dropped, and the next attempt reuses it: no allocation per
/// connect, and the buffers stay where the caller put them (static RAM, or a block the
/// caller placed).
///
/// `Port` is implemented for `&'static EmbassyPort<'static, G>` (a connection hands the socket
/// back to the port), so in practice the port lives in a `static` (`StaticCell`).
pub struct EmbassyPort<'d, G> {
    stack: Stack<'d>,
    socket: Cell<Option<TcpSocket<'d>>>,
    random: G,
    socket_bytes: usize,
}

impl<'d, G: Random> EmbassyPort<'d, G> {
    /// A port on `stack` whose socket uses `rx` and `tx` as its TCP buffers.
    ///
    /// Nagle's algorithm is turned off on the socket (as `TCP_NODELAY` is on the host):
    /// each frame is one write, and a second small frame must not wait for the peer's
    /// delayed ACK of the first.
    pub fn new(stack: Stack<'d>, rx: &'d mut [u8], tx: &'d mut [u8], random: G) -> Self {
        let socket_bytes = rx.len() + tx.len();
        let mut socket = TcpSocket::new(stack, rx, tx);
        socket.set_nagle_enabled(false);
        EmbassyPort {
            stack,
            socket: Cell::new(Some(socket)),
            random,
            socket_bytes,
        }
    }

    /// Bytes of TCP buffer the port holds (for the caller's memory report: they are the
    /// caller's, not placed by the client).
    pub fn socket_bytes(&self) -> usize {
        self.socket_bytes
    }

    /// The address for `host`: an IPv4 literal as is; a name through the stack's DNS
    /// (feature `embassy-dns`).
    async fn resolve(&self, host: &str) -> Result<IpAddress, ConnectError> {
        if let Ok(ip) = host.parse::<core::net::Ipv4Addr>() {
            return Ok(IpAddress::Ipv4(ip));
        }
        #[cfg(feature = "embassy-dns")]
        {
            let found = self
                .stack
                .dns_query(host, embassy_net::dns::DnsQueryType::A)
                .await
                .map_err(|_| ConnectError::Resolve)?;
            found.first().copied().ok_or(ConnectError::Resolve)
        }
        #[cfg(not(feature = "embassy-dns"))]
        {
            let _ = self.stack;
            Err(ConnectError::Resolve)
        }
    }
}

impl<G: Random + 'static> Port for &'static EmbassyPort<'static, G> {
    /// The socket's buffers are the caller's: nothing is placed per connection.
    type Memory = ();
    type Io<'m> = Connection<'static>;

    /// Opens the TCP connection for `ws://`.
    ///
    /// `wss://` fails with [`ConnectError::Tls`] here: TLS is the job of the layer above
    /// (`TlsPort`, feature `embassy-tls`, which the client puts on top of this port and
    /// which hands it the plain URL).
    async fn connect(
        &self,
        url: &WsUrl<'_>,
        _memory: &mut (),
    ) -> Result<Connection<'static>, ConnectError> {
        let port: &'static EmbassyPort<'static, G> = self;
        if url.secure {
            return Err(ConnectError::Tls);
        }
        let addr = port.resolve(url.host).await?;
        // Taken at most once at a time: the driver drops a connection before it opens
        // the next one.
        let socket = port.socket.take().ok_or(ConnectError::Tcp)?;
        // From here on the connection gives the socket back however this ends,
        // including when the connect timeout drops this future.
        let mut conn = Connection {
            home: &port.socket,
            socket: Some(socket),
        };
        let Some(s) = conn.socket.as_mut() else {
            return Err(ConnectError::Tcp);
        };
        if !matches!(s.state(), TcpState::Closed | TcpState::TimeWait) {
            // The previous connection is still closing (its FIN unanswered): give up
            // on it so the socket can connect again.
            s.abort();
        }
        s.connect(IpEndpoint::new(addr, url.port))
            .await
            .map_err(|_| ConnectError::Tcp)?;
        Ok(conn)
    }

    fn now_ms(&self) -> u64 {
        Instant::now().as_millis()
    }

    async fn sleep_ms(&self, ms: u64) {
        Timer::after_millis(ms.min(MAX_SLEEP_MS)).await
    }

    fn fill_random(&self, dst: &mut [u8]) {
        self.random.fill(dst)
    }
}

/// A TCP connection on the port's socket; gives the socket back when dropped.
pub struct Connection<'d> {
    home: &'d Cell<Option<TcpSocket<'d>>>,
    socket: Option<TcpSocket<'d>>,
}

impl Drop for Connection<'_> {
    fn drop(&mut self) {
        if let Some(mut s) = self.socket.take() {
            // A graceful close: the FIN goes out while the socket waits for the next
            // connect (which aborts it if the peer never answers).
            s.close();
            self.home.set(Some(s));
        }
    }
}

impl embedded_io_async::ErrorType for Connection<'_> {
    type Error = TcpError;
}

impl embedded_io_async::Read for Connection<'_> {
    /// Cancel-safe, as the driver requires: embassy-net dequeues bytes only when the
    /// read completes.
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, TcpError> {
        match self.socket.as_mut() {
            Some(s) => s.read(buf).await,
            None => Err(TcpError::ConnectionReset),
        }
    }
}

impl embedded_io_async::Write for Connection<'_> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, TcpError> {
        match self.socket.as_mut() {
            Some(s) => s.write(buf).await,
            None => Err(TcpError::ConnectionReset),
        }
    }

    /// Returns at once: the bytes are in the socket's send buffer, which the stack
    /// transmits on its own. (embassy-net's `flush` waits until the peer has ACKed
    /// everything, a round trip plus its delayed ACK per frame; the host's TCP flush
    /// does not wait either.) A peer that stops reading still shows: `write` blocks
    /// once the buffer is full, and the driver's network timeout ends the connection.
    async fn flush(&mut self) -> Result<(), TcpError> {
        Ok(())
    }
}
