//! The fixed answers of the access checks and of login/logout, written by one function.
//!
//! Every distinct header closure handed to `Exchange::respond` is a new copy of the
//! response writer in the binary; a dozen refusals written inline cost the firmware tens
//! of kilobytes of flash. Described as data and written here, they share one copy.

#[cfg(feature = "auth")]
use portico::guard::{token, Claims, SessionKey};
use portico::http::Status;
use portico::server::{Env, Exchange, ServeError, Transport};

#[cfg(feature = "auth")]
use crate::security::SESSION_COOKIE;

/// What the session cookie does in this answer.
#[derive(Clone, Copy)]
pub enum Cookie<'a> {
    /// Nothing.
    Keep,
    /// Set a fresh session signed now with this key and these claims (signed inside
    /// the head writer, so the token is never held across the write), for the browser to
    /// keep this long (`Max-Age`).
    #[cfg(feature = "auth")]
    Set(&'a SessionKey, Claims, portico::time::Duration),
    /// Clear it (logout).
    Clear,
    #[doc(hidden)]
    #[cfg(not(feature = "auth"))]
    _Unused(core::marker::PhantomData<&'a ()>),
}

/// One answer.
pub struct Answer<'a> {
    /// The status.
    pub status: Status,
    /// The body.
    pub body: &'a [u8],
    /// JSON, else plain text.
    pub json: bool,
    /// Adds `WWW-Authenticate: Bearer realm="portico"` (every `401`).
    pub challenge: bool,
    /// Adds `Retry-After` (seconds).
    pub retry_after_s: Option<u64>,
    /// The session cookie.
    pub cookie: Cookie<'a>,
    /// Closes the connection after it.
    pub close: bool,
}

impl<'a> Answer<'a> {
    /// A JSON answer with no extras.
    pub const fn json(status: Status, body: &'a [u8]) -> Self {
        Answer {
            status,
            body,
            json: true,
            challenge: false,
            retry_after_s: None,
            cookie: Cookie::Keep,
            close: false,
        }
    }

    /// A plain-text answer with no extras.
    pub const fn text(status: Status, body: &'a [u8]) -> Self {
        Answer {
            json: false,
            ..Answer::json(status, body)
        }
    }

    /// `401` with its challenge.
    pub const fn unauthorized(body: &'a [u8]) -> Self {
        Answer {
            challenge: true,
            ..Answer::json(Status::UNAUTHORIZED, body)
        }
    }
}

/// Writes `a`. Never cached: these answers depend on who asks.
pub async fn send<T: Transport, E: Env>(
    ex: &mut Exchange<'_, T, E>,
    a: Answer<'_>,
) -> Result<(), ServeError<T::Error>> {
    if a.close {
        ex.close_after();
    }
    // Without `auth` every answer is plain text without extras: the core's own text
    // writer, already in the binary, is enough.
    #[cfg(not(feature = "auth"))]
    {
        let text = core::str::from_utf8(a.body).unwrap_or("");
        ex.respond_text(a.status, text).await
    }
    #[cfg(feature = "auth")]
    write(ex, a).await
}

#[cfg(feature = "auth")]
async fn write<T: Transport, E: Env>(
    ex: &mut Exchange<'_, T, E>,
    a: Answer<'_>,
) -> Result<(), ServeError<T::Error>> {
    let (json, challenge, retry, cookie) = (a.json, a.challenge, a.retry_after_s, a.cookie);
    ex.respond(
        a.status,
        |h| {
            h.header(
                "Content-Type",
                if json {
                    "application/json"
                } else {
                    "text/plain; charset=utf-8"
                },
            )?;
            h.header("Cache-Control", "no-store")?;
            if challenge {
                h.header("WWW-Authenticate", "Bearer realm=\"portico\"")?;
            }
            if let Some(s) = retry {
                h.header_fmt("Retry-After", format_args!("{s}"))?;
            }
            match cookie {
                Cookie::Keep => {}
                #[cfg(feature = "auth")]
                Cookie::Set(key, claims, max_age) => {
                    let max_age_s = max_age.as_secs();
                    let t = token::issue(key, &claims);
                    let t = core::str::from_utf8(&t).unwrap_or("");
                    h.header_fmt(
                        "Set-Cookie",
                        format_args!(
                            "{SESSION_COOKIE}={t}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_s}"
                        ),
                    )?;
                }
                #[cfg(not(feature = "auth"))]
                Cookie::_Unused(_) => {}
                Cookie::Clear => {
                    h.header_fmt(
                        "Set-Cookie",
                        format_args!(
                            "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
                        ),
                    )?;
                }
            }
            Ok(())
        },
        a.body,
    )
    .await
}
