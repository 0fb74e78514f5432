//! The run loop: connect, serve the connection, back off, reconnect, until stopped,
//! closed or (without reconnect) disconnected. It owns the buffers across connections
//! and frees them whenever the link is down; [`Target`] is what it connects to, [`Exit`]
//! how it ended.

use core::pin::pin;

use embassy_futures::select::{select, Either};
use portico::placement::MemoryRegions;

use crate::backoff::Backoff;
use crate::buffers::Buffers;
use crate::close::CloseCode;
use crate::compression::CompressionMode;
use crate::connection::Connection;
use crate::event::{ConnectError, DisconnectReason, ErrorKind, Event, State};
use crate::handshake::RequestOptions;
use crate::settings::Settings;
use crate::url::WsUrl;

use super::connect::{connect, Upgrade};
use super::port::random_u64;
use super::session::{session, SessionEnd};
use super::{Command, Link, Outgoing, Port, SendError, Status};

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Stop was requested.
    Stopped,
    /// `close()` completed (or timed out).
    Closed,
    /// The connection ended and reconnecting is disabled.
    Disconnected,
    /// The URL cannot be used.
    BadUrl,
}

/// Handshake options borrowed for the run.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// `ws://` or `wss://` URL.
    pub url: &'a str,
    /// Subprotocols, headers, credentials.
    pub request: RequestOptions<'a>,
}

/// Runs the client until it is stopped, closed, or (without reconnect) disconnected.
///
/// `buffers` serve the first connection. They are freed whenever the link is down (a
/// connection ended, or a connect failed) and placed again, alike, once the next
/// connection's transport is up: an outage of hours gives their memory back. Returns
/// the buffers still held (`None` when the run ended while down) so the caller decides
/// whether to free or reuse them.
pub async fn run<M, P, L>(
    settings: &Settings,
    target: &Target<'_>,
    buffers: Buffers<M>,
    port: &P,
    link: &mut L,
) -> (Option<Buffers<M>>, Exit)
where
    M: MemoryRegions + Clone,
    P: Port,
    L: Link,
{
    let spec = buffers.spec();
    let mut buffers = Some(buffers);
    let url = match WsUrl::parse(target.url) {
        Ok(u) => u,
        Err(e) => {
            let err = ErrorKind::Connect(ConnectError::Url(e));
            link.status(Status::Error(&err));
            link.event(Event::Error(err));
            link.status(Status::State(State::Stopped));
            return (buffers, Exit::BadUrl);
        }
    };
    let mut backoff = Backoff::new(settings.reconnect);
    let mut connected_before = false;
    // permessage-deflate, as the settings say. A server whose answer to the offer must
    // be refused (a window over the cap, parameters RFC 7692 forbids) fails the attempt;
    // under `Prefer` the next attempt goes at once without the offer, so such a server
    // still gets a link.
    let offer = settings.compression.offer();
    let mut offering = true;
    link.status(Status::Memory(&report(&buffers)));
    loop {
        if link.stop_requested() {
            return stopped(buffers, link, Exit::Stopped);
        }
        link.status(Status::State(State::Connecting));
        // The transport's memory lives for this attempt only: it is gone in backoff.
        let mut memory = P::Memory::default();
        let attempt = {
            let to = Upgrade {
                target,
                url: &url,
                offer: offer.as_ref().filter(|_| offering),
            };
            let connect = pin!(connect(
                settings,
                to,
                &mut buffers,
                &spec,
                port,
                &mut memory
            ));
            let timeout = pin!(port.sleep_ms(settings.connect_timeout_ms));
            let mut race = pin!(select(connect, timeout));
            loop {
                match select(race.as_mut(), link.recv()).await {
                    Either::First(Either::First(r)) => break Ok(r),
                    Either::First(Either::Second(())) => break Ok(Err(ConnectError::Timeout)),
                    Either::Second(cmd) => match cmd {
                        Command::Send(o) => o.complete(Err(SendError::NotConnected)),
                        // Nothing to close yet: the close is done (the client stops for
                        // good, as after a closing handshake).
                        Command::Close(_) => break Err(Exit::Closed),
                        Command::Stop => break Err(Exit::Stopped),
                    },
                }
            }
        };
        // Moved in (not borrowed), so that a connection never outlives its memory.
        let end = match core::convert::identity(attempt) {
            Err(exit) => return stopped(buffers, link, exit),
            Ok(Err(ConnectError::Handshake(e)))
                if e.is_extension()
                    && offering
                    && settings.compression.mode == CompressionMode::Prefer =>
            {
                offering = false;
                // Nothing is held between the two attempts either.
                buffers = None;
                continue;
            }
            Ok(Err(e)) => {
                let err = ErrorKind::Connect(e);
                link.status(Status::Error(&err));
                link.event(Event::Error(err));
                None
            }
            Ok(Ok((mut io, subprotocol_len, received, held, codec))) => {
                backoff.reset();
                offering = true;
                link.status(Status::Connected {
                    reconnect: connected_before,
                });
                connected_before = true;
                link.status(Status::State(State::Connected));
                let mut conn = Connection::with_received(held, settings.delivery, received);
                if let Some(codec) = codec {
                    conn.set_codec(codec);
                }
                link.status(Status::Memory(&with_io::<P>(conn.report(), &io)));
                {
                    // The subprotocol was copied to the front of the send buffer.
                    let sp = subprotocol_len.and_then(|n| {
                        core::str::from_utf8(&conn.buffers().tx.block.as_ref()[..n]).ok()
                    });
                    link.event(Event::Connected { subprotocol: sp });
                }
                let end = session(settings, &mut conn, &mut io, port, link).await;
                // Down: the buffers go back with the connection.
                drop(conn);
                drop(io);
                Some(end)
            }
        };
        drop(memory);
        // Nothing is held while down, also when it was a connect that failed.
        buffers = None;
        link.status(Status::Memory(&[]));
        match end {
            Some(SessionEnd::Stopped) => {
                link.event(Event::Disconnected(DisconnectReason::Stopped));
                return stopped(buffers, link, Exit::Stopped);
            }
            Some(SessionEnd::UserClosed) => {
                link.event(Event::Disconnected(DisconnectReason::Closed(
                    CloseCode::NORMAL,
                )));
                return stopped(buffers, link, Exit::Closed);
            }
            Some(SessionEnd::Ended(reason)) => link.event(Event::Disconnected(reason)),
            None => {}
        }
        if !settings.reconnect.enabled {
            return stopped(buffers, link, Exit::Disconnected);
        }
        if link.stop_requested() {
            return stopped(buffers, link, Exit::Stopped);
        }
        link.status(Status::State(State::Backoff));
        let delay = backoff.next_delay(random_u64(port));
        let mut sleep = pin!(port.sleep_ms(delay));
        loop {
            match select(sleep.as_mut(), link.recv()).await {
                Either::First(()) => break,
                Either::Second(Command::Send(o)) => o.complete(Err(SendError::NotConnected)),
                Either::Second(Command::Close(_)) => return stopped(buffers, link, Exit::Closed),
                Either::Second(Command::Stop) => return stopped(buffers, link, Exit::Stopped),
            }
        }
    }
}

/// The blocks a connection holds: the client's (buffers, codec) and its transport's.
pub(super) fn with_io<P: Port>(
    mut blocks: crate::buffers::MemoryReport,
    io: &P::Io<'_>,
) -> crate::buffers::MemoryReport {
    for b in P::io_memory(io) {
        // MAX_BLOCKS leaves room for the TLS session's blocks.
        let _ = blocks.push(*b);
    }
    blocks
}

/// The blocks held now (none while down).
fn report<M: MemoryRegions>(buffers: &Option<Buffers<M>>) -> crate::buffers::MemoryReport {
    buffers.as_ref().map(Buffers::report).unwrap_or_default()
}

fn stopped<M: MemoryRegions, L: Link>(
    buffers: Option<Buffers<M>>,
    link: &mut L,
    exit: Exit,
) -> (Option<Buffers<M>>, Exit) {
    // Fail whatever is still queued: its senders must not wait for a task that is gone.
    while let Some(cmd) = link.try_recv() {
        if let Command::Send(o) = cmd {
            o.complete(Err(SendError::Closed));
        }
    }
    link.status(Status::State(State::Stopped));
    (buffers, exit)
}
