//! The server's opening handshake (RFC 6455 §4.2): a request head checked, then `101
//! Switching Protocols` with `Sec-WebSocket-Accept`, or the status that says what was
//! wrong — never a silent close.
//!
//! Which status: a request that is not a WebSocket upgrade at all (no `Upgrade:
//! websocket`), or asks for a protocol version other than 13, gets `426 Upgrade
//! Required` with `Upgrade: websocket` and `Sec-WebSocket-Version: 13` (RFC 9110
//! §15.5.22, RFC 6455 §4.4), so a client can tell what to do; a method other than GET
//! gets `405` with `Allow: GET`; a malformed upgrade (no `Connection: upgrade`, a key
//! that is not 16 bytes in base64, HTTP/1.0) gets `400`.

use core::fmt;

use base64::Engine as _;
use portico::http::{Method, RequestHead, Status};
use portico::server::{Env, Exchange, ServeError, Transport};

use crate::handshake::Key;

/// A handshake to accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accept {
    key: Key,
    /// The subprotocol chosen: the first of the client's that the server supports.
    pub protocol: Option<&'static str>,
}

impl Accept {
    /// The `Sec-WebSocket-Accept` value.
    pub fn accept_value(&self) -> [u8; 28] {
        self.key.expected_accept()
    }
}

/// Why an upgrade request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not a GET.
    Method,
    /// HTTP/1.0 (an upgrade needs HTTP/1.1).
    Version,
    /// No `Upgrade: websocket`: not a WebSocket request.
    NotWebSocket,
    /// No `upgrade` token in `Connection` (or a `close` one).
    Connection,
    /// `Sec-WebSocket-Version` missing or not 13.
    WsVersion,
    /// `Sec-WebSocket-Key` missing, repeated, or not 16 bytes of base64.
    Key,
}

impl Refusal {
    /// The status it is answered with.
    pub const fn status(self) -> Status {
        match self {
            Refusal::Method => Status::METHOD_NOT_ALLOWED,
            Refusal::NotWebSocket | Refusal::WsVersion => Status(426),
            Refusal::Version | Refusal::Connection | Refusal::Key => Status::BAD_REQUEST,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refusal::Method => "a WebSocket handshake is a GET",
            Refusal::Version => "a WebSocket handshake needs HTTP/1.1",
            Refusal::NotWebSocket => "this endpoint speaks WebSocket only (Upgrade: websocket)",
            Refusal::Connection => "Connection must hold the upgrade token",
            Refusal::WsVersion => "Sec-WebSocket-Version must be 13",
            Refusal::Key => "Sec-WebSocket-Key must be 16 bytes in base64",
        })
    }
}

impl core::error::Error for Refusal {}

/// Checks a request head for a WebSocket upgrade; `protocols` are the subprotocols the
/// server speaks, in no particular order (the client's order of preference wins).
pub fn check(head: &RequestHead<'_>, protocols: &[&'static str]) -> Result<Accept, Refusal> {
    if head.method != Method::Get {
        return Err(Refusal::Method);
    }
    if !head.header_has_token("Upgrade", "websocket") {
        return Err(Refusal::NotWebSocket);
    }
    if head.minor_version == 0 {
        return Err(Refusal::Version);
    }
    if !head.header_has_token("Connection", "upgrade") || !head.keep_alive {
        return Err(Refusal::Connection);
    }
    let mut versions = head
        .headers()
        .filter(|(n, _)| n.eq_ignore_ascii_case("Sec-WebSocket-Version"));
    match (versions.next(), versions.next()) {
        (Some((_, "13")), None) => {}
        _ => return Err(Refusal::WsVersion),
    }
    let mut keys = head
        .headers()
        .filter(|(n, _)| n.eq_ignore_ascii_case("Sec-WebSocket-Key"));
    let key = match (keys.next(), keys.next()) {
        (Some((_, k)), None) => k,
        _ => return Err(Refusal::Key),
    };
    let mut nonce = [0u8; 18];
    match base64::engine::general_purpose::STANDARD.decode_slice(key, &mut nonce) {
        Ok(16) if key.len() == 24 => {}
        _ => return Err(Refusal::Key),
    }
    let mut n16 = [0u8; 16];
    n16.copy_from_slice(&nonce[..16]);
    let protocol = head
        .headers()
        .filter(|(n, _)| n.eq_ignore_ascii_case("Sec-WebSocket-Protocol"))
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .find_map(|offered| protocols.iter().copied().find(|p| *p == offered));
    Ok(Accept {
        key: Key::from_nonce(n16),
        protocol,
    })
}

/// Answers the handshake on `ex`: `101` (then return
/// [`Reply::Upgrade`](portico::server::Reply::Upgrade) and run the connection with
/// [`super::run`]), or the refusal's status, closing the connection. Returns whether
/// it upgraded.
pub async fn accept<T: Transport, E: Env>(
    ex: &mut Exchange<'_, T, E>,
    protocols: &[&'static str],
) -> Result<bool, ServeError<T::Error>> {
    let head = *ex.head();
    match check(&head, protocols) {
        Ok(a) => {
            let value = a.accept_value();
            ex.respond(
                Status::SWITCHING_PROTOCOLS,
                |h| {
                    h.header("Upgrade", "websocket")?;
                    h.header("Connection", "Upgrade")?;
                    // Base64 is ASCII.
                    h.header(
                        "Sec-WebSocket-Accept",
                        core::str::from_utf8(&value).unwrap_or(""),
                    )?;
                    if let Some(p) = a.protocol {
                        h.header("Sec-WebSocket-Protocol", p)?;
                    }
                    Ok(())
                },
                b"",
            )
            .await?;
            Ok(true)
        }
        Err(r) => {
            ex.close_after();
            let mut text: heapless::String<96> = heapless::String::new();
            let _ = fmt::write(&mut text, format_args!("{r}\n"));
            ex.respond(
                r.status(),
                |h| {
                    h.header("Content-Type", "text/plain; charset=utf-8")?;
                    match r {
                        Refusal::Method => h.header("Allow", "GET").map(drop),
                        Refusal::NotWebSocket | Refusal::WsVersion => {
                            h.header("Upgrade", "websocket")?;
                            h.header("Sec-WebSocket-Version", "13").map(drop)
                        }
                        _ => Ok(()),
                    }
                },
                text.as_bytes(),
            )
            .await?;
            Ok(false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portico::http::HeadLimits;

    const GOOD: &str = "GET /ws HTTP/1.1\r\nHost: d\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

    fn check_raw(raw: &str, protocols: &[&'static str]) -> Result<Accept, Refusal> {
        let raw = alloc::format!("{raw}\r\n");
        let head = RequestHead::parse(raw.as_bytes(), &HeadLimits::default())
            .unwrap()
            .unwrap();
        check(&head, protocols)
    }

    #[test]
    fn rfc_sample_key_gets_the_rfc_accept() {
        let a = check_raw(GOOD, &[]).unwrap();
        assert_eq!(&a.accept_value(), b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert_eq!(a.protocol, None);
    }

    #[test]
    fn each_bad_header_gets_its_status() {
        let cases: &[(&str, &str, Refusal, u16)] = &[
            ("GET /ws", "POST /ws", Refusal::Method, 405),
            ("HTTP/1.1\r\n", "HTTP/1.0\r\n", Refusal::Version, 400),
            ("Upgrade: websocket\r\n", "", Refusal::NotWebSocket, 426),
            (
                "Upgrade: websocket",
                "Upgrade: h2c",
                Refusal::NotWebSocket,
                426,
            ),
            (
                "Connection: keep-alive, Upgrade",
                "Connection: keep-alive",
                Refusal::Connection,
                400,
            ),
            (
                "Connection: keep-alive, Upgrade",
                "Connection: Upgrade, close",
                Refusal::Connection,
                400,
            ),
            ("Sec-WebSocket-Version: 13\r\n", "", Refusal::WsVersion, 426),
            (
                "Sec-WebSocket-Version: 13",
                "Sec-WebSocket-Version: 8",
                Refusal::WsVersion,
                426,
            ),
            (
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
                "",
                Refusal::Key,
                400,
            ),
            (
                "dGhlIHNhbXBsZSBub25jZQ==",
                "dGhlIHNhbXBsZQ==",
                Refusal::Key,
                400,
            ),
            (
                "dGhlIHNhbXBsZSBub25jZQ==",
                "!!!!!!!!!!!!!!!!!!!!!!!=",
                Refusal::Key,
                400,
            ),
            (
                "dGhlIHNhbXBsZSBub25jZQ==",
                "dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                Refusal::Key,
                400,
            ),
        ];
        for (from, to, want, status) in cases {
            assert!(GOOD.contains(from), "{from}");
            let raw = GOOD.replacen(from, to, 1);
            let got = check_raw(&raw, &[]);
            assert_eq!(got, Err(*want), "{raw}");
            assert_eq!(want.status().0, *status);
        }
    }

    #[test]
    fn header_names_and_tokens_are_case_insensitive() {
        let raw = GOOD
            .replace("Upgrade: websocket", "upgrade: WebSocket")
            .replace("Connection: keep-alive, Upgrade", "connection: UPGRADE");
        assert!(check_raw(&raw, &[]).is_ok());
    }

    #[test]
    fn the_clients_preferred_supported_subprotocol_is_chosen() {
        let raw = alloc::format!("{GOOD}Sec-WebSocket-Protocol: chat.v2, chat.v1\r\n");
        assert_eq!(
            check_raw(&raw, &["chat.v1", "chat.v2"]).unwrap().protocol,
            Some("chat.v2")
        );
        assert_eq!(check_raw(&raw, &["other"]).unwrap().protocol, None);
    }
}
