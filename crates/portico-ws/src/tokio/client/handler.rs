//! What the application implements to receive the client's events.

use crate::event::Event;

use super::control::Control;

/// Receives the client's events, on the client's task. Keep it short: it runs between
/// reads. It may call anything on the [`Control`](super::Control) (all non-blocking).
pub trait Handler: Send + 'static {
    /// Called for every event.
    fn on_event(&mut self, event: Event<'_>, client: &Control);
}

impl<F> Handler for F
where
    F: FnMut(Event<'_>, &Control) + Send + 'static,
{
    fn on_event(&mut self, event: Event<'_>, client: &Control) {
        self(event, client)
    }
}
