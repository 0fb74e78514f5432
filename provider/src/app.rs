//! The application on the host: `portico_app::Provider` over [`HostDevice`]. Its
//! live-updates loop comes from `portico-tokio` (feature `app`).

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
