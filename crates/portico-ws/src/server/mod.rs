//! The WebSocket server endpoint (RFC 6455, server side), on the core's connection
//! engine.
//!
//! Why here and built this way: a bidirectional dashboard needs a WebSocket endpoint on
//! the device, and every server a device maker compares us with has one. This one
//! shares the client's codec — the same frame decoder ([`crate::frame`]), masking,
//! incremental UTF-8 check and close-code rules — and differs only where the RFC makes
//! the two sides differ (the client masks, the server must not, and refuses what is
//! unmasked). It runs as a stream of the core's engine: a handler answers the
//! handshake ([`accept`]) and returns
//! [`Reply::Upgrade`](portico::server::Reply::Upgrade); the application's
//! [`Streams`](portico::server::Streams) calls [`run`]. The connection table then sees
//! a stream (evicted last), and every write counts as activity.
//!
//! Memory: a connection at rest holds **no buffer**. When the client starts sending,
//! [`run`] leases one buffer from the port's pool ([`portico::server::Buffers`], the
//! same pool requests use), splits it into receive space and reassembly space (whose
//! size is the largest message accepted: over it, close 1009), and gives it back as
//! soon as nothing is half-received. Frames to the client need no buffer at all (see
//! [`Sender`]). Between leases a connection keeps a [`Session`]'s few flags.
//!
//! Deadlines: each write under `cfg.timeouts.send`; the rest of a partly received
//! frame under `cfg.timeouts.body` per read; a quiet connection is pinged after
//! [`WsConfig::ping_after`] and closed if nothing comes back within
//! [`WsConfig::pong_timeout`]; our close waits [`WsConfig::close`] for the
//! client's.
//!
//! Security: the handshake is a GET, which the application's cross-site check for
//! state-changing methods lets through, and a browser sends cookies with it from any
//! page. Check the request's `Origin` (`portico::guard`) before [`accept`], or any site
//! the user visits can open the device's WebSocket in their name (cross-site WebSocket
//! hijacking).
//!
//! Not supported (yet): permessage-deflate on the server side (an offer is ignored, so
//! the client goes on uncompressed), and handing frames to the application before the
//! message is whole.

mod echo;
mod run;
mod sender;
mod session;
mod upgrade;

use portico::server::{Env, Transport};
use portico::time::Duration;

pub use echo::{Echo, EchoApp};
pub use run::{run, End};
pub use sender::{SendError, Sender};
pub use session::{Session, MIN_RX};
pub use upgrade::{accept, check, Accept, Refusal};

use crate::close::CloseCode;

/// One message from the client, whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message<'a> {
    /// Text (checked to be UTF-8).
    Text(&'a str),
    /// Binary data.
    Binary(&'a [u8]),
}

/// The application's side of one WebSocket connection. A value per connection (made in
/// `Streams::run`), so it may keep the connection's own state; `&mut self` throughout.
#[allow(async_fn_in_trait)] // Ports run one executor thread: no Send bound (see `portico::server::Env`).
pub trait WsHandler {
    /// Right after the handshake, before any message.
    async fn opened<T: Transport, E: Env>(
        &mut self,
        out: &mut Sender<'_, T, E>,
    ) -> Result<(), SendError<T::Error>> {
        let _ = out;
        Ok(())
    }

    /// A whole message arrived. Answer (or not) through `out`.
    async fn message<T: Transport, E: Env>(
        &mut self,
        msg: Message<'_>,
        out: &mut Sender<'_, T, E>,
    ) -> Result<(), SendError<T::Error>>;

    /// Waits until the application has something to send unasked (default: never).
    /// Raced against the socket and dropped when the client speaks first, so it must
    /// be cancel-safe: wait on a signal (`embassy_sync::signal::Signal::wait`,
    /// `portico::hub::Hub::ready`), never hold half-done work.
    async fn wake(&mut self) {
        core::future::pending::<()>().await
    }

    /// Called after [`WsHandler::wake`] returned: send what there is.
    async fn push<T: Transport, E: Env>(
        &mut self,
        out: &mut Sender<'_, T, E>,
    ) -> Result<(), SendError<T::Error>> {
        let _ = out;
        Ok(())
    }

    /// A pong arrived (to [`Sender::ping`] or to the keep-alive ping).
    fn pong(&mut self, payload: &[u8]) {
        let _ = payload;
    }
}

/// Time limits of a WebSocket connection besides the server's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WsConfig {
    /// Bytes of the leased buffer read into; the rest reassembles messages, so a 4 KiB
    /// pool buffer with 1 KiB here accepts messages of up to 3 KiB. At least
    /// [`MIN_RX`].
    pub rx_bytes: usize,
    /// A connection quiet this long gets a ping.
    pub ping_after: Duration,
    /// Nothing from the client this long after the ping: the connection is closed.
    pub pong_timeout: Duration,
    /// How long our close waits for the client's.
    pub close: Duration,
}

impl WsConfig {
    /// 1 KiB receive space; a ping after 30 s quiet, closed 10 s later without an
    /// answer; 2 s for the client's close.
    pub const fn const_default() -> Self {
        WsConfig {
            rx_bytes: 1024,
            ping_after: Duration::from_secs(30),
            pong_timeout: Duration::from_secs(10),
            close: Duration::from_secs(2),
        }
    }
}

impl Default for WsConfig {
    fn default() -> Self {
        Self::const_default()
    }
}

/// "Try Again Later" (RFC 6455 §11.7): no buffer could be had for the message.
pub const TRY_AGAIN_LATER: CloseCode = CloseCode(1013);
