#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod clock;
pub mod link;
mod run;
mod upstream;

pub use embassy_net::Ipv4Cidr;
pub use link::LinkConfig;
pub use portico_embassy::profile;
pub use run::{run, Options, StartError, PLATFORM};
