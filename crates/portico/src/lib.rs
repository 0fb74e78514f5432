//! Portico's core: everything that can be decided without I/O or a clock.
//!
//! Layers, bottom up:
//! - [`http`]: the HTTP/1.1 wire format — request heads (on `httparse`), body framing,
//!   chunked decoding, response heads that cannot carry CR/LF injection, and a router.
//! - [`conn`]: the connection table — socket budget, admission, protocol-aware LRU
//!   eviction, deadlines. Pure: time is passed in, decisions are returned.
//! - [`guard`]: who may talk to the device — `Host` allowlist, cross-site refusal,
//!   password hash, signed tokens, login rate limit.
//! - [`pool`] and [`placement`]: fixed buffer pool and region-aware memory placement.
//! - [`hub`]: live updates — an event hub with a replay ring for server-sent events.
//! - [`server`]: the request/response loop over any `embedded-io-async` byte stream,
//!   driven by a port (tokio on the host, embassy-net on the device).
//! - [`web`]: the application API on that loop — routes, typed bodies, JSON answers,
//!   typed errors.
//!
//! Nothing here allocates unless the `alloc` feature asks for it, and nothing reads a
//! clock: ports pass `now` in and implement [`server::Env`].
#![doc = include_str!("../README.md")]
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;

pub mod assets;
pub mod conn;
pub mod guard;
pub mod http;
pub mod hub;
pub mod placement;
pub mod pool;
pub mod report;
pub mod server;
// Also under `cfg(test)`, so the core's own tests (and `cargo test --workspace`) use it.
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod time;
pub mod web;
