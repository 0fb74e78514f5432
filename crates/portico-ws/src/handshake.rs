//! The opening handshake (RFC 6455 §4): a request written into a caller's buffer and a
//! response parsed with `httparse`, both pure.
//!
//! The response check is strict where the RFC says MUST: status 101, `Upgrade:
//! websocket`, a `Connection` header holding the `upgrade` token, the exact
//! `Sec-WebSocket-Accept` for our key, a subprotocol only if we offered it, and an
//! extension only if we offered it, on terms RFC 7692 allows ([`crate::compression`]).

use core::fmt::{self, Write as _};

use base64::Engine as _;
use sha1::{Digest, Sha1};

use crate::compression::{parse_answer, Agreed, NegotiationError, Offer};
use crate::frame::Decoded;
use crate::mask::MaskRng;
use crate::url::WsUrl;

const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Most response headers the parser looks at; more is an error, not a crash.
pub const MAX_RESPONSE_HEADERS: usize = 32;

/// A `Sec-WebSocket-Key`: 16 random bytes in base64 (always 24 characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key([u8; 24]);

impl Key {
    /// Draws a fresh key.
    pub fn generate(rng: &mut impl MaskRng) -> Self {
        let mut nonce = [0u8; 16];
        rng.fill(&mut nonce);
        Self::from_nonce(nonce)
    }

    /// The key for a given nonce (for tests and golden bytes).
    pub fn from_nonce(nonce: [u8; 16]) -> Self {
        let mut out = [0u8; 24];
        // 16 bytes always encode to exactly 24 characters.
        let _ = base64::engine::general_purpose::STANDARD.encode_slice(nonce, &mut out);
        Key(out)
    }

    /// The key text.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.0).unwrap_or("")
    }

    /// The `Sec-WebSocket-Accept` value a server must answer with.
    pub fn expected_accept(&self) -> [u8; 28] {
        let mut h = Sha1::new();
        h.update(self.0);
        h.update(GUID.as_bytes());
        let digest = h.finalize();
        let mut out = [0u8; 28];
        let _ = base64::engine::general_purpose::STANDARD.encode_slice(digest, &mut out);
        out
    }
}

/// What goes into the request besides the URL.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestOptions<'a> {
    /// Subprotocols to offer, in preference order.
    pub subprotocols: &'a [&'a str],
    /// Extra `(name, value)` headers.
    pub headers: &'a [(&'a str, &'a str)],
    /// `user:password` for `Authorization: Basic` (the URL's userinfo is used if `None`).
    pub basic_auth: Option<&'a str>,
}

/// Why the request could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestError {
    /// The buffer is too small for the request.
    BufferTooSmall,
    /// A header name or value, subprotocol or credential holds CR, LF or NUL, or a
    /// header name is empty or not a token.
    InvalidHeader,
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RequestError::BufferTooSmall => "handshake request does not fit the send buffer",
            RequestError::InvalidHeader => "handshake header contains forbidden characters",
        })
    }
}

impl core::error::Error for RequestError {}

struct SliceWriter<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl fmt::Write for SliceWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

fn clean(s: &str) -> bool {
    !s.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0)
}

fn token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Writes the upgrade request for `url` into `buf`, returning its length.
pub fn write_request(
    buf: &mut [u8],
    url: &WsUrl<'_>,
    key: &Key,
    opts: &RequestOptions<'_>,
) -> Result<usize, RequestError> {
    write_request_offering(buf, url, key, opts, None)
}

/// [`write_request`], offering permessage-deflate when `deflate` is given.
pub fn write_request_offering(
    buf: &mut [u8],
    url: &WsUrl<'_>,
    key: &Key,
    opts: &RequestOptions<'_>,
    deflate: Option<&Offer>,
) -> Result<usize, RequestError> {
    let auth = opts.basic_auth.or(url.userinfo);
    let ok = opts.subprotocols.iter().all(|p| token(p))
        && opts.headers.iter().all(|(n, v)| token(n) && clean(v))
        && auth.is_none_or(clean);
    if !ok {
        return Err(RequestError::InvalidHeader);
    }
    let mut w = SliceWriter { buf, len: 0 };
    let slash = if url.resource.starts_with('?') {
        "/"
    } else {
        ""
    };
    let res = (|| -> fmt::Result {
        write!(w, "GET {slash}{} HTTP/1.1\r\nHost: ", url.resource)?;
        if url.host.contains(':') {
            write!(w, "[{}]", url.host)?;
        } else {
            w.write_str(url.host)?;
        }
        if !url.default_port() {
            write!(w, ":{}", url.port)?;
        }
        write!(
            w,
            "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {}\r\nSec-WebSocket-Version: 13\r\n",
            key.as_str()
        )?;
        if !opts.subprotocols.is_empty() {
            w.write_str("Sec-WebSocket-Protocol: ")?;
            for (i, p) in opts.subprotocols.iter().enumerate() {
                if i > 0 {
                    w.write_str(", ")?;
                }
                w.write_str(p)?;
            }
            w.write_str("\r\n")?;
        }
        if let Some(cred) = auth {
            w.write_str("Authorization: Basic ")?;
            let mut chunk = [0u8; 64];
            // Encode in 48-byte pieces (multiples of 3 keep base64 padding at the end).
            for piece in cred.as_bytes().chunks(48) {
                let n = base64::engine::general_purpose::STANDARD
                    .encode_slice(piece, &mut chunk)
                    .map_err(|_| fmt::Error)?;
                w.write_str(core::str::from_utf8(&chunk[..n]).map_err(|_| fmt::Error)?)?;
            }
            w.write_str("\r\n")?;
        }
        if let Some(offer) = deflate {
            crate::compression::write_header(&mut w, offer)?;
        }
        for (n, v) in opts.headers {
            write!(w, "{n}: {v}\r\n")?;
        }
        w.write_str("\r\n")
    })();
    res.map_err(|_| RequestError::BufferTooSmall)?;
    Ok(w.len)
}

/// A server's accepted upgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted<'a> {
    /// The subprotocol the server chose, if any.
    pub subprotocol: Option<&'a str>,
    /// permessage-deflate terms, if the server accepted our offer.
    pub deflate: Option<Agreed>,
}

/// Why the server's response was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseError {
    /// Not an HTTP response `httparse` can read (or over [`MAX_RESPONSE_HEADERS`]).
    Malformed,
    /// A status other than 101.
    Status(u16),
    /// `Upgrade: websocket` missing.
    NoUpgrade,
    /// `Connection: upgrade` missing.
    NoConnectionUpgrade,
    /// `Sec-WebSocket-Accept` missing or wrong.
    BadAccept,
    /// A subprotocol we did not offer.
    UnexpectedSubprotocol,
    /// An extension answer we cannot accept (none offered, or terms RFC 7692 forbids).
    Extension(NegotiationError),
}

impl ResponseError {
    /// An extension answer that an attempt without the offer would not get.
    pub const fn is_extension(self) -> bool {
        matches!(self, ResponseError::Extension(_))
    }
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResponseError::Malformed => f.write_str("malformed handshake response"),
            ResponseError::Status(s) => write!(f, "handshake refused with status {s}"),
            ResponseError::NoUpgrade => f.write_str("response lacks Upgrade: websocket"),
            ResponseError::NoConnectionUpgrade => f.write_str("response lacks Connection: upgrade"),
            ResponseError::BadAccept => f.write_str("wrong Sec-WebSocket-Accept"),
            ResponseError::UnexpectedSubprotocol => {
                f.write_str("server chose a subprotocol not offered")
            }
            ResponseError::Extension(e) => write!(f, "{e}"),
        }
    }
}

impl core::error::Error for ResponseError {}

/// Parses the response at the start of `buf`. `Incomplete` until the head is complete;
/// `consumed` tells where frames begin (a server may send one right after the head).
pub fn parse_response<'b>(
    buf: &'b [u8],
    key: &Key,
    offered: &[&str],
) -> Result<Decoded<Accepted<'b>>, ResponseError> {
    parse_response_offering(buf, key, offered, None)
}

/// [`parse_response`] after a request that offered permessage-deflate (`deflate`).
pub fn parse_response_offering<'b>(
    buf: &'b [u8],
    key: &Key,
    offered: &[&str],
    deflate: Option<&Offer>,
) -> Result<Decoded<Accepted<'b>>, ResponseError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_RESPONSE_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    let consumed = match resp.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        // httparse cannot say how many bytes are missing; one more is the honest minimum.
        Ok(httparse::Status::Partial) => return Ok(Decoded::Incomplete { needed: 1 }),
        Err(_) => return Err(ResponseError::Malformed),
    };
    let status = resp.code.unwrap_or(0);
    if status != 101 {
        return Err(ResponseError::Status(status));
    }
    let (mut upgrade, mut connection, mut accept) = (false, false, false);
    let mut subprotocol = None;
    let mut agreed = None;
    let expected = key.expected_accept();
    for h in resp.headers.iter() {
        let v = h.value;
        if h.name.eq_ignore_ascii_case("upgrade") {
            upgrade |= v.trim_ascii().eq_ignore_ascii_case(b"websocket");
        } else if h.name.eq_ignore_ascii_case("connection") {
            connection |= v
                .split(|&b| b == b',')
                .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"upgrade"));
        } else if h.name.eq_ignore_ascii_case("sec-websocket-accept") {
            accept = v.trim_ascii() == expected;
        } else if h.name.eq_ignore_ascii_case("sec-websocket-protocol") {
            let p = core::str::from_utf8(v)
                .map_err(|_| ResponseError::UnexpectedSubprotocol)?
                .trim();
            if !offered.contains(&p) {
                return Err(ResponseError::UnexpectedSubprotocol);
            }
            subprotocol = Some(p);
        } else if h.name.eq_ignore_ascii_case("sec-websocket-extensions") {
            parse_answer(v, deflate, &mut agreed).map_err(ResponseError::Extension)?;
        }
    }
    if !upgrade {
        return Err(ResponseError::NoUpgrade);
    }
    if !connection {
        return Err(ResponseError::NoConnectionUpgrade);
    }
    if !accept {
        return Err(ResponseError::BadAccept);
    }
    Ok(Decoded::Complete {
        value: Accepted {
            subprotocol,
            deflate: agreed,
        },
        consumed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 6455 §1.3: the sample nonce and its accept value.
    const RFC_NONCE: [u8; 16] = *b"the sample nonce";

    fn rfc_key() -> Key {
        Key::from_nonce(RFC_NONCE)
    }

    #[test]
    fn rfc_key_and_accept() {
        assert_eq!(rfc_key().as_str(), "dGhlIHNhbXBsZSBub25jZQ==");
        assert_eq!(
            &rfc_key().expected_accept(),
            b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn golden_request() {
        let url = WsUrl::parse("ws://alice:secret@example.com:8080/chat").unwrap();
        let opts = RequestOptions {
            subprotocols: &["chat", "superchat"],
            headers: &[("X-Device", "s3")],
            basic_auth: None,
        };
        let mut buf = [0u8; 512];
        let n = write_request(&mut buf, &url, &rfc_key(), &opts).unwrap();
        assert_eq!(
            core::str::from_utf8(&buf[..n]).unwrap(),
            "GET /chat HTTP/1.1\r\nHost: example.com:8080\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, superchat\r\n\
             Authorization: Basic YWxpY2U6c2VjcmV0\r\nX-Device: s3\r\n\r\n"
        );
    }

    #[test]
    fn golden_request_and_answer_with_permessage_deflate() {
        let url = WsUrl::parse("ws://example.com/chat").unwrap();
        let offer = Offer {
            server_max_window_bits: 11,
            client_window_bits: None,
        };
        let mut buf = [0u8; 512];
        let n = write_request_offering(
            &mut buf,
            &url,
            &rfc_key(),
            &Default::default(),
            Some(&offer),
        )
        .unwrap();
        assert_eq!(
            core::str::from_utf8(&buf[..n]).unwrap(),
            "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate; \
             client_no_context_takeover; client_max_window_bits; server_max_window_bits=11\r\n\r\n"
        );
        let resp = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
            Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
            Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10; \
            client_max_window_bits=9; server_no_context_takeover\r\n\r\n";
        let Decoded::Complete { value, .. } =
            parse_response_offering(resp, &rfc_key(), &[], Some(&offer)).unwrap()
        else {
            panic!("incomplete")
        };
        assert_eq!(
            value.deflate,
            Some(Agreed {
                server_window_bits: 10,
                client_window_bits: 9,
                server_no_context_takeover: true,
                client_no_context_takeover: false,
            })
        );
        // The same answer to a request that offered nothing is refused.
        assert_eq!(
            parse_response(resp, &rfc_key(), &[]),
            Err(ResponseError::Extension(NegotiationError::UnknownExtension))
        );
    }

    #[test]
    fn request_refuses_injection_and_small_buffers() {
        let url = WsUrl::parse("ws://h/").unwrap();
        let bad = RequestOptions {
            headers: &[("X", "a\r\nEvil: 1")],
            ..Default::default()
        };
        let mut buf = [0u8; 512];
        assert_eq!(
            write_request(&mut buf, &url, &rfc_key(), &bad),
            Err(RequestError::InvalidHeader)
        );
        let mut tiny = [0u8; 40];
        assert_eq!(
            write_request(&mut tiny, &url, &rfc_key(), &Default::default()),
            Err(RequestError::BufferTooSmall)
        );
    }

    const OK: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
        Sec-WebSocket-Protocol: chat\r\n\r\n\x81\x00";

    #[test]
    fn accepts_rfc_response_and_reports_where_frames_start() {
        match parse_response(OK, &rfc_key(), &["chat"]).unwrap() {
            Decoded::Complete { value, consumed } => {
                assert_eq!(value.subprotocol, Some("chat"));
                assert_eq!(&OK[consumed..], b"\x81\x00");
            }
            d => panic!("{d:?}"),
        }
        assert_eq!(
            parse_response(&OK[..30], &rfc_key(), &["chat"]),
            Ok(Decoded::Incomplete { needed: 1 })
        );
    }

    #[test]
    fn refuses_bad_responses() {
        let k = rfc_key();
        let sub = |from: &str, to: &str| {
            let s = core::str::from_utf8(&OK[..OK.len() - 2])
                .unwrap()
                .replace(from, to);
            parse_response(s.as_bytes(), &k, &["chat"]).map(|_| ())
        };
        assert_eq!(
            sub("101 Switching", "200 Switching"),
            Err(ResponseError::Status(200))
        );
        assert_eq!(
            sub("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "x"),
            Err(ResponseError::BadAccept)
        );
        assert_eq!(
            sub("Upgrade: websocket", "Upgrade: h2c"),
            Err(ResponseError::NoUpgrade)
        );
        assert_eq!(
            sub("Connection: Upgrade", "Connection: close"),
            Err(ResponseError::NoConnectionUpgrade)
        );
        assert_eq!(
            sub("Protocol: chat", "Protocol: other"),
            Err(ResponseError::UnexpectedSubprotocol)
        );
        assert_eq!(
            sub("Protocol: chat", "Extensions: permessage-deflate"),
            Err(ResponseError::Extension(NegotiationError::UnknownExtension))
        );
        assert_eq!(sub("HTTP/1.1", "HTTP/9.9 x"), Err(ResponseError::Malformed));
    }
}
