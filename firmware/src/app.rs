//! The application on the device: the host provider's very application
//! (`portico_app::Provider`) over the port's view of itself. `portico-embassy` (feature
//! `app`) makes it the stream driver too, with the live-updates loop on `embassy-time`.

use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use portico_app::Provider;
use portico_embassy::profile::SOCKETS;
use portico_app::embassy::PortDevice;

use crate::memory::EspRegions;

mod assets {
    include!(concat!(env!("OUT_DIR"), "/assets.rs"));
}

/// The port as the application sees it.
pub type EspDevice = PortDevice<'static, SOCKETS, EspRegions, NoopRawMutex, 8, 32>;

/// The provider application with the embedded dashboard.
pub type App = Provider<EspDevice>;

/// The application over the device's state.
pub const fn new(device: EspDevice) -> App {
    Provider::new(device, assets::ASSETS)
}
