//! permessage-deflate (RFC 7692) negotiation: the settings, the offer this client makes
//! and the check of the server's answer — pure, no compression code (that is
//! [`crate::deflate`], behind the `deflate` feature).
//!
//! Why a memory cap and not window bits: what a device can afford is bytes, and the two
//! directions cost differently. By default the client's compressor keeps no history
//! (`client_no_context_takeover` is offered), so it needs only a hash table; the
//! decompressor must hold the server's whole window, `2^server_max_window_bits` bytes,
//! for as long as the server may refer back into it. [`Compression::plan`] turns the
//! cap into those blocks (with [`Compression::client_takeover`], a window of our own
//! too, the cap split between the two) and the offer asks the server for a window that
//! fits. A
//! server that will not limit its window is refused (RFC 7692 §7.1.2.1 lets it decline
//! the parameter only by declining the extension), and the client connects again
//! without offering compression unless [`CompressionMode::Require`] says otherwise.

use core::fmt;

/// Whether to offer permessage-deflate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CompressionMode {
    /// Never offer it (the device default).
    Off,
    /// Offer it; a server that declines it, or answers with terms that do not fit the
    /// cap, gets an uncompressed connection (the host default).
    Prefer,
    /// Offer it and fail the connection attempt without it.
    Require,
}

/// permessage-deflate settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compression {
    /// Offer or not.
    pub mode: CompressionMode,
    /// Most bytes the compression blocks may take together (the decompressor's window
    /// and the compressor's hash table; both placed and reported like the other
    /// buffers). The decompressor's fixed state (its Huffman tables, see
    /// `deflate::INFLATE_STATE_BYTES`) comes on top.
    pub max_memory: usize,
    /// Messages shorter than this are sent uncompressed (RSV1 clear): a few bytes gain
    /// nothing and cost the peer a decompression.
    pub min_size: usize,
    /// Keep our compressor's history between messages (context takeover), so that a
    /// message like the previous one (a status document every few seconds) costs a few
    /// bytes. It needs a window of our own, placed within the same cap, so the cap is
    /// split between the two windows. Off by default: then no window is held and
    /// `client_no_context_takeover` is offered.
    pub client_takeover: bool,
}

impl Compression {
    /// Off, with a 16 KiB cap should it be turned on.
    pub const fn const_default() -> Self {
        Compression {
            mode: CompressionMode::Off,
            max_memory: 16 * 1024,
            min_size: 32,
            client_takeover: false,
        }
    }

    /// How the cap is spent, or `None` when it is too small for any window.
    pub const fn plan(&self) -> Option<Plan> {
        // The largest window (9..=15 bits) that leaves room for the smallest hash table.
        // 8 bits is legal in RFC 7692 but zlib's deflate silently uses 9 for it, so a
        // zlib server asked for 8 would exceed the window we hold.
        // With client takeover, both windows have this size.
        let windows = if self.client_takeover { 2 } else { 1 };
        let mut bits = MAX_WINDOW_BITS;
        while bits >= MIN_WINDOW_BITS {
            let window = windows << bits;
            if window + MIN_HASH_BYTES <= self.max_memory {
                let mut hash = MAX_HASH_BYTES;
                while hash > self.max_memory - window {
                    hash /= 2;
                }
                return Some(Plan {
                    server_window_bits: bits,
                    hash_bytes: hash,
                    client_window_bits: if self.client_takeover {
                        Some(bits)
                    } else {
                        None
                    },
                });
            }
            bits -= 1;
        }
        None
    }

    /// The offer to send, or `None` when compression is off, cannot fit, or is not
    /// built in (the `deflate` feature).
    pub const fn offer(&self) -> Option<Offer> {
        if !cfg!(feature = "deflate") {
            return None;
        }
        match (self.mode, self.plan()) {
            (CompressionMode::Off, _) | (_, None) => None,
            (_, Some(p)) => Some(Offer {
                server_max_window_bits: p.server_window_bits,
                client_window_bits: p.client_window_bits,
            }),
        }
    }
}

impl Default for Compression {
    fn default() -> Self {
        Self::const_default()
    }
}

/// Smallest window asked of the server.
pub const MIN_WINDOW_BITS: u8 = 9;
/// Largest window RFC 7692 allows (32 KiB, zlib's default).
pub const MAX_WINDOW_BITS: u8 = 15;
/// Smallest compressor hash table (128 two-byte slots).
pub const MIN_HASH_BYTES: usize = 256;
/// Largest compressor hash table: more slots stop paying off for messages of a few KiB.
pub const MAX_HASH_BYTES: usize = 8 * 1024;

/// How a memory cap is spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// The window asked of the server (the decompressor's block is `1 << bits`).
    pub server_window_bits: u8,
    /// The compressor's hash table.
    pub hash_bytes: usize,
    /// With client takeover: the compressor's own window (`1 << bits` bytes of history).
    pub client_window_bits: Option<u8>,
}

/// What this client offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offer {
    /// Largest window the server may use.
    pub server_max_window_bits: u8,
    /// With client takeover: the window our compressor keeps (and, offered as
    /// `client_max_window_bits=N`, the most the server's decompressor needs).
    pub client_window_bits: Option<u8>,
}

impl Offer {
    /// Writes the `Sec-WebSocket-Extensions` value: the server's window limit, and
    /// `client_no_context_takeover` + a bare `client_max_window_bits` so the server
    /// knows it may shrink both its decompressor and ours.
    pub fn write(&self, w: &mut impl fmt::Write) -> fmt::Result {
        match self.client_window_bits {
            None => write!(
                w,
                "permessage-deflate; client_no_context_takeover; client_max_window_bits; \
                 server_max_window_bits={}",
                self.server_max_window_bits
            ),
            Some(c) => write!(
                w,
                "permessage-deflate; client_max_window_bits={c}; server_max_window_bits={}",
                self.server_max_window_bits
            ),
        }
    }
}

/// The terms both sides agreed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Agreed {
    /// Window the server compresses with (the size of our decompressor's block).
    pub server_window_bits: u8,
    /// Window our compressor may use.
    pub client_window_bits: u8,
    /// The server starts every message with an empty window.
    pub server_no_context_takeover: bool,
    /// The server asked us to start every message with an empty window.
    pub client_no_context_takeover: bool,
}

/// Why the server's `Sec-WebSocket-Extensions` answer was refused (RFC 7692 §5, §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NegotiationError {
    /// An extension other than permessage-deflate, or one we did not offer.
    UnknownExtension,
    /// permessage-deflate accepted twice.
    Duplicate,
    /// A parameter RFC 7692 does not define, or one given twice.
    BadParameter,
    /// A window size outside 8..=15 or not a plain number.
    BadWindowBits,
    /// `server_max_window_bits` missing or larger than offered: the server's window
    /// would not fit the memory cap.
    WindowTooLarge,
}

impl fmt::Display for NegotiationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NegotiationError::UnknownExtension => "server enabled an extension not offered",
            NegotiationError::Duplicate => "server accepted permessage-deflate twice",
            NegotiationError::BadParameter => "bad permessage-deflate parameter",
            NegotiationError::BadWindowBits => "bad permessage-deflate window size",
            NegotiationError::WindowTooLarge => {
                "server's deflate window exceeds what was offered (memory cap)"
            }
        })
    }
}

impl core::error::Error for NegotiationError {}

/// Checks one `Sec-WebSocket-Extensions` header value against the offer (`None`: none
/// was made) and folds it into `agreed`. Call once per header line.
pub fn parse_answer(
    value: &[u8],
    offer: Option<&Offer>,
    agreed: &mut Option<Agreed>,
) -> Result<(), NegotiationError> {
    let value = core::str::from_utf8(value).map_err(|_| NegotiationError::UnknownExtension)?;
    for ext in value.split(',') {
        let mut params = ext.split(';').map(str::trim);
        let name = params.next().unwrap_or("");
        if name.is_empty() {
            continue; // empty list elements are allowed (RFC 7230 §7)
        }
        let Some(offer) = offer.filter(|_| name.eq_ignore_ascii_case("permessage-deflate")) else {
            return Err(NegotiationError::UnknownExtension);
        };
        if agreed.is_some() {
            return Err(NegotiationError::Duplicate);
        }
        let mut a = Agreed {
            server_window_bits: MAX_WINDOW_BITS,
            client_window_bits: MAX_WINDOW_BITS,
            server_no_context_takeover: false,
            client_no_context_takeover: false,
        };
        let (mut seen_server_bits, mut seen) = (false, 0u8);
        for p in params {
            let (key, val) = match p.split_once('=') {
                Some((k, v)) => (k.trim(), Some(v.trim().trim_matches('"'))),
                None => (p, None),
            };
            let (bit, no_value) = match key.to_ascii_lowercase_in(&mut [0u8; 32]) {
                Some("server_no_context_takeover") => (1, true),
                Some("client_no_context_takeover") => (2, true),
                Some("server_max_window_bits") => (4, false),
                Some("client_max_window_bits") => (8, false),
                _ => return Err(NegotiationError::BadParameter),
            };
            if seen & bit != 0 || (no_value && val.is_some()) {
                return Err(NegotiationError::BadParameter);
            }
            seen |= bit;
            match bit {
                1 => a.server_no_context_takeover = true,
                4 => {
                    a.server_window_bits = window_bits(val)?;
                    seen_server_bits = true;
                }
                8 => a.client_window_bits = window_bits(val)?,
                _ => a.client_no_context_takeover = true,
            }
        }
        if !seen_server_bits || a.server_window_bits > offer.server_max_window_bits {
            return Err(NegotiationError::WindowTooLarge);
        }
        *agreed = Some(a);
    }
    Ok(())
}

fn window_bits(val: Option<&str>) -> Result<u8, NegotiationError> {
    // RFC 7692 §7.1.2: 1*DIGIT with no leading zero, 8..=15.
    match val {
        Some(v) if v.len() <= 2 && !v.starts_with('0') => match v.parse::<u8>() {
            Ok(b @ 8..=15) => Ok(b),
            _ => Err(NegotiationError::BadWindowBits),
        },
        _ => Err(NegotiationError::BadWindowBits),
    }
}

/// Lower-cases an ASCII parameter name into a small stack buffer (names are short; a
/// longer one is unknown anyway).
trait LowerIn {
    fn to_ascii_lowercase_in<'b>(&self, buf: &'b mut [u8; 32]) -> Option<&'b str>;
}

impl LowerIn for str {
    fn to_ascii_lowercase_in<'b>(&self, buf: &'b mut [u8; 32]) -> Option<&'b str> {
        let dst = buf.get_mut(..self.len())?;
        dst.copy_from_slice(self.as_bytes());
        dst.make_ascii_lowercase();
        core::str::from_utf8(dst).ok()
    }
}

/// Writes an offer into a `fmt::Write` as a whole header line.
pub(crate) fn write_header(w: &mut impl fmt::Write, offer: &Offer) -> fmt::Result {
    w.write_str("Sec-WebSocket-Extensions: ")?;
    offer.write(w)?;
    w.write_str("\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cap(max_memory: usize) -> Compression {
        Compression {
            mode: CompressionMode::Prefer,
            max_memory,
            ..Compression::const_default()
        }
    }

    #[test]
    fn plan_fits_the_cap() {
        for m in [768, 1000, 4096, 6000, 16 * 1024, 40 * 1024, 1 << 20] {
            let p = cap(m).plan().unwrap();
            assert!(
                (1usize << p.server_window_bits) + p.hash_bytes <= m,
                "{m}: {p:?}"
            );
            assert!(p.hash_bytes >= MIN_HASH_BYTES && p.hash_bytes.is_power_of_two());
        }
        assert_eq!(
            cap(4096).plan(),
            Some(Plan {
                server_window_bits: 11,
                hash_bytes: 2048,
                client_window_bits: None,
            })
        );
        assert_eq!(cap(40 * 1024).plan().unwrap().server_window_bits, 15);
        assert_eq!(cap(767).plan(), None);
        assert_eq!(cap(767).offer(), None);
        assert_eq!(Compression::const_default().offer(), None, "off by default");
    }

    #[test]
    fn client_takeover_splits_the_cap_between_two_windows() {
        let c = Compression {
            client_takeover: true,
            ..cap(4096)
        };
        let p = c.plan().unwrap();
        assert_eq!(
            (p.server_window_bits, p.client_window_bits, p.hash_bytes),
            (10, Some(10), 2048)
        );
        let mut s = heapless::String::<160>::new();
        c.offer().unwrap().write(&mut s).unwrap();
        assert_eq!(
            s.as_str(),
            "permessage-deflate; client_max_window_bits=10; server_max_window_bits=10"
        );
    }

    #[test]
    fn offer_text() {
        let mut s = heapless::String::<160>::new();
        cap(4096).offer().unwrap().write(&mut s).unwrap();
        assert_eq!(
            s.as_str(),
            "permessage-deflate; client_no_context_takeover; client_max_window_bits; \
             server_max_window_bits=11"
        );
    }

    fn answer(v: &str) -> Result<Option<Agreed>, NegotiationError> {
        let mut a = None;
        parse_answer(
            v.as_bytes(),
            Some(&Offer {
                server_max_window_bits: 11,
                client_window_bits: None,
            }),
            &mut a,
        )?;
        Ok(a)
    }

    #[test]
    fn accepts_agreeing_answers() {
        assert_eq!(
            answer("permessage-deflate; server_max_window_bits=10; client_max_window_bits=9")
                .unwrap(),
            Some(Agreed {
                server_window_bits: 10,
                client_window_bits: 9,
                server_no_context_takeover: false,
                client_no_context_takeover: false,
            })
        );
        let a = answer(
            "PerMessage-Deflate;Server_No_Context_Takeover; client_no_context_takeover; \
             server_max_window_bits=\"11\"",
        )
        .unwrap()
        .unwrap();
        assert!(a.server_no_context_takeover && a.client_no_context_takeover);
        assert_eq!((a.server_window_bits, a.client_window_bits), (11, 15));
    }

    #[test]
    fn refuses_what_rfc_7692_forbids() {
        use NegotiationError::*;
        // A server that ignores our window limit: its 32 KiB window does not fit.
        assert_eq!(answer("permessage-deflate"), Err(WindowTooLarge));
        assert_eq!(
            answer("permessage-deflate; server_max_window_bits=15"),
            Err(WindowTooLarge)
        );
        assert_eq!(answer("x-webkit-deflate-frame"), Err(UnknownExtension));
        assert_eq!(
            answer("permessage-deflate; server_max_window_bits=9, permessage-deflate; server_max_window_bits=9"),
            Err(Duplicate)
        );
        assert_eq!(
            answer("permessage-deflate; server_max_window_bits=9; mystery"),
            Err(BadParameter)
        );
        assert_eq!(
            answer("permessage-deflate; server_max_window_bits=9; server_max_window_bits=9"),
            Err(BadParameter)
        );
        assert_eq!(
            answer("permessage-deflate; server_max_window_bits=9; server_no_context_takeover=1"),
            Err(BadParameter)
        );
        for bad in ["7", "16", "09", "", "x", "100"] {
            assert_eq!(
                answer(&format!("permessage-deflate; server_max_window_bits={bad}")),
                Err(BadWindowBits),
                "{bad}"
            );
        }
        assert_eq!(
            answer("permessage-deflate; server_max_window_bits"),
            Err(BadWindowBits)
        );
        let mut a = None;
        assert_eq!(
            parse_answer(b"permessage-deflate", None, &mut a),
            Err(UnknownExtension),
            "nothing offered"
        );
    }
}
