//! The application on the host port: `portico_app::Provider` over [`HostDevice`], plus
//! the live-updates loop, which needs the host's timers and eviction signal.

use std::time::Duration;

use portico::server::{Env, Exchange, Handler, Reply, ServeError, Transport};
use portico_app::{Events, Provider};
use portico_tokio::{App, ConnEnv, TcpTransport};
use tokio::sync::Notify;

use crate::device::HostDevice;

mod assets {
    include!(concat!(env!("OUT_DIR"), "/assets.rs"));
}

/// The provider application with the embedded dashboard.
pub struct HostApp(Provider<HostDevice>);

impl HostApp {
    pub fn new(device: HostDevice) -> Self {
        HostApp(Provider::new(device, assets::ASSETS))
    }
}

impl Handler for HostApp {
    type Upgrade = Events;

    async fn handle<T: Transport, E: Env>(
        &self,
        ex: &mut Exchange<'_, T, E>,
    ) -> Result<Reply<Events>, ServeError<T::Error>> {
        self.0.handle(ex).await
    }
}

impl App for HostApp {
    /// One snapshot a second until the client leaves or the table evicts the stream.
    async fn stream(&self, _: Events, io: &mut TcpTransport, env: &ConnEnv, evicted: &Notify) {
        let send_timeout =
            Duration::from_millis(self.0.device().shared().options.server.send_timeout_ms);
        loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = evicted.notified() => return,
            }
            // No scratch of our own: the snapshot is drawn from the simulated heap.
            match tokio::time::timeout(send_timeout, self.0.write_event(io, &mut [])).await {
                Ok(Ok(_)) => env.touch(),
                Ok(Err(_)) => return,
                Err(_) => {
                    env.timed_out(portico::conn::TimeoutPhase::Send);
                    return;
                }
            }
        }
    }
}
