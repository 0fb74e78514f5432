#![doc = include_str!("../README.md")]
#![no_std]
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[cfg(test)]
extern crate std;

pub mod answer;
pub mod device;
pub mod documents;
#[cfg(feature = "embassy")]
pub mod embassy;
pub mod events;
pub mod json;
pub mod login;
pub mod provider;
pub mod routes;
pub mod security;

pub use device::{Config, ConnTable, Device, LinkStatus};
pub use documents::Document;
pub use json::{JsonWriter, Overflow};
pub use provider::{Events, Provider, Rendered, Unavailable, EVENT_PREFIX, EVENT_SUFFIX};
