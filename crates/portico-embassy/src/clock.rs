//! Time for the core, from `embassy-time`.

use embassy_time::{Instant, Timer};
use portico::time::Millis;

/// Milliseconds since boot (or since the simulation's epoch), as the core counts time.
pub fn now_ms() -> Millis {
    Instant::now().as_millis()
}

/// Deadlines on `embassy-time`: the port's timer for the core's request loop.
#[derive(Debug, Clone, Copy, Default)]
pub struct EmbassyTimer;

impl EmbassyTimer {
    /// Completes at `deadline` (milliseconds on the [`now_ms`] clock).
    pub async fn at(&self, deadline: Millis) {
        Timer::at(Instant::from_millis(deadline)).await
    }
}
