//! Session and API tokens: claims signed with HMAC-SHA256, checked in constant time.
//!
//! A token is stateless — the device keeps no session table — and carries what it
//! grants: its kind, when it expires (on the port's monotonic clock, in milliseconds:
//! the device may not know the date), a serial number, and for sessions the logout
//! epoch. The key is random at every start, so a restart ends every token, and the
//! clock's restart at zero cannot extend one.
//!
//! Wire form, 98 ASCII characters, safe in a cookie and as a `Bearer` token68:
//! `K` (`s` session, `a` API) · expiry (16 hex) · serial (8 hex) · epoch (8 hex) · `.` ·
//! HMAC-SHA256 of everything before the dot (64 hex).

use core::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::time::Instant;

type HmacSha256 = Hmac<Sha256>;

/// Length of a token on the wire.
pub const TOKEN_LEN: usize = 1 + 16 + 8 + 8 + 1 + 64;
const SIGNED_LEN: usize = TOKEN_LEN - 65;

/// The key that signs tokens.
#[derive(Clone)]
pub struct SessionKey(pub [u8; 32]);

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionKey(..)")
    }
}

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A browser session (the cookie); ended by logout.
    Session,
    /// A script's `Authorization: Bearer` token; ends at its expiry or a restart.
    Api,
}

impl Kind {
    fn tag(self) -> u8 {
        match self {
            Kind::Session => b's',
            Kind::Api => b'a',
        }
    }
}

/// What a token grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claims {
    /// Session or API.
    pub kind: Kind,
    /// Port clock time after which it is refused.
    pub expires: Instant,
    /// Distinguishes tokens issued in the same millisecond.
    pub serial: u32,
    /// The logout epoch it was issued in (sessions only; 0 for API tokens).
    pub epoch: u32,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Not a token of this format.
    Malformed,
    /// The signature does not match: forged, altered, or from before a restart.
    BadSignature,
    /// Past its expiry.
    Expired,
    /// A session from before the last logout.
    LoggedOut,
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenError::Malformed => "malformed token",
            TokenError::BadSignature => "invalid token",
            TokenError::Expired => "token expired",
            TokenError::LoggedOut => "session ended by logout",
        })
    }
}

impl core::error::Error for TokenError {}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn put_hex(out: &mut [u8], mut v: u64) {
    for o in out.iter_mut().rev() {
        *o = HEX[(v & 0xf) as usize];
        v >>= 4;
    }
}

fn get_hex(s: &[u8]) -> Option<u64> {
    s.iter().try_fold(0u64, |acc, &c| {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => return None,
        };
        Some(acc << 4 | u64::from(d))
    })
}

fn mac(key: &SessionKey, signed: &[u8]) -> [u8; 32] {
    let mut m = HmacSha256::new_from_slice(&key.0).expect("HMAC takes any key length");
    m.update(signed);
    m.finalize().into_bytes().into()
}

/// Signs `claims` into a token.
pub fn issue(key: &SessionKey, claims: &Claims) -> [u8; TOKEN_LEN] {
    let mut t = [0u8; TOKEN_LEN];
    t[0] = claims.kind.tag();
    put_hex(&mut t[1..17], claims.expires.as_millis());
    put_hex(&mut t[17..25], u64::from(claims.serial));
    put_hex(&mut t[25..33], u64::from(claims.epoch));
    t[SIGNED_LEN] = b'.';
    let sig = mac(key, &t[..SIGNED_LEN]);
    for (i, b) in sig.iter().enumerate() {
        t[SIGNED_LEN + 1 + 2 * i] = HEX[usize::from(b >> 4)];
        t[SIGNED_LEN + 2 + 2 * i] = HEX[usize::from(b & 0xf)];
    }
    t
}

/// Checks a token's signature, then its expiry against `now` and, for a session, the
/// logout `epoch`. The signature is compared in constant time; nothing about the claims
/// is trusted before it matches.
pub fn verify(
    key: &SessionKey,
    token: &str,
    now: Instant,
    epoch: u32,
) -> Result<Claims, TokenError> {
    let t = token.as_bytes();
    if t.len() != TOKEN_LEN || t[SIGNED_LEN] != b'.' {
        return Err(TokenError::Malformed);
    }
    let mut given = [0u8; 32];
    for (i, g) in given.iter_mut().enumerate() {
        let at = SIGNED_LEN + 1 + 2 * i;
        *g = get_hex(&t[at..at + 2]).ok_or(TokenError::Malformed)? as u8;
    }
    let expected = mac(key, &t[..SIGNED_LEN]);
    if !bool::from(expected.ct_eq(&given)) {
        return Err(TokenError::BadSignature);
    }
    let kind = match t[0] {
        b's' => Kind::Session,
        b'a' => Kind::Api,
        _ => return Err(TokenError::Malformed),
    };
    let field = |r: core::ops::Range<usize>| get_hex(&t[r]).ok_or(TokenError::Malformed);
    let claims = Claims {
        kind,
        expires: Instant::from_millis(field(1..17)?),
        serial: field(17..25)? as u32,
        epoch: field(25..33)? as u32,
    };
    if now >= claims.expires {
        return Err(TokenError::Expired);
    }
    if kind == Kind::Session && claims.epoch != epoch {
        return Err(TokenError::LoggedOut);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: SessionKey = SessionKey([42; 32]);

    fn session(expires_ms: u64, epoch: u32) -> Claims {
        Claims {
            kind: Kind::Session,
            expires: Instant::from_millis(expires_ms),
            serial: 7,
            epoch,
        }
    }

    fn s(t: &[u8]) -> &str {
        core::str::from_utf8(t).unwrap()
    }

    #[test]
    fn round_trip() {
        let c = session(10_000, 3);
        let t = issue(&KEY, &c);
        assert_eq!(t.len(), TOKEN_LEN);
        assert!(t.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'.'));
        assert_eq!(verify(&KEY, s(&t), Instant::from_millis(9_999), 3), Ok(c));
        let api = Claims {
            kind: Kind::Api,
            epoch: 0,
            ..c
        };
        let ta = issue(&KEY, &api);
        assert_eq!(
            verify(&KEY, s(&ta), Instant::EPOCH, 99),
            Ok(api),
            "logout leaves API tokens"
        );
    }

    #[test]
    fn expiry_and_logout() {
        let t = issue(&KEY, &session(10_000, 3));
        assert_eq!(
            verify(&KEY, s(&t), Instant::from_millis(10_000), 3),
            Err(TokenError::Expired)
        );
        assert_eq!(
            verify(&KEY, s(&t), Instant::EPOCH, 4),
            Err(TokenError::LoggedOut)
        );
    }

    #[test]
    fn forgeries_fail() {
        let t = issue(&KEY, &session(10_000, 3));
        assert_eq!(
            verify(&SessionKey([43; 32]), s(&t), Instant::EPOCH, 3),
            Err(TokenError::BadSignature),
            "another key (a restart)"
        );
        // Every single-character change is caught, in the claims or the signature.
        for i in 0..TOKEN_LEN {
            let mut f = t;
            f[i] = if f[i] == b'0' { b'1' } else { b'0' };
            assert!(
                verify(&KEY, s(&f), Instant::EPOCH, 3).is_err(),
                "changed at {i}"
            );
        }
        // A longer expiry written into the claims does not verify.
        let mut later = t;
        later[1] = b'f';
        assert_eq!(
            verify(&KEY, s(&later), Instant::EPOCH, 3),
            Err(TokenError::BadSignature)
        );
        for bad in ["", "s", "x.y", &s(&t)[..TOKEN_LEN - 1]] {
            assert_eq!(
                verify(&KEY, bad, Instant::EPOCH, 3),
                Err(TokenError::Malformed),
                "{bad}"
            );
        }
        let mut upper = t;
        upper[TOKEN_LEN - 1] = b'G';
        assert_eq!(
            verify(&KEY, s(&upper), Instant::EPOCH, 3),
            Err(TokenError::Malformed)
        );
    }
}
