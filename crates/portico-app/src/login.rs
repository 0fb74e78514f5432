//! `POST /api/login` and `POST /api/logout`.
//!
//! Login takes `{"password": "…"}` (or the same field as a form body) and answers `200`
//! with an `HttpOnly; SameSite=Strict` session cookie, `401` for a wrong password, or
//! `429` + `Retry-After` while the sender must wait. With `"token": true` it answers an
//! API token in the JSON instead, for scripts (`Authorization: Bearer …`). Logout ends
//! every browser session at once by moving the epoch their tokens are signed with: the
//! device keeps no session table.

// Without `auth`, login only answers 404: the limiter, the token writer and their
// imports stay for the build with it.
#![cfg_attr(not(feature = "auth"), allow(dead_code, unused_imports))]

use core::cell::RefCell;
use core::fmt;

use portico::guard::{token, Claims, Kind, LoginLimiter, Secrets};
use portico::http::{urlencoded, Status};
use portico::server::{Env, Exchange, ServeError, Transport};
use portico::time::{Duration, Instant};

use crate::answer::{send, Answer, Cookie};

/// Longest password accepted, in bytes.
pub const MAX_PASSWORD: usize = 128;
/// Largest login body read (a JSON object with the password, escaped): a
/// `MAX_PASSWORD`-byte password fits plainly, not every one written as `\uXXXX`.
pub const MAX_BODY: usize = 256;
/// How long a browser session lasts.
pub const SESSION: Duration = Duration::from_secs(12 * 3600);
/// How long an API token lasts (a restart ends it sooner).
pub const API_TOKEN: Duration = Duration::from_secs(30 * 24 * 3600);
/// Peers whose failures are remembered one by one.
pub const LIMITER_PEERS: usize = 16;

/// What login and logout change: the guessing limiter, the logout epoch, the serial of
/// the next token. Borrowed only between awaits.
#[derive(Debug)]
pub struct Sessions {
    limiter: LoginLimiter<LIMITER_PEERS>,
    epoch: u32,
    serial: u32,
}

impl Default for Sessions {
    fn default() -> Self {
        Self::new()
    }
}

impl Sessions {
    /// No failures, epoch 0.
    pub const fn new() -> Self {
        Sessions {
            limiter: LoginLimiter::new(),
            epoch: 0,
            serial: 0,
        }
    }

    /// The logout epoch sessions must carry.
    pub fn epoch(&self) -> u32 {
        self.epoch
    }
}

/// A login request's fields.
#[derive(Debug, PartialEq, Eq)]
pub struct LoginRequest<'a> {
    /// The password as sent.
    pub password: &'a str,
    /// Whether an API token is wanted instead of a cookie.
    pub token: bool,
}

/// Why a login body was refused (`400`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadLogin(pub &'static str);

impl fmt::Display for BadLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// The password copied out of the JSON (where it may have been escaped).
struct Password {
    bytes: [u8; MAX_PASSWORD],
    len: usize,
}

impl<'de> serde::Deserialize<'de> for Password {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Password;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Password, E> {
                let mut p = Password {
                    bytes: [0; MAX_PASSWORD],
                    len: s.len(),
                };
                p.bytes
                    .get_mut(..s.len())
                    .ok_or_else(|| E::custom("password too long"))?
                    .copy_from_slice(s.as_bytes());
                Ok(p)
            }
        }
        d.deserialize_str(V)
    }
}

#[derive(serde::Deserialize)]
struct Json {
    password: Password,
    #[serde(default)]
    token: bool,
}

/// Reads a login body: JSON, or a form body when `form` (the `Content-Type` said
/// `application/x-www-form-urlencoded`). The password lands in `out`.
pub fn parse_request<'o>(
    body: &[u8],
    form: bool,
    out: &'o mut [u8; MAX_PASSWORD],
) -> Result<LoginRequest<'o>, BadLogin> {
    if form {
        let body = core::str::from_utf8(body).map_err(|_| BadLogin("form is not UTF-8"))?;
        let password = urlencoded::field(body, "password", out)
            .map_err(|_| BadLogin("malformed password field"))?
            .ok_or(BadLogin("no password field"))?;
        let mut flag = [0u8; 8];
        let token = matches!(
            urlencoded::field(body, "token", &mut flag),
            Ok(Some("true" | "1"))
        );
        return Ok(LoginRequest { password, token });
    }
    let mut scratch = [0u8; MAX_PASSWORD];
    let (json, _): (Json, _) = serde_json_core::from_slice_escaped(body, &mut scratch)
        .map_err(|_| BadLogin("expected {\"password\": \"…\"}"))?;
    let n = json.password.len;
    out[..n].copy_from_slice(&json.password.bytes[..n]);
    let password =
        core::str::from_utf8(&out[..n]).map_err(|_| BadLogin("password is not UTF-8"))?;
    Ok(LoginRequest {
        password,
        token: json.token,
    })
}

#[cfg(feature = "auth")]
/// Parses the body and checks the password: `Ok(Some(token_wanted))` when it is right,
/// `Ok(None)` when it is wrong.
fn check(body: &[u8], form: bool, secrets: Secrets<'_>) -> Result<Option<bool>, BadLogin> {
    let mut password = [0u8; MAX_PASSWORD];
    let req = parse_request(body, form, &mut password)?;
    Ok(secrets
        .password
        .verify(req.password.as_bytes())
        .then_some(req.token))
}

/// Answers `POST /api/login` in a build without the `auth` feature: there is nothing
/// to log in to. (A separate function, not a branch: code after an await in an
/// untaken branch would still be linked, the state machine cannot be proven not to
/// reach it.)
#[cfg(not(feature = "auth"))]
pub async fn login<T: Transport, E: Env>(
    ex: &mut Exchange<'_, T, E>,
    _sessions: &RefCell<Sessions>,
    _secrets: Option<Secrets<'_>>,
    _now: Instant,
) -> Result<(), ServeError<T::Error>> {
    send(ex, NO_PASSWORD).await
}

const NO_PASSWORD: Answer<'static> = Answer::text(
    Status::NOT_FOUND,
    b"no password is set: the dashboard is open\n",
);

/// Answers `POST /api/login`.
#[cfg(feature = "auth")]
pub async fn login<T: Transport, E: Env>(
    ex: &mut Exchange<'_, T, E>,
    sessions: &RefCell<Sessions>,
    secrets: Option<Secrets<'_>>,
    now: Instant,
) -> Result<(), ServeError<T::Error>> {
    let Some(secrets) = secrets else {
        return send(ex, NO_PASSWORD).await;
    };
    let peer = ex.env().peer();
    // Refused before the password is read or hashed: waiting costs the device nothing.
    let verdict = sessions.borrow().limiter.check(peer, now);
    if let Err(wait) = verdict {
        let a = Answer {
            retry_after_s: Some(wait.seconds()),
            ..Answer::json(
                Status::TOO_MANY_REQUESTS,
                b"{\"error\":\"too many wrong passwords; retry later\"}",
            )
        };
        return send(ex, a).await;
    }
    let form = ex.head().header("content-type").is_some_and(|v| {
        v.split(';').next().is_some_and(|t| {
            t.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
    });
    // The body and the password live in this block only: no later await holds them,
    // so they take no room in the connection's future beside the response's state
    // (on the device, every socket's future is static RAM).
    let checked = {
        let mut body = [0u8; MAX_BODY];
        ex.read_body(&mut body)
            .await?
            .map(|n| check(&body[..n], form, secrets))
    };
    let want_token = match checked {
        None => {
            let a = Answer {
                close: true,
                ..Answer::text(Status::PAYLOAD_TOO_LARGE, b"login body too large\n")
            };
            return send(ex, a).await;
        }
        Some(Err(BadLogin(why))) => {
            return send(ex, Answer::text(Status::BAD_REQUEST, why.as_bytes())).await
        }
        Some(Ok(None)) => {
            sessions.borrow_mut().limiter.failure(peer, now);
            return send(ex, Answer::unauthorized(b"{\"error\":\"wrong password\"}")).await;
        }
        Some(Ok(Some(token))) => token,
    };
    let claims = {
        let mut s = sessions.borrow_mut();
        s.limiter.success(peer);
        s.serial = s.serial.wrapping_add(1);
        let (kind, life, epoch) = if want_token {
            (Kind::Api, API_TOKEN, 0)
        } else {
            (Kind::Session, SESSION, s.epoch)
        };
        Claims {
            kind,
            expires: now + life,
            serial: s.serial,
            epoch,
        }
    };
    if want_token {
        let mut out = [0u8; token::TOKEN_LEN + 48];
        let n = {
            let t = token::issue(secrets.key, &claims);
            let t = core::str::from_utf8(&t).unwrap_or("");
            let mut w = Cursor {
                buf: &mut out,
                len: 0,
            };
            let _ = fmt::write(
                &mut w,
                format_args!(
                    "{{\"token\":\"{t}\",\"expires_in_s\":{}}}",
                    API_TOKEN.as_secs()
                ),
            );
            w.len
        };
        return send(ex, Answer::json(Status::OK, &out[..n])).await;
    }
    let a = Answer {
        cookie: Cookie::Set(secrets.key, claims, SESSION),
        ..Answer::json(Status::OK, b"{\"ok\":true}")
    };
    send(ex, a).await
}

/// Answers `POST /api/logout`: every browser session ends, and this browser's cookie
/// is cleared.
pub async fn logout<T: Transport, E: Env>(
    ex: &mut Exchange<'_, T, E>,
    sessions: &RefCell<Sessions>,
) -> Result<(), ServeError<T::Error>> {
    {
        let mut s = sessions.borrow_mut();
        s.epoch = s.epoch.wrapping_add(1);
    }
    let a = Answer {
        cookie: Cookie::Clear,
        ..Answer::json(Status::OK, b"{\"ok\":true}")
    };
    send(ex, a).await
}

/// `fmt::Write` into a fixed buffer.
struct Cursor<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl fmt::Write for Cursor<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let dst = self
            .buf
            .get_mut(self.len..self.len + s.len())
            .ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len += s.len();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str, form: bool) -> Result<(std::string::String, bool), BadLogin> {
        let mut out = [0u8; MAX_PASSWORD];
        parse_request(body.as_bytes(), form, &mut out).map(|r| (r.password.into(), r.token))
    }

    #[test]
    fn json_bodies() {
        assert_eq!(
            parse(r#"{"password":"hunter2"}"#, false),
            Ok(("hunter2".into(), false))
        );
        assert_eq!(
            parse(r#"{ "token": true, "password": "a\"b\\c\u00e9" }"#, false),
            Ok(("a\"b\\cé".into(), true))
        );
        assert_eq!(parse(r#"{"password":""}"#, false), Ok(("".into(), false)));
        for bad in [
            "",
            "{}",
            "[]",
            r#"{"password":1}"#,
            r#"{"password":"x""#,
            "password=x",
        ] {
            assert!(parse(bad, false).is_err(), "{bad}");
        }
        let long = std::format!(r#"{{"password":"{}"}}"#, "x".repeat(MAX_PASSWORD + 1));
        assert!(parse(&long, false).is_err());
        let max = std::format!(r#"{{"password":"{}"}}"#, "x".repeat(MAX_PASSWORD));
        assert!(parse(&max, false).is_ok());
    }

    #[test]
    fn form_bodies() {
        assert_eq!(
            parse("password=p%40ss+w", true),
            Ok(("p@ss w".into(), false))
        );
        assert_eq!(parse("token=true&password=x", true), Ok(("x".into(), true)));
        assert!(parse("password=%zz", true).is_err());
        assert!(parse("user=x", true).is_err());
    }
}
