//! The device port on embassy (feature `embassy`, `no_std`): TCP on an
//! `embassy_net::Stack`, `embassy-time` timers, a [`Client`] that can be a `static`, and
//! a task body ([`Client::run`]) the firmware spawns once.
//!
//! ```rust,no_run
//! use portico::placement::MemoryRegions;
//! use portico_ws::embassy::{Client, Config, EmbassyPort, Handle};
//! use portico_ws::Event;
//!
//! // `Sync` with the default `CriticalSectionRawMutex`: a plain `static`.
//! static LINK: Client = Client::new(Config::new("ws://192.168.1.10:8080/device"));
//!
//! /// The firmware's `#[embassy_executor::task]`; the port lives in a `StaticCell`:
//! /// `EmbassyPort::new(stack, rx, tx, move |dst: &mut [u8]| rng.read(dst))`.
//! async fn link_task(port: &'static EmbassyPort<'static, fn(&mut [u8])>, mem: impl MemoryRegions) {
//!     LINK.handle().start();
//!     LINK.run(port, mem, |event: Event<'_>, link: &Handle<'_>| {
//!         if let Event::Data { payload, .. } = event {
//!             let _ = link.try_send_binary(payload); // echo, without blocking
//!         }
//!     })
//!     .await
//! }
//! ```
//!
//! Anywhere else: `LINK.handle().try_send_text("...")`, `.stop()`, `.start()`,
//! `.stats()` (for `/api/link`).

#[cfg(feature = "embassy-tls")]
mod anchors;
mod client;
#[cfg(feature = "embassy-settings")]
mod link_settings;
mod port;
#[cfg(feature = "embassy-tls")]
mod tls;

pub use client::{Client, Config, Handle, Handler, Outbound, Stats, ERROR_TEXT, URL_TEXT};
#[cfg(feature = "embassy-settings")]
pub use link_settings::LinkSettings;
pub use port::{Connection, EmbassyPort, Random};
#[cfg(feature = "embassy-tls")]
pub use tls::{TlsMemory, TlsOptions, TlsPort, Transport, MAX_RECORD};
