#![doc = include_str!("../README.md")]
#![deny(unsafe_code)]
#![warn(missing_docs)]
// The README's getting-started is a whole `build.rs`: its `fn main` is the point.
#![allow(clippy::needless_doctest_main)]

mod content_type;
mod embed;
mod error;
mod hashed;
mod table;
mod walk;

pub use content_type::content_type;
pub use embed::{Embed, Identity};
pub use error::Error;
pub use hashed::is_content_hashed;
pub use table::{Embedded, File};

/// FNV-1a: a stable 64-bit content hash for strong `ETag`s (a validator, not security:
/// what matters is that a changed file gets a new one).
pub fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
