//! The generic async driver: connect, handshake, run the connection, reconnect — over
//! any `embedded-io-async` transport, on any executor.
//!
//! What the driver needs from its environment is split in two small traits, after
//! `edge-nal`'s factories and `picoserve`'s runtime markers:
//! - [`Port`]: open a transport (TCP, TLS), sleep, read the time, draw random bytes;
//! - [`Link`]: the client's side of the handles — commands in, events and status out.
//!
//! One task runs [`run`]; it owns the transport and the buffers, so no lock is ever held
//! across an await in the receive path (the ESP-IDF client's receive lock starved its
//! senders for 10+ s, #625/#778). Sends reach the task as commands and each frame is
//! written whole, in one call.
//!
//! Futures passed to `select` are dropped when another branch wins, so [`Link::recv`],
//! [`Port::sleep_ms`] and the transport's `read` must be cancel-safe: dropping them must
//! lose nothing (true of tokio sockets, timers and channels, and of embassy-net).
#![allow(async_fn_in_trait)] // Send-ness is decided by each port's concrete types.

use core::pin::pin;

use embassy_futures::select::{select, select3, Either, Either3};
use embedded_io_async::{Read, Write};
use portico::placement::MemoryRegions;

use crate::backoff::Backoff;
use crate::buffers::{BufferSpec, Buffers, MemoryBlock};
use crate::close::{CloseCode, CloseFrame};
use crate::compression::{CompressionMode, Offer};
use crate::connection::{Connection, FrameOrderError, Incoming};
use crate::deflate::Codec;
use crate::event::{ConnectError, DisconnectReason, ErrorKind, Event, State};
use crate::frame::{Decoded, Opcode};
use crate::handshake::{parse_response_offering, write_request_offering, Key, RequestOptions};
use crate::mask::MaskRng;
use crate::settings::Settings;
use crate::url::WsUrl;

/// The environment the driver runs in.
pub trait Port {
    /// Memory one connection borrows for its whole life: a TLS session's record buffers
    /// (`()` when the transport needs none). The driver keeps it beside the connection,
    /// empty (`Default`) until [`connect`](Self::connect) fills it, and drops it with the
    /// connection, so that nothing of it is held between connections (in backoff).
    type Memory: Default;

    /// A connected byte stream (TCP, or TLS over TCP), borrowing its `Memory`.
    ///
    /// It must outlive the borrow whatever `'m` is (no `where Self: 'm`): the host's
    /// tokio client has to prove its task `Send`, which rustc cannot yet do through a
    /// GAT's where-clause (rust-lang/rust#100013). So a port that lends its own data
    /// to connections is `'static` (the device's lives in a `static` anyway).
    type Io<'m>: Read + Write + 'm;

    /// Opens a transport to `url`'s host and port (with TLS for `wss://`, its blocks
    /// placed into `memory`).
    async fn connect<'m>(
        &self,
        url: &WsUrl<'_>,
        memory: &'m mut Self::Memory,
    ) -> Result<Self::Io<'m>, ConnectError>;

    /// Blocks an open connection holds besides the client's buffers (a TLS session's),
    /// for the memory report.
    fn io_memory<'a, 'm>(io: &'a Self::Io<'m>) -> &'a [MemoryBlock] {
        let _ = io;
        &[]
    }

    /// Milliseconds since an arbitrary epoch.
    fn now_ms(&self) -> u64;

    /// Sleeps `ms` milliseconds. Must be cancel-safe.
    async fn sleep_ms(&self, ms: u64);

    /// Fills `dst` with unpredictable bytes (masks, handshake nonces, jitter).
    fn fill_random(&self, dst: &mut [u8]);
}

/// A data frame waiting to be sent, with a way to tell its sender how it went.
pub trait Outgoing {
    /// `Text`, `Binary` or `Continuation`.
    fn opcode(&self) -> Opcode;
    /// Last frame of its message.
    fn fin(&self) -> bool;
    /// The payload (split into several frames if larger than the send buffer).
    fn payload(&self) -> &[u8];
    /// Claims the send for writing; `false` when its sender already gave up (timed out),
    /// in which case it is dropped unsent.
    fn claim(&self) -> bool;
    /// Reports the outcome to the sender.
    fn complete(self, result: Result<(), SendError>);
}

/// A data frame's payload, copied into a `Vec` from the global allocator when it is
/// queued and freed once written or dropped. Nobody waits for its outcome; a port whose
/// senders do wraps it.
#[derive(Debug)]
pub struct Queued {
    opcode: Opcode,
    fin: bool,
    data: alloc::vec::Vec<u8>,
}

impl Queued {
    /// Copies `data`.
    pub fn new(opcode: Opcode, fin: bool, data: &[u8]) -> Self {
        Queued {
            opcode,
            fin,
            data: data.to_vec(),
        }
    }
}

impl Outgoing for Queued {
    fn opcode(&self) -> Opcode {
        self.opcode
    }

    fn fin(&self) -> bool {
        self.fin
    }

    fn payload(&self) -> &[u8] {
        &self.data
    }

    fn claim(&self) -> bool {
        // Nobody waits on it, so nobody can give up on it.
        true
    }

    fn complete(self, _result: Result<(), SendError>) {}
}

/// A command from a handle to the client task.
#[derive(Debug)]
pub enum Command<O> {
    /// Send a data frame.
    Send(O),
    /// Start the closing handshake, then stop (no reconnect).
    Close(CloseFrame),
    /// Stop now (no closing handshake).
    Stop,
}

/// What a status sink is told.
#[derive(Debug, Clone, Copy)]
pub enum Status<'a> {
    /// The state changed.
    State(State),
    /// A connection was established; `reconnect` if it is not the first one.
    Connected {
        /// Not the first connection of this run.
        reconnect: bool,
    },
    /// The latest error.
    Error(&'a ErrorKind),
    /// Round-trip time of the last ping.
    RttMs(u64),
    /// The blocks held now.
    Memory(&'a [MemoryBlock]),
}

/// The client's side of its handles.
pub trait Link {
    /// The queued send type.
    type Out: Outgoing;

    /// Waits for a command to arrive (and returns it) or for a wake-up (`None`: a stop
    /// or a close may have been requested). Must be cancel-safe.
    async fn wait_command(&mut self) -> Option<Command<Self::Out>>;

    /// Waits for the next command; a requested stop comes before anything queued.
    /// Cancel-safe when `wait_command` is.
    async fn recv(&mut self) -> Command<Self::Out> {
        loop {
            if self.stop_requested() {
                return Command::Stop;
            }
            if let Some(c) = self.try_recv() {
                return c;
            }
            if let Some(c) = self.wait_command().await {
                return c;
            }
        }
    }

    /// A command that is already waiting, if any.
    fn try_recv(&mut self) -> Option<Command<Self::Out>>;

    /// Whether the client must stop (checked between steps).
    fn stop_requested(&self) -> bool;

    /// Resolves once a stop is requested (without consuming commands): a write stalled
    /// by the network is abandoned at once instead of after `network_timeout_ms`.
    async fn stopped(&self);

    /// Delivers an event to the user's handler.
    fn event(&mut self, event: Event<'_>);

    /// Records status (state, counters, memory).
    fn status(&mut self, status: Status<'_>);
}

/// Why a send failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// The client is stopped or stopping.
    Closed,
    /// Not connected right now (connecting or in backoff).
    NotConnected,
    /// The send was not done within `send_timeout_ms`; the connection stays up. If the
    /// frame had not started going out, it never will.
    Timeout,
    /// The frame would break message order (see [`FrameOrderError`]).
    Order(FrameOrderError),
    /// Too many sends are waiting.
    QueueFull,
    /// The connection failed while the frame was being written.
    Io,
    /// A control payload over 125 bytes (close reason too long).
    TooLong,
}

impl core::fmt::Display for SendError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SendError::Closed => f.write_str("client is stopped"),
            SendError::NotConnected => f.write_str("not connected"),
            SendError::Timeout => f.write_str("send timed out"),
            SendError::Order(e) => write!(f, "{e}"),
            SendError::QueueFull => f.write_str("send queue full"),
            SendError::Io => f.write_str("connection failed during send"),
            SendError::TooLong => f.write_str("payload too long"),
        }
    }
}

impl core::error::Error for SendError {}

/// Why `close` was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseError {
    /// The client is already stopped (or the run the caller belongs to has ended).
    Closed,
    /// The code or reason cannot be sent.
    Invalid(crate::close::CloseBuildError),
}

impl core::fmt::Display for CloseError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CloseError::Closed => f.write_str("client is stopped"),
            CloseError::Invalid(e) => write!(f, "{e}"),
        }
    }
}

impl core::error::Error for CloseError {}

/// Refuses control opcodes in a data send: pings and closes are the client's own.
#[cfg(any(feature = "tokio", feature = "embassy"))]
pub(crate) fn check_data_opcode(op: Opcode) -> Result<(), SendError> {
    if op.is_control() {
        return Err(SendError::Order(FrameOrderError::NoFragmentInProgress));
    }
    Ok(())
}

/// The non-blocking sends of every port's handle, written once: each handle type
/// supplies `fn queue(&self, Opcode, bool, &[u8]) -> Result<(), SendError>`, which
/// copies the payload and queues it for the client task without waiting.
#[cfg(any(feature = "tokio", feature = "embassy"))]
macro_rules! try_send_methods {
    () => {
        /// Queues a text message without waiting (safe inside the handler).
        pub fn try_send_text(&self, text: &str) -> Result<(), $crate::driver::SendError> {
            self.try_send_fragment($crate::frame::Opcode::Text, true, text.as_bytes())
        }

        /// Queues a binary message without waiting.
        pub fn try_send_binary(&self, data: &[u8]) -> Result<(), $crate::driver::SendError> {
            self.try_send_fragment($crate::frame::Opcode::Binary, true, data)
        }

        /// Queues one fragment (`Text`/`Binary` to begin, `Continuation` after) without
        /// waiting. Fails with `SendError::Closed` when the client is stopped or
        /// stopping, `SendError::QueueFull` when the send queue is full.
        pub fn try_send_fragment(
            &self,
            opcode: $crate::frame::Opcode,
            fin: bool,
            data: &[u8],
        ) -> Result<(), $crate::driver::SendError> {
            $crate::driver::check_data_opcode(opcode)?;
            self.queue(opcode, fin, data)
        }
    };
}
#[cfg(any(feature = "tokio", feature = "embassy"))]
pub(crate) use try_send_methods;

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

struct PortRng<'p, P: Port>(&'p P);

impl<P: Port> MaskRng for PortRng<'_, P> {
    fn fill(&mut self, dst: &mut [u8]) {
        self.0.fill_random(dst)
    }
}

fn random_u64<P: Port>(port: &P) -> u64 {
    let mut b = [0u8; 8];
    port.fill_random(&mut b);
    u64::from_le_bytes(b)
}

enum SessionEnd {
    Stopped,
    UserClosed,
    Ended(DisconnectReason),
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
fn with_io<P: Port>(
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

/// What a successful connect hands over: the transport, the length of the chosen
/// subprotocol (copied to the start of the send buffer), the range of the receive buffer
/// that already holds frames, the buffers, and the codec if compression was agreed.
type Connected<'m, P, M> = (
    <P as Port>::Io<'m>,
    Option<usize>,
    core::ops::Range<usize>,
    Buffers<M>,
    Option<Codec<<M as MemoryRegions>::Block>>,
);

/// Where a connect goes and what it asks for.
#[derive(Clone, Copy)]
struct Upgrade<'a> {
    target: &'a Target<'a>,
    url: &'a WsUrl<'a>,
    /// permessage-deflate, when offered this attempt.
    offer: Option<&'a Offer>,
}

/// TCP (+TLS) and the upgrade handshake, with the buffers `held` (the run's first) or
/// placed per `spec` once the transport is up, offering permessage-deflate when `offer`
/// (see [`run`]: a server whose answer to the offer must be refused fails the attempt,
/// and under `Prefer` the next attempt, at once, goes without it).
async fn connect<'m, M: MemoryRegions + Clone, P: Port>(
    settings: &Settings,
    to: Upgrade<'_>,
    held: &mut Option<Buffers<M>>,
    spec: &BufferSpec<M>,
    port: &P,
    memory: &'m mut P::Memory,
) -> Result<Connected<'m, P, M>, ConnectError> {
    let Upgrade { target, url, offer } = to;
    if settings.compression.mode == CompressionMode::Require && offer.is_none() {
        return Err(ConnectError::CompressionRequired);
    }
    let mut io = port.connect(url, memory).await?;
    let mut owned = match held.take() {
        Some(b) => b,
        None => spec.allocate().map_err(|_| ConnectError::Memory)?,
    };
    let buffers = &mut owned;
    let key = Key::generate(&mut PortRng(port));
    let n = write_request_offering(buffers.tx.block.as_mut(), url, &key, &target.request, offer)
        .map_err(ConnectError::Request)?;
    io.write_all(&buffers.tx.block.as_ref()[..n])
        .await
        .map_err(|_| ConnectError::Io)?;
    io.flush().await.map_err(|_| ConnectError::Io)?;
    let mut filled = 0;
    loop {
        let rx = buffers.rx.block.as_mut();
        if filled == rx.len() {
            // A response head larger than the receive buffer: refuse rather than grow.
            return Err(ConnectError::Handshake(
                crate::handshake::ResponseError::Malformed,
            ));
        }
        let got = io
            .read(&mut rx[filled..])
            .await
            .map_err(|_| ConnectError::Io)?;
        if got == 0 {
            return Err(ConnectError::Io);
        }
        filled += got;
        let rx = buffers.rx.block.as_ref();
        match parse_response_offering(&rx[..filled], &key, target.request.subprotocols, offer)
            .map_err(ConnectError::Handshake)?
        {
            Decoded::Incomplete { .. } => continue,
            Decoded::Complete { value, consumed } => {
                let required = settings.compression.mode == CompressionMode::Require;
                let codec = match (value.deflate, settings.compression.plan()) {
                    (Some(agreed), Some(plan)) => Some(
                        Codec::new(buffers, plan, agreed).map_err(|_| ConnectError::OutOfMemory)?,
                    ),
                    _ if required => return Err(ConnectError::CompressionRequired),
                    _ => None,
                };
                let sp = value.subprotocol.map(|s| {
                    let tx = buffers.tx.block.as_mut();
                    let n = s.len().min(tx.len());
                    tx[..n].copy_from_slice(&s.as_bytes()[..n]);
                    n
                });
                return Ok((io, sp, consumed..filled, owned, codec));
            }
        }
    }
}

/// Writes `frame` with the network timeout. `Err(reason)` ends the connection.
async fn write_frame<P: Port, W: Write, L: Link>(
    settings: &Settings,
    io: &mut W,
    port: &P,
    link: &L,
    frame: &[u8],
) -> Result<(), DisconnectReason> {
    let write = async {
        io.write_all(frame).await?;
        io.flush().await
    };
    match select3(
        write,
        port.sleep_ms(settings.network_timeout_ms),
        link.stopped(),
    )
    .await
    {
        Either3::First(Ok(())) => Ok(()),
        Either3::First(Err(_)) => Err(DisconnectReason::ConnectionLost),
        Either3::Second(()) => Err(DisconnectReason::WriteTimeout),
        // Half a frame is on the wire: the connection cannot continue anyway.
        Either3::Third(()) => Err(DisconnectReason::Stopped),
    }
}

async fn flush_control<M: MemoryRegions, P: Port, W: Write, L: Link>(
    settings: &Settings,
    conn: &mut Connection<M>,
    io: &mut W,
    port: &P,
    link: &L,
) -> Result<(), DisconnectReason> {
    while let Some((op, payload)) = conn.take_control() {
        let mask = PortRng(port).mask();
        let frame = conn
            .encode(true, op, mask, &payload)
            .map_err(|_| DisconnectReason::ConnectionLost)?;
        write_frame(settings, io, port, link, frame).await?;
    }
    Ok(())
}

enum Step {
    Continue,
    End(SessionEnd),
}

#[allow(clippy::too_many_arguments)] // the session's state, passed by piece
async fn command<M: MemoryRegions, P: Port, W: Write, L: Link>(
    settings: &Settings,
    conn: &mut Connection<M>,
    io: &mut W,
    port: &P,
    link: &L,
    cmd: Command<L::Out>,
    close_deadline: &mut Option<u64>,
    user_closed: &mut bool,
) -> Step {
    match cmd {
        Command::Stop => Step::End(SessionEnd::Stopped),
        Command::Close(frame) => {
            if !conn.close_sent() {
                conn.start_close(frame);
                if let Err(r) = flush_control(settings, conn, io, port, link).await {
                    return Step::End(SessionEnd::Ended(r));
                }
            }
            *user_closed = true;
            close_deadline.get_or_insert(port.now_ms() + settings.close_timeout_ms);
            Step::Continue
        }
        Command::Send(out) => {
            if !out.claim() {
                return Step::Continue;
            }
            if let Err(e) = conn.begin_send(out.opcode(), out.fin()) {
                out.complete(Err(SendError::Order(e)));
                return Step::Continue;
            }
            let payload = out.payload();
            // A whole message is compressed into as many frames as it takes; otherwise a
            // payload larger than the send buffer goes out as several frames of one
            // message. Either way memory stays fixed and each frame is one write.
            let deflate = conn.compressing()
                && out.fin()
                && out.opcode() != Opcode::Continuation
                && payload.len() >= settings.compression.min_size;
            if deflate {
                conn.begin_deflate();
            }
            let max = conn.max_frame_payload();
            let mut op = out.opcode();
            let mut rest = payload;
            let mut first = true;
            loop {
                let mask = PortRng(port).mask();
                let encoded = if deflate {
                    conn.encode_deflated(first, out.opcode(), mask, payload)
                } else {
                    let n = rest.len().min(max);
                    let last = n == rest.len();
                    let piece = &rest[..n];
                    rest = &rest[n..];
                    let frame = conn.encode(last && out.fin(), op, mask, piece);
                    op = Opcode::Continuation;
                    frame.map(|f| (f, last))
                };
                let Ok((frame, done)) = encoded else {
                    out.complete(Err(SendError::TooLong));
                    return Step::Continue;
                };
                if let Err(r) = write_frame(settings, io, port, link, frame).await {
                    out.complete(Err(if r == DisconnectReason::Stopped {
                        SendError::Closed
                    } else {
                        SendError::Io
                    }));
                    return Step::End(match r {
                        DisconnectReason::Stopped => SessionEnd::Stopped,
                        r => SessionEnd::Ended(r),
                    });
                }
                first = false;
                if done {
                    break;
                }
            }
            out.complete(Ok(()));
            Step::Continue
        }
    }
}

async fn session<M, P, L>(
    settings: &Settings,
    conn: &mut Connection<M>,
    io: &mut P::Io<'_>,
    port: &P,
    link: &mut L,
) -> SessionEnd
where
    M: MemoryRegions,
    P: Port,
    L: Link,
{
    let mut next_ping = settings.ping_interval_ms.map(|i| port.now_ms() + i);
    let mut ping_sent_at: Option<u64> = None;
    let mut close_deadline: Option<u64> = None;
    let mut user_closed = false;
    let mut reported_bytes = 0usize;
    let mut protocol_error = None;
    let mut peer_close = None;
    loop {
        // Decode and deliver everything already buffered.
        loop {
            let now = port.now_ms();
            match conn.poll() {
                Ok(Some(inc)) => match inc {
                    Incoming::Data {
                        opcode,
                        fin,
                        payload,
                    } => link.event(Event::Data {
                        opcode,
                        fin,
                        payload,
                    }),
                    Incoming::Ping(_) => {}
                    Incoming::Pong(_) => {
                        if let Some(at) = ping_sent_at.take() {
                            link.status(Status::RttMs(now.saturating_sub(at)));
                        }
                    }
                    Incoming::Close { code, .. } => {
                        peer_close = Some(code);
                        link.event(Event::Closed(code));
                        close_deadline.get_or_insert(now + settings.close_timeout_ms);
                    }
                },
                Ok(None) => break,
                Err(e) => {
                    protocol_error = Some(e);
                    let err = ErrorKind::Protocol(e);
                    link.status(Status::Error(&err));
                    link.event(Event::Error(err));
                    close_deadline.get_or_insert(now + settings.close_timeout_ms);
                }
            }
            let report = conn.report();
            let total = report.iter().map(|b| b.bytes).sum();
            if total != reported_bytes {
                reported_bytes = total;
                link.status(Status::Memory(&with_io::<P>(report, io)));
            }
            if let Err(r) = flush_control(settings, conn, io, port, link).await {
                return SessionEnd::Ended(r);
            }
            if link.stop_requested() {
                return SessionEnd::Stopped;
            }
            // Answer sends queued by the handler right away, in order with the data.
            while let Some(cmd) = link.try_recv() {
                match command(
                    settings,
                    conn,
                    io,
                    port,
                    &*link,
                    cmd,
                    &mut close_deadline,
                    &mut user_closed,
                )
                .await
                {
                    Step::Continue => {}
                    Step::End(e) => return e,
                }
            }
        }
        if let Err(r) = flush_control(settings, conn, io, port, link).await {
            return SessionEnd::Ended(r);
        }
        let now = port.now_ms();
        if close_deadline.is_some_and(|d| now >= d) {
            return finish_close(user_closed, protocol_error, peer_close);
        }
        if let Some(at) = ping_sent_at {
            if now >= at + settings.pong_timeout_ms {
                return SessionEnd::Ended(DisconnectReason::PongTimeout);
            }
        }
        if next_ping.is_some_and(|t| now >= t) && !conn.close_sent() {
            let mask = PortRng(port).mask();
            let frame = conn.encode(true, Opcode::Ping, mask, b"portico");
            if let Ok(frame) = frame {
                if let Err(r) = write_frame(settings, io, port, link, frame).await {
                    return SessionEnd::Ended(r);
                }
            }
            if ping_sent_at.is_none() {
                ping_sent_at = Some(now);
            }
            next_ping = settings.ping_interval_ms.map(|i| now + i);
        }
        let deadline = [
            next_ping,
            ping_sent_at.map(|t| t + settings.pong_timeout_ms),
            close_deadline,
        ]
        .into_iter()
        .flatten()
        .min();
        let wait = deadline.map_or(u64::MAX / 4, |d| d.saturating_sub(now).max(1));
        let space = conn.rx_space();
        if space.is_empty() {
            return SessionEnd::Ended(DisconnectReason::ConnectionLost);
        }
        match select3(io.read(space), link.recv(), port.sleep_ms(wait)).await {
            Either3::First(Ok(0)) | Either3::First(Err(_)) => {
                return if conn.close_received() || conn.close_sent() {
                    finish_close(user_closed, protocol_error, peer_close)
                } else {
                    let err = ErrorKind::Io;
                    link.status(Status::Error(&err));
                    SessionEnd::Ended(DisconnectReason::ConnectionLost)
                };
            }
            Either3::First(Ok(n)) => conn.rx_filled(n),
            Either3::Second(cmd) => {
                match command(
                    settings,
                    conn,
                    io,
                    port,
                    &*link,
                    cmd,
                    &mut close_deadline,
                    &mut user_closed,
                )
                .await
                {
                    Step::Continue => {}
                    Step::End(e) => return e,
                }
            }
            Either3::Third(()) => {}
        }
    }
}

fn finish_close(
    user_closed: bool,
    protocol_error: Option<crate::connection::ProtocolError>,
    peer_close: Option<CloseCode>,
) -> SessionEnd {
    if user_closed {
        return SessionEnd::UserClosed;
    }
    if let Some(e) = protocol_error {
        return SessionEnd::Ended(DisconnectReason::Protocol(e));
    }
    // The peer's code; an empty close frame means "no status".
    SessionEnd::Ended(DisconnectReason::Closed(
        peer_close.unwrap_or(CloseCode::ABNORMAL),
    ))
}
