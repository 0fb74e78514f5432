//! Who may talk to the device: the policy behind the application's checks, pure and
//! without an allocator, so the host and the device decide alike.
//!
//! In the order a request meets them:
//! - [`host`]: the `Host` header must name the device (DNS-rebinding defence, `421`);
//! - [`origin`]: a request that can change state must come from the device's own pages
//!   (cross-site defence, `403`);
//! - [`token`] and [`password`]: optional authentication — a signed, expiring token in a
//!   cookie or an `Authorization: Bearer` header, issued for the password (`401`);
//! - [`limiter`]: wrong passwords slow their sender and, past a higher bar, everyone
//!   (`429` + `Retry-After`, never more than a minute).

pub mod host;
pub mod limiter;
pub mod origin;
pub mod password;
pub mod token;

pub use host::HostPolicy;
pub use limiter::{LoginLimiter, RetryAfter};
pub use password::PasswordHash;
pub use token::{Claims, Kind, SessionKey, TokenError};

/// What authentication needs from the port: the stored password hash and the key that
/// signs tokens. A port without them runs with authentication off.
#[derive(Debug, Clone, Copy)]
pub struct Secrets<'a> {
    /// The password, stored hashed.
    pub password: &'a PasswordHash,
    /// Signs session and API tokens; fresh random bytes each start, so a restart ends
    /// every session.
    pub key: &'a SessionKey,
}
