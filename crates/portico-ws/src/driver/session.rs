//! One open connection: decode and deliver what arrives, report round trips and memory,
//! ping on the interval, and race the socket against the handle's commands and the
//! nearest deadline. It returns why it ended (`SessionEnd`), which the run loop turns
//! into an event and a decision to reconnect or stop.

use embassy_futures::select::{select3, Either3};
use embedded_io_async::Read;
use portico::placement::MemoryRegions;

use crate::close::CloseCode;
use crate::connection::{Connection, Incoming, ProtocolError};
use crate::event::{DisconnectReason, ErrorKind, Event};
use crate::frame::Opcode;
use crate::mask::MaskRng;
use crate::settings::Settings;

use super::command::{command, Step};
use super::port::PortRng;
use super::run::with_io;
use super::write::{flush_control, write_frame};
use super::{Link, Port, Status};

pub(super) enum SessionEnd {
    Stopped,
    UserClosed,
    Ended(DisconnectReason),
}

pub(super) async fn session<M, P, L>(
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
    protocol_error: Option<ProtocolError>,
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
