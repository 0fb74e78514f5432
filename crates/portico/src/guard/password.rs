//! The password, stored hashed: PBKDF2-HMAC-SHA256 (RFC 8018 §5.2) with a random salt,
//! compared in constant time.
//!
//! The device keeps only this hash (set from the settings flow); the host hashes the
//! contents of `--password-file` at start and forgets the text. Guessing is bounded by
//! the [`super::limiter`]; the iteration count makes a stolen hash expensive to attack
//! while one check stays short on a microcontroller.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// Iterations used unless told otherwise: a few tens of milliseconds on an ESP32's
/// software SHA-256, and the login is rate-limited anyway.
pub const DEFAULT_ITERATIONS: u32 = 4096;

/// A salted, iterated hash of the password.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash {
    /// Random bytes chosen when the password was set.
    pub salt: [u8; 16],
    /// PBKDF2 iterations.
    pub iterations: u32,
    /// The derived key (32 bytes: one block of PBKDF2).
    pub hash: [u8; 32],
}

impl core::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("PasswordHash(..)")
    }
}

impl PasswordHash {
    /// Hashes `password` with `salt`.
    pub fn new(password: &[u8], salt: [u8; 16], iterations: u32) -> Self {
        PasswordHash {
            salt,
            iterations,
            hash: pbkdf2_block(password, &salt, iterations.max(1)),
        }
    }

    /// Whether `password` is the one hashed. The comparison takes the same time
    /// whatever the bytes, so timing tells a guesser nothing about the hash.
    pub fn verify(&self, password: &[u8]) -> bool {
        let h = pbkdf2_block(password, &self.salt, self.iterations.max(1));
        h.ct_eq(&self.hash).into()
    }
}

/// The first (and only needed) 32-byte block of PBKDF2-HMAC-SHA256.
fn pbkdf2_block(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    // HMAC accepts keys of any length (long ones are hashed first).
    let prf = HmacSha256::new_from_slice(password).expect("HMAC takes any key length");
    let mut mac = prf.clone();
    mac.update(salt);
    mac.update(&1u32.to_be_bytes());
    let mut u: [u8; 32] = mac.finalize().into_bytes().into();
    let mut out = u;
    for _ in 1..iterations {
        let mut mac = prf.clone();
        mac.update(&u);
        u = mac.finalize().into_bytes().into();
        for (o, b) in out.iter_mut().zip(u) {
            *o ^= b;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> [u8; 32] {
        let mut out = [0; 32];
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    #[test]
    fn pbkdf2_vectors() {
        // RFC 7914 §11 (PBKDF2-HMAC-SHA256, first 32 bytes of the 64 it lists).
        assert_eq!(
            pbkdf2_block(b"passwd", b"salt", 1),
            hex("55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc")
        );
        assert_eq!(
            pbkdf2_block(b"Password", b"NaCl", 80000),
            hex("4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56")
        );
    }

    #[test]
    fn verifies_only_the_password() {
        let h = PasswordHash::new(b"correct horse", [7; 16], 16);
        assert!(h.verify(b"correct horse"));
        assert!(!h.verify(b"correct hors"));
        assert!(!h.verify(b"correct horse "));
        assert!(!h.verify(b""));
        let other_salt = PasswordHash::new(b"correct horse", [8; 16], 16);
        assert_ne!(h.hash, other_salt.hash);
        assert_eq!(
            std::format!("{h:?}"),
            "PasswordHash(..)",
            "no secret in logs"
        );
    }
}
