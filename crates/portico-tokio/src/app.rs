//! The provider application's live updates on this port (feature `app`): a
//! `portico_app::Provider` is an [`App`] as it is, whatever its `Device`.

use std::time::Duration;

use portico::conn::TimeoutPhase;
use portico::server::Env as _;
use portico_app::{Device, Events, Provider};
use tokio::sync::Notify;

use crate::{App, ConnEnv, TcpTransport};

/// One snapshot a second until the client leaves or the table evicts the stream. Each
/// snapshot is drawn from `Device::alloc` (the simulated heap) for the moment it takes
/// to send; none is held in between.
impl<D: Device + 'static> App for Provider<D> {
    async fn stream(&self, _: Events, io: &mut TcpTransport, env: &ConnEnv, evicted: &Notify) {
        let send_timeout = Duration::from_millis(env.shared().options.server.send_timeout_ms);
        loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = evicted.notified() => return,
            }
            match tokio::time::timeout(send_timeout, self.write_event(io, &mut [])).await {
                Ok(Ok(_)) => env.touch(),
                Ok(Err(_)) => return,
                Err(_) => {
                    env.timed_out(TimeoutPhase::Send);
                    return;
                }
            }
        }
    }
}
