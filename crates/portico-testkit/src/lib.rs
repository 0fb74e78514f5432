#![doc = include_str!("../README.md")]
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod browser;
pub mod pages;
pub mod percentile;
pub mod read;
pub mod response;
#[cfg(feature = "tls")]
pub mod tls;

pub use browser::{retry, Connection};
pub use pages::page_paths;
pub use percentile::{median, percentile};
pub use read::{read_response, Failure};
pub use response::{parse_response, Framing, ParseError, Parsed, Response};
