//! The live-updates stream (`/api/events`), driven the same way on every port.

use portico::conn::TimeoutPhase;
use portico::server::{Env, ServerConfig, Transport};
use portico::time::Duration;

use crate::device::Device;
use crate::provider::Provider;

/// Time between two snapshots.
pub const EVENT_INTERVAL: Duration = Duration::from_secs(1);

/// One snapshot a second until the client leaves or the port evicts the stream (by
/// dropping this future). Each write counts as activity, so the table sees a stream, not
/// an idle connection. No scratch is held between events: each snapshot is drawn from
/// [`Device::alloc`] for the moment it takes to send, and skipped while memory is short.
pub async fn run<D: Device, T: Transport, E: Env>(
    app: &Provider<D>,
    io: &mut T,
    env: &E,
    cfg: &ServerConfig,
) {
    loop {
        env.sleep(EVENT_INTERVAL).await;
        match env
            .timeout(cfg.timeouts.send, app.write_event(io, &mut []))
            .await
        {
            Ok(Ok(_)) => env.touch(),
            Ok(Err(_)) => return,
            Err(_) => {
                env.timed_out(TimeoutPhase::Send);
                return;
            }
        }
    }
}
