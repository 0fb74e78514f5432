#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

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
