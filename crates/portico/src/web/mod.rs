//! The application API: routes, typed request bodies, JSON answers and typed errors, on
//! the core's connection engine — `no_std`, no allocator, the same on every port.
//!
//! A device maker writes a [`Service`] (a `const` route table, one `async fn` that
//! matches on it, optionally an embedded front end) and hands it to a port:
//! `portico_tokio::serve` on a PC, `portico_embassy` on the chip.
//! The port brings the sockets, the connection policy (idle keep-alives evicted first,
//! `503` + `Retry-After` at capacity) and the buffer pool; the handler borrows the
//! leased buffer for its request and nothing else.
//!
//! What the application gets for free: `HEAD` from `GET`, `OPTIONS` and `405` with
//! `Allow`, `413` for a body over the route's limit (checked before it is read), `415`
//! for a JSON route sent something else, and `400`/`422` JSON errors that name the
//! offending field.

mod error;
pub mod json;
mod request;
mod service;

pub use error::{Error, Failure, Lost, FIELD_CAP};
pub use request::{Form, Outcome, Request};
pub use service::{send_error, Flow, Service};

/// `GET` (and `HEAD`) at `pattern`: [`Route::get`].
pub const fn get<T>(pattern: &'static str, target: T) -> Route<T> {
    Route::get(pattern, target)
}

/// `POST` at `pattern`: [`Route::post`].
pub const fn post<T>(pattern: &'static str, target: T) -> Route<T> {
    Route::post(pattern, target)
}

/// `PUT` at `pattern`: [`Route::put`].
pub const fn put<T>(pattern: &'static str, target: T) -> Route<T> {
    Route::put(pattern, target)
}

/// `PATCH` at `pattern`: [`Route::patch`].
pub const fn patch<T>(pattern: &'static str, target: T) -> Route<T> {
    Route::patch(pattern, target)
}

/// `DELETE` at `pattern`: [`Route::delete`].
pub const fn delete<T>(pattern: &'static str, target: T) -> Route<T> {
    Route::delete(pattern, target)
}

// What a handler's signature and route table name, in one `use`.
pub use crate::http::{Method, Route, Status};
pub use crate::server::{Env, Reply, Transport};

#[cfg(all(test, feature = "std"))]
mod tests;
