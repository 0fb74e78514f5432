//! Gives pool chunks back to the heap after a spike.

use portico::time::Duration;
use std::rc::Rc;

use crate::shared::Shared;

/// Chunks the pool keeps after a quiet period.
pub const POOL_BASELINE: usize = 2;
/// How long the pool must see no lease before it gives memory back.
pub const POOL_IDLE: Duration = Duration::from_secs(30);

/// How often the pool is looked at: a sixth of [`POOL_IDLE`], so it shrinks at most a
/// sixth late.
const POOL_IDLE_CHECK: Duration = Duration::from_millis(POOL_IDLE.as_millis() / 6);

/// Shrinks the pool to [`POOL_BASELINE`] once no lease has been taken for
/// [`POOL_IDLE`]: the device's RAM returns to the baseline between bursts.
pub(crate) async fn shrink_when_idle(shared: Rc<Shared>) {
    let mut last = shared.pool.stats().leases;
    let mut quiet_since = shared.now();
    loop {
        tokio::time::sleep(POOL_IDLE_CHECK.into()).await;
        let s = shared.pool.stats();
        let now = shared.now();
        if s.leases != last || s.leased > 0 {
            last = s.leases;
            quiet_since = now;
        } else if now - quiet_since >= POOL_IDLE && s.allocated > POOL_BASELINE {
            shared.pool.shrink(POOL_BASELINE);
        }
    }
}
