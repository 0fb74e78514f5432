//! One WebSocket connection's life after the handshake: wait holding no buffer, lease
//! one to receive, hand whole messages to the application, answer pings and closes,
//! keep the connection alive with pings, close it when it goes quiet.

use core::pin::pin;

use embassy_futures::select::{select3, Either3};
use portico::conn::TimeoutPhase;
use portico::server::{Buffers, Env, ServerConfig, Transport};

use super::sender::{SendState, Sender};
use super::session::{Session, MIN_RX};
use super::{Message, WsConfig, WsHandler, TRY_AGAIN_LATER};
use crate::close::{CloseCode, CloseFrame};
use crate::connection::{Incoming, ProtocolError};
use crate::frame::Opcode;

/// How a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The closing handshake completed; the client's code (or ours, if the client
    /// never answered within the close deadline).
    Closed(CloseCode),
    /// The client broke the protocol; it was sent the matching close code.
    Protocol(ProtocolError),
    /// No answer to the keep-alive ping in time (closed with 1001).
    Unresponsive,
    /// The client left, a write failed or missed the send deadline, or a frame's rest
    /// did not arrive in time.
    Gone,
    /// No buffer could be leased to receive a message (closed with 1013).
    NoBuffer,
}

/// Runs a WebSocket connection after [`super::accept`] until it ends; the port ends it
/// early by dropping the future (an eviction). See the [module docs](super) for memory
/// and deadlines.
pub async fn run<H, T, E, B>(
    handler: &mut H,
    io: &mut T,
    env: &E,
    cfg: &ServerConfig,
    buffers: &B,
    ws: &WsConfig,
) -> End
where
    H: WsHandler,
    T: Transport,
    E: Env,
    B: Buffers,
{
    let mut st = SendState::default();
    let mut session = Session::new();
    let send_timeout = cfg.timeouts.send;
    macro_rules! sender {
        () => {
            Sender {
                io: &mut *io,
                env,
                send_timeout,
                state: &mut st,
            }
        };
    }
    if handler.opened(&mut sender!()).await.is_err() {
        return End::Gone;
    }
    let mut heard = env.now();
    let mut pinged = false;
    loop {
        if !st.closing {
            // At rest: no buffer held. Wait for the client, the application, or the
            // keep-alive clock.
            let quiet = if pinged {
                ws.pong_timeout
            } else {
                ws.ping_after
            };
            let wait = (heard + quiet) - env.now();
            let woke = {
                let readable = pin!(io.readable());
                let wake = pin!(handler.wake());
                let tick = pin!(env.sleep(wait));
                select3(readable, wake, tick).await
            };
            match woke {
                Either3::First(Err(_)) => return End::Gone,
                Either3::First(Ok(())) => {}
                Either3::Second(()) => {
                    if handler.push(&mut sender!()).await.is_err() && !st.closing {
                        return End::Gone;
                    }
                    continue;
                }
                Either3::Third(()) => {
                    if pinged {
                        env.timed_out(TimeoutPhase::Idle);
                        let going = CloseFrame::new(CloseCode::GOING_AWAY, "")
                            .unwrap_or(CloseFrame::empty());
                        let _ = sender!().close_with(&going).await;
                        return End::Unresponsive;
                    }
                    if sender!().write(true, Opcode::Ping, b"").await.is_err() {
                        return End::Gone;
                    }
                    pinged = true;
                    heard = env.now();
                    continue;
                }
            }
        }
        // Something to receive (or our close to see answered): lease a buffer.
        let lease = match env.timeout(cfg.timeouts.queue, buffers.acquire()).await {
            Ok(Some(l)) => l,
            _ => {
                let frame = CloseFrame::new(TRY_AGAIN_LATER, "").unwrap_or(CloseFrame::empty());
                let _ = sender!().close_with(&frame).await;
                return End::NoBuffer;
            }
        };
        let mut lease = lease;
        let buf: &mut [u8] = &mut lease;
        let rx_len = ws.rx_bytes.max(MIN_RX).min(buf.len());
        let (rx, msg) = buf.split_at_mut(rx_len);
        let mut failure = None;
        loop {
            if st.closing && !session.close_sent() {
                session.note_close_sent();
            }
            let deadline = if st.closing {
                ws.close
            } else {
                cfg.timeouts.body
            };
            let space = session.rx_space(rx);
            let n = match env.timeout(deadline, io.read(space)).await {
                Ok(Ok(n)) if n > 0 => n,
                Ok(_) => return failure.map_or(End::Gone, End::Protocol),
                Err(_) if st.closing => {
                    return failure.map_or(End::Closed(CloseCode::NORMAL), End::Protocol)
                }
                Err(_) => {
                    env.timed_out(TimeoutPhase::Body);
                    return End::Gone;
                }
            };
            env.touch();
            if failure.is_some() {
                // After a protocol error the stream cannot be parsed: whatever comes
                // after our close (the client's close, most likely) ends it.
                return failure.map_or(End::Gone, End::Protocol);
            }
            session.rx_filled(n);
            heard = env.now();
            pinged = false;
            loop {
                let event = session.poll(rx, msg);
                match event {
                    Ok(None) => break,
                    Ok(Some(Incoming::Data {
                        opcode, payload, ..
                    })) => {
                        let m = if opcode == Opcode::Text {
                            // Checked by the session.
                            Message::Text(core::str::from_utf8(payload).unwrap_or(""))
                        } else {
                            Message::Binary(payload)
                        };
                        if handler.message(m, &mut sender!()).await.is_err() && st.broken {
                            return End::Gone;
                        }
                    }
                    Ok(Some(Incoming::Ping(_))) => {}
                    Ok(Some(Incoming::Pong(p))) => handler.pong(p),
                    Ok(Some(Incoming::Close { code, .. })) => {
                        // Our answer (unless we had closed first), then the server
                        // closes the TCP connection first (RFC 6455 §7.1.1).
                        let _ = flush_control(&mut session, &mut sender!()).await;
                        return failure.map_or(End::Closed(code), End::Protocol);
                    }
                    Err(e) => failure = Some(e),
                }
                if flush_control(&mut session, &mut sender!()).await.is_err() {
                    return failure.map_or(End::Gone, End::Protocol);
                }
            }
            if session.at_rest() && !st.closing {
                break; // the lease goes back
            }
        }
    }
}

/// Sends the pong or close the session has queued.
async fn flush_control<T: Transport, E: Env>(
    session: &mut Session,
    out: &mut Sender<'_, T, E>,
) -> Result<(), ()> {
    while let Some((op, payload)) = session.take_control() {
        let r = if op == Opcode::Close {
            if out.state.closing {
                continue; // ours went first
            }
            out.state.closing = true;
            out.write(true, op, &payload).await
        } else {
            out.write(true, op, &payload).await
        };
        r.map_err(drop)?;
    }
    Ok(())
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use core::cell::Cell;

    use portico::server::{Buffers, Env, ServerConfig, Timeouts};
    use portico::testing::TokioEnv;

    use super::*;
    use crate::server::{Message, SendError, Sender, WsConfig, WsHandler};

    /// A client that never reads: every write waits forever. Reads wait too.
    struct Stuck;

    impl embedded_io::ErrorType for Stuck {
        type Error = core::convert::Infallible;
    }
    impl embedded_io_async::Read for Stuck {
        async fn read(&mut self, _: &mut [u8]) -> Result<usize, Self::Error> {
            core::future::pending().await
        }
    }
    impl embedded_io_async::Write for Stuck {
        async fn write(&mut self, _: &[u8]) -> Result<usize, Self::Error> {
            core::future::pending().await
        }
        async fn flush(&mut self) -> Result<(), Self::Error> {
            Ok(())
        }
    }
    impl Transport for Stuck {
        async fn readable(&mut self) -> Result<(), Self::Error> {
            core::future::pending().await
        }
    }

    struct NoBuffers;
    impl Buffers for NoBuffers {
        type Lease<'a> = &'a mut [u8];
        async fn acquire(&self) -> Option<Self::Lease<'_>> {
            None
        }
    }

    /// Greets on open; counts how often it was allowed to send.
    struct Greeter(Cell<u32>);

    impl WsHandler for Greeter {
        async fn opened<T: Transport, E: Env>(
            &mut self,
            out: &mut Sender<'_, T, E>,
        ) -> Result<(), SendError<T::Error>> {
            self.0.set(self.0.get() + 1);
            let r = out.text("hello").await;
            assert!(matches!(r, Err(SendError::Timeout)));
            // Once a write missed its deadline, nothing more is tried.
            assert!(matches!(out.text("again").await, Err(SendError::Timeout)));
            r
        }
        async fn message<T: Transport, E: Env>(
            &mut self,
            _: Message<'_>,
            _: &mut Sender<'_, T, E>,
        ) -> Result<(), SendError<T::Error>> {
            Ok(())
        }
    }

    #[test]
    fn a_client_that_does_not_read_is_cut_at_the_send_deadline() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let cfg = ServerConfig {
            timeouts: Timeouts {
                send: portico::time::Duration::from_millis(20),
                ..Timeouts::const_default()
            },
            ..ServerConfig::const_default()
        };
        let env = TokioEnv::default();
        let mut h = Greeter(Cell::new(0));
        let end = rt.block_on(run(
            &mut h,
            &mut Stuck,
            &env,
            &cfg,
            &NoBuffers,
            &WsConfig::default(),
        ));
        assert_eq!(end, End::Gone);
        assert_eq!(h.0.get(), 1);
        assert_eq!(*env.timeouts.borrow(), [TimeoutPhase::Send]);
    }
}
