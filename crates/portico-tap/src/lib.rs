//! The device stack on a PC: Portico's device port (`portico-embassy`) and the provider
//! application (`portico-app`) — the firmware's code minus Wi-Fi and esp-hal — on an
//! embassy-net stack attached to a Linux TAP interface.
//!
//! Browsers, curl and test clients on the host (or in a network namespace) reach it
//! through the kernel's own TCP stack, so the device's smoltcp sockets meet real
//! clients, with the profile's sockets, buffers and memory ([`portico_embassy::profile`]).
//! `provider --stack device` is the command line for it.
//!
//! - [`run()`]: opens the TAP, assembles the stack and serves forever on one thread;
//! - [`link`]: optional link emulation (delay, loss, rate) as a driver wrapper;
//! - `clock`: `embassy-time` on the wall clock.
#![warn(missing_docs)]

mod clock;
pub mod link;
mod run;

pub use embassy_net::Ipv4Cidr;
pub use link::LinkConfig;
pub use portico_embassy::profile;
pub use run::{run, Options, StartError, PLATFORM};
