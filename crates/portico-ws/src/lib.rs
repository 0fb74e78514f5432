#![doc = include_str!("../README.md")]
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod backoff;
pub mod buffers;
pub mod close;
pub mod compression;
pub mod connection;
#[cfg(feature = "deflate")]
pub mod deflate;
#[cfg(not(feature = "deflate"))]
#[path = "deflate_off.rs"]
pub mod deflate;
pub mod driver;
pub mod event;
pub mod frame;
pub mod handshake;
pub mod lifecycle;
pub mod mask;
pub mod server;
pub mod settings;
pub mod stats;
pub mod url;
pub mod utf8;

#[cfg(feature = "embassy")]
pub mod embassy;
#[cfg(feature = "tokio")]
pub mod tokio;

pub use backoff::Reconnect;
pub use buffers::{BufferSizes, MemoryBlock};
pub use close::{CloseCode, CloseFrame};
pub use compression::{Compression, CompressionMode};
pub use connection::Delivery;
pub use driver::{CloseError, SendError};
pub use event::{ConnectError, DisconnectReason, ErrorKind, Event, State};
pub use frame::Opcode;
pub use portico::placement::{Placement, Region};
pub use settings::Settings;
