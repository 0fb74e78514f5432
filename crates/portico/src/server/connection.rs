//! The per-connection loop: read a head, check it, dispatch, respond, repeat.

use super::exchange::{write_with, Exchange};
use super::{Env, Handler, Outcome, Reply, ServeError, ServerConfig, Transport};
use crate::conn::{ConnState, TimeoutPhase};
use crate::http::{HeadWriter, RequestHead, Status};

/// Serves requests on `io` until the connection goes idle, must close, or is upgraded.
///
/// `buf` is the connection's buffer (a pool lease); `filled` says how many bytes in it
/// are already read and not yet consumed, and is updated on return. Returns
/// [`Outcome::Idle`] only with `*filled == 0`, so the caller may release the buffer (and
/// report the connection idle once its response has left).
///
/// Malformed input is answered here with the right 4xx/5xx status and
/// `Connection: close`; the handler only ever sees heads that passed every check.
pub async fn serve<T: Transport, E: Env, H: Handler>(
    io: &mut T,
    buf: &mut [u8],
    filled: &mut usize,
    handler: &H,
    env: &E,
    cfg: &ServerConfig,
) -> Result<Outcome<H::Upgrade>, ServeError<T::Error>> {
    // Keep room behind the request for the response head: reads never fill it.
    let read_limit = buf.len().saturating_sub(cfg.response_reserve).max(1);
    let mut limits = cfg.limits;
    limits.max_head = limits.max_head.min(read_limit);
    loop {
        env.state(ConnState::Head);
        let deadline = env.now() + cfg.timeouts.head;
        let head_len = loop {
            if *filled > 0 {
                match RequestHead::parse(&buf[..*filled], &limits) {
                    Ok(Some(h)) => break h.len,
                    Ok(None) => {}
                    Err(e) => {
                        let (_, free) = buf.split_at_mut(*filled);
                        let _ = send_error(io, env, cfg, free, e.status(), e.message()).await;
                        return Ok(Outcome::Close);
                    }
                }
            }
            let remaining = deadline - env.now();
            let read = io.read(&mut buf[*filled..read_limit]);
            let n = match env.timeout(remaining, read).await {
                Err(_) => {
                    env.timed_out(TimeoutPhase::Head);
                    if *filled > 0 {
                        let (_, free) = buf.split_at_mut(*filled);
                        let _ = send_error(
                            io,
                            env,
                            cfg,
                            free,
                            Status::REQUEST_TIMEOUT,
                            "request head not received in time",
                        )
                        .await;
                    }
                    return Ok(Outcome::Close);
                }
                Ok(Err(e)) => return Err(ServeError::Io(e)),
                Ok(Ok(0)) => return Ok(Outcome::Close),
                Ok(Ok(n)) => n,
            };
            env.touch();
            *filled += n;
        };

        let (head_bytes, rest) = buf.split_at_mut(head_len);
        let head = match RequestHead::parse(head_bytes, &limits) {
            Ok(Some(h)) => h,
            // Parsed a moment ago; the bytes have not changed.
            _ => return Ok(Outcome::Close),
        };
        let unread = *filled - head_len;
        let mut ex = Exchange::new(io, env, cfg, head, rest, unread);
        env.state(ConnState::Handler);
        let reply = match handler.handle(&mut ex).await {
            Ok(r) => r,
            Err(ServeError::BadBody) if !ex.responded() => {
                ex.close_after();
                ex.respond_text(Status::BAD_REQUEST, "malformed request body")
                    .await?;
                return Ok(Outcome::Close);
            }
            Err(ServeError::BodyTooLarge) if !ex.responded() => {
                ex.close_after();
                ex.respond_text(Status::PAYLOAD_TOO_LARGE, "request body too large")
                    .await?;
                return Ok(Outcome::Close);
            }
            Err(e) => return Err(e),
        };
        if let Reply::Upgrade(u) = reply {
            return Ok(Outcome::Upgrade(u));
        }
        if !ex.responded() {
            ex.close_after();
            ex.respond_text(Status::INTERNAL_SERVER_ERROR, "handler sent no response")
                .await?;
        }
        let (_, _, keep_alive, body_done, _) = ex.finish_peek();
        let mut keep = keep_alive;
        if keep && !body_done {
            keep = ex.drain().await.unwrap_or(false);
        }
        let (start, end, ka, _, _) = ex.finish();
        keep &= ka;
        env.request_done();
        if !keep {
            return Ok(Outcome::Close);
        }
        // Pipelined bytes move to the front for the next round.
        buf.copy_within(head_len + start..head_len + end, 0);
        *filled = end - start;
        if *filled == 0 {
            // Idle once the response has left: the caller reports it (the engine after
            // flushing, so a response still in flight is never taken for idle).
            return Ok(Outcome::Idle);
        }
    }
}

async fn send_error<T: Transport, E: Env>(
    io: &mut T,
    env: &E,
    cfg: &ServerConfig,
    scratch: &mut [u8],
    status: Status,
    message: &str,
) -> Result<(), ServeError<T::Error>> {
    env.state(ConnState::Response);
    let mut w = HeadWriter::new(scratch, status).map_err(ServeError::Header)?;
    w.header("Content-Type", "text/plain; charset=utf-8")
        .and_then(|w| w.header_fmt("Content-Length", format_args!("{}", message.len() + 1)))
        .and_then(|w| w.header("Connection", "close"))
        .and_then(|w| super::stamp::stamp(w, cfg))
        .map_err(ServeError::Header)?;
    let n = w.finish().map_err(ServeError::Header)?;
    write_with(io, env, cfg, &[&scratch[..n], message.as_bytes(), b"\n"]).await
}
