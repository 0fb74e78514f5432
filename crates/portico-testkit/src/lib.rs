#![doc = include_str!("../README.md")]
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod browser;
pub mod pages;
pub mod percentile;
pub mod process;
pub mod read;
pub mod response;
#[cfg(feature = "tls-cert")]
pub mod tls_cert;
#[cfg(feature = "tls-echo")]
pub mod tls_echo;
#[cfg(feature = "ws-echo")]
pub mod ws_echo;

pub use browser::{retry, Connection};
pub use pages::page_paths;
pub use percentile::{median, percentile};
pub use process::spawn_announcing;
pub use read::{read_response, Failure};
pub use response::{parse_response, Framing, ParseError, Parsed, Response};
