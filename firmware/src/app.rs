//! The application on the device: the host provider's very application
//! (`portico_app::Provider`) over [`EspDevice`], plus the live-updates loop on
//! `embassy-time`.

use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_time::{with_timeout, Duration, Timer};

use portico::server::{Env, Exchange, Handler, Reply, ServeError, Transport};
use portico_app::{Events, Provider};
use portico_embassy::{Connection, Streams};

use portico_embassy::profile::SOCKETS;
use portico_embassy::PortDevice;

use crate::memory::EspRegions;

/// The port as the application sees it.
pub type EspDevice = PortDevice<'static, SOCKETS, EspRegions, NoopRawMutex, 8, 32>;

mod assets {
    include!(concat!(env!("OUT_DIR"), "/assets.rs"));
}

/// How long one event may take to leave before the stream is given up.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// The provider application with the embedded dashboard.
pub struct App(Provider<EspDevice>);

impl App {
    /// The application over the device's state.
    pub const fn new(device: EspDevice) -> Self {
        App(Provider::new(device, assets::ASSETS))
    }
}

impl Handler for App {
    type Upgrade = Events;

    async fn handle<T: Transport, E: Env>(
        &self,
        ex: &mut Exchange<'_, T, E>,
    ) -> Result<Reply<Events>, ServeError<T::Error>> {
        self.0.handle(ex).await
    }
}

impl Streams<Events> for App {
    /// One snapshot a second until the client leaves. Each write counts as activity,
    /// and the table sees a stream, not an idle connection.
    async fn run(&self, _: Events, conn: &mut Connection<'_, '_>) {
        loop {
            Timer::after(Duration::from_secs(1)).await;
            // No scratch held between events: each snapshot is drawn from the heap
            // (PSRAM first) for the moment it takes to send.
            match with_timeout(SEND_TIMEOUT, self.0.write_event(conn, &mut [])).await {
                Ok(Ok(_)) => {}
                Ok(Err(_)) | Err(_) => return,
            }
        }
    }
}
