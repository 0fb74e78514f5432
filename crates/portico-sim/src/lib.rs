//! A deterministic network in one process, for the device port.
//!
//! The device's embassy-net stack and the simulated browsers' stacks are joined by an
//! in-memory hub ([`net::Network`]) that routes raw IPv4 packets with seeded loss and
//! delay. Everything runs on a single-threaded executor ([`executor::Executor`]) over a
//! virtual clock ([`clock`], an `embassy-time` driver): when no task is ready the clock
//! jumps to the next timer, so seconds of network time take milliseconds, and the same
//! seed gives the same run, packet for packet. No root, no TAP, no threads.
//!
//! The device side is the real port: `portico_embassy::SocketPool` with the firmware's
//! socket count and buffer sizes ([`portico_embassy::profile`]).

pub mod app;
pub mod browser;
pub mod clock;
pub mod device;
pub mod executor;
pub mod link;
pub mod net;
pub mod rng;
pub mod scenario;
pub mod upstream;
