//! The generic async driver: connect, handshake, run the connection, reconnect — over
//! any `embedded-io-async` transport, on any executor.
//!
//! What the driver needs from its environment is split in two small traits, after
//! `edge-nal`'s factories and `picoserve`'s runtime markers:
//! - [`Port`]: open a transport (TCP, TLS), sleep, read the time, draw random bytes;
//! - [`Link`]: the client's side of the handles — commands in, events and status out.
//!
//! One task runs [`run`](fn@run); it owns the transport and the buffers, so no lock is
//! ever held across an await in the receive path (the ESP-IDF client's receive lock
//! starved its senders for 10+ s, #625/#778). Sends reach the task as commands and each
//! frame is written whole, in one call.
//!
//! Futures passed to `select` are dropped when another branch wins, so [`Link::recv`],
//! [`Port::sleep_ms`] and the transport's `read` must be cancel-safe: dropping them must
//! lose nothing (true of tokio sockets, timers and channels, and of embassy-net).
//!
//! One piece a file: the two traits, [`Port`] (`port.rs`) and [`Link`] with its
//! [`Command`]s and [`Status`] (`link.rs`); a send on its way, [`Outgoing`] and
//! [`Queued`] (`outgoing.rs`); what a handle is told, [`SendError`] and [`CloseError`]
//! (`error.rs`); the sends every port's handle shares (`try_send.rs`); and
//! [`run`](fn@run) with its [`Target`] and [`Exit`] (`run.rs`), which calls on
//! `connect.rs` (transport and handshake) and `session.rs` (one open connection), whose
//! commands `command.rs` carries out, each frame written by `write.rs`.

mod command;
mod connect;
mod error;
mod link;
mod outgoing;
mod port;
mod run;
mod session;
#[cfg(any(feature = "tokio", feature = "embassy"))]
mod try_send;
mod write;

pub use error::{CloseError, SendError};
pub use link::{Command, Link, Status};
pub use outgoing::{Outgoing, Queued};
pub use port::Port;
pub use run::{run, Exit, Target};
#[cfg(any(feature = "tokio", feature = "embassy"))]
pub(crate) use try_send::{check_data_opcode, try_send_methods};
