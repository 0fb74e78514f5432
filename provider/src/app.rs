//! The application on the host: `portico_app::Provider` over [`HostDevice`]. Its
//! live-updates stream is the application's own, run by the core's engine.

use portico_app::Provider;

use crate::device::HostDevice;

mod assets {
    include!(concat!(env!("OUT_DIR"), "/assets.rs"));
}

/// The embedded dashboard (also served by the device stack).
pub use assets::ASSETS;

/// The provider application with the embedded dashboard.
pub type HostApp = Provider<HostDevice>;

/// The application over the host's state.
pub fn new(device: HostDevice) -> HostApp {
    Provider::new(device, ASSETS)
}
