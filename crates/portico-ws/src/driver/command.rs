//! One command from a handle, carried out on an open connection: a send (split into
//! frames, or compressed, within the fixed send buffer), a close, or a stop. The session
//! calls it both for a command that woke it and for those the handler queued while
//! events were being delivered.

use embedded_io_async::Write;
use portico::placement::MemoryRegions;

use crate::connection::Connection;
use crate::event::DisconnectReason;
use crate::frame::Opcode;
use crate::mask::MaskRng;
use crate::settings::Settings;

use super::port::PortRng;
use super::session::SessionEnd;
use super::write::{flush_control, write_frame};
use super::{Command, Link, Outgoing, Port, SendError};

pub(super) enum Step {
    Continue,
    End(SessionEnd),
}

#[allow(clippy::too_many_arguments)] // the session's state, passed by piece
pub(super) async fn command<M: MemoryRegions, P: Port, W: Write, L: Link>(
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
