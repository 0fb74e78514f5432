//! HTTP/1.1 wire format: pure parsing and formatting, no I/O.

pub mod authorization;
pub mod chunked;
pub mod cookie;
pub mod date;
pub mod path;
pub mod request;
pub mod response;
pub mod router;
pub mod status;
pub mod urlencoded;

pub use date::HttpDate;
pub use request::{BodyFraming, HeadError, HeadLimits, Method, RequestHead};
pub use response::{HeadWriter, HeaderError};
pub use router::{Params, Resolution, Route, Router};
pub use status::Status;
