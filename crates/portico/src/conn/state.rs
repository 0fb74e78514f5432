//! What a connection is doing, as the port reports it, and which deadline it missed.

/// What a connection is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnState {
    /// Reading a request head.
    Head,
    /// Reading a request body.
    Body,
    /// The handler is running.
    Handler,
    /// Writing a response.
    Response,
    /// Between requests on a keep-alive connection.
    Idle,
    /// A long-lived stream (server-sent events, WebSocket).
    Stream,
}

impl ConnState {
    /// Lower-case name used in JSON.
    pub const fn name(self) -> &'static str {
        match self {
            ConnState::Head => "head",
            ConnState::Body => "body",
            ConnState::Handler => "handler",
            ConnState::Response => "response",
            ConnState::Idle => "idle",
            ConnState::Stream => "stream",
        }
    }

    /// Whether the connection is inside an exchange (never evicted).
    pub const fn is_busy(self) -> bool {
        matches!(
            self,
            ConnState::Head | ConnState::Body | ConnState::Handler | ConnState::Response
        )
    }
}

/// Which deadline a connection missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutPhase {
    /// The request head did not arrive in time.
    Head,
    /// The request body did not arrive in time.
    Body,
    /// The client did not take the response in time.
    Send,
    /// The keep-alive connection stayed idle too long.
    Idle,
}

impl TimeoutPhase {
    /// Lower-case name, as in the counters (`timeout_head`…).
    pub const fn name(self) -> &'static str {
        match self {
            TimeoutPhase::Head => "head",
            TimeoutPhase::Body => "body",
            TimeoutPhase::Send => "send",
            TimeoutPhase::Idle => "idle",
        }
    }
}
