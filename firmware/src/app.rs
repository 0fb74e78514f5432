//! The application on the device: the host provider's very application
//! (`portico_app::Provider`) over the port's view of itself. `portico-embassy` (feature
//! `app`) makes it the stream driver too, with the live-updates loop on `embassy-time`.

use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use portico_app::embassy::{PortDevice, PortResources};
use portico_app::Provider;
use portico_embassy::profile::{self, Profile};

use portico_firmware::memory::EspRegions;

mod assets {
    include!(concat!(env!("OUT_DIR"), "/assets.rs"));
}

/// The chip's numbers (`portico_embassy::profile`), picked by the chip feature.
#[cfg(feature = "esp32c3")]
pub const PROFILE: Profile = profile::ESP32C3;
/// The chip's numbers (`portico_embassy::profile`), picked by the chip feature.
#[cfg(all(feature = "esp32s3", not(feature = "esp32c3")))]
pub const PROFILE: Profile = profile::ESP32S3;

/// Sockets in the HTTP pool.
pub const SOCKETS: usize = PROFILE.sockets;
/// Receive buffer per socket.
pub const RX: usize = PROFILE.rx;
/// Transmit buffer per socket.
pub const TX: usize = PROFILE.tx;

/// Request buffers leased at once (the pool's slots, sized in its type).
pub const CHUNKS: usize = PROFILE.chunks;

/// The port's sockets, request buffers and memory regions, sized for the chip.
pub type EspResources = PortResources<'static, EspRegions, NoopRawMutex, CHUNKS, 32>;

/// The port as the application sees it.
pub type EspDevice = PortDevice<'static, EspResources>;

/// The provider application with the embedded dashboard.
pub type App = Provider<EspDevice>;

/// The application over the device's state.
pub const fn new(device: EspDevice) -> App {
    Provider::new(device, assets::ASSETS)
}
