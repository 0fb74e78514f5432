//! The client's side of its handles, as the run loop sees it: [`Command`]s come in,
//! events and [`Status`] go out. A trait, because each port queues commands with its own
//! primitives (tokio channels on the host, embassy-sync queues on the device) while the
//! loop that serves them is written once.
#![allow(async_fn_in_trait)] // Send-ness is decided by each port's concrete types.

use crate::buffers::MemoryBlock;
use crate::close::CloseFrame;
use crate::event::{ErrorKind, Event, State};

use super::Outgoing;

/// A command from a handle to the client task.
#[derive(Debug)]
pub enum Command<O> {
    /// Send a data frame.
    Send(O),
    /// Start the closing handshake, then stop (no reconnect).
    Close(CloseFrame),
    /// Stop now (no closing handshake).
    Stop,
}

/// What a status sink is told.
#[derive(Debug, Clone, Copy)]
pub enum Status<'a> {
    /// The state changed.
    State(State),
    /// A connection was established; `reconnect` if it is not the first one.
    Connected {
        /// Not the first connection of this run.
        reconnect: bool,
    },
    /// The latest error.
    Error(&'a ErrorKind),
    /// Round-trip time of the last ping.
    RttMs(u64),
    /// The blocks held now.
    Memory(&'a [MemoryBlock]),
}

/// The client's side of its handles.
pub trait Link {
    /// The queued send type.
    type Out: Outgoing;

    /// Waits for a command to arrive (and returns it) or for a wake-up (`None`: a stop
    /// or a close may have been requested). Must be cancel-safe.
    async fn wait_command(&mut self) -> Option<Command<Self::Out>>;

    /// Waits for the next command; a requested stop comes before anything queued.
    /// Cancel-safe when `wait_command` is.
    async fn recv(&mut self) -> Command<Self::Out> {
        loop {
            if self.stop_requested() {
                return Command::Stop;
            }
            if let Some(c) = self.try_recv() {
                return c;
            }
            if let Some(c) = self.wait_command().await {
                return c;
            }
        }
    }

    /// A command that is already waiting, if any.
    fn try_recv(&mut self) -> Option<Command<Self::Out>>;

    /// Whether the client must stop (checked between steps).
    fn stop_requested(&self) -> bool;

    /// Resolves once a stop is requested (without consuming commands): a write stalled
    /// by the network is abandoned at once instead of after `network_timeout_ms`.
    async fn stopped(&self);

    /// Delivers an event to the user's handler.
    fn event(&mut self, event: Event<'_>);

    /// Records status (state, counters, memory).
    fn status(&mut self, status: Status<'_>);
}
