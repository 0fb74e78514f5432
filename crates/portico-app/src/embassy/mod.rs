//! The application on the device port (feature `embassy`): the port's sockets, pool
//! and memory as a [`crate::Device`], and (feature `embassy-ws`) the upstream
//! WebSocket client as its link.

mod device;
#[cfg(feature = "embassy-ws")]
mod link;

pub use device::{serve_app, LinkReport, Network, PortDevice, PortResources};
#[cfg(feature = "embassy-ws")]
pub use link::{report_status, WsLink};
