//! How received data reaches the handler: whole messages or pieces. A setting
//! ([`Settings::delivery`](crate::settings::Settings::delivery)) that the state machine
//! obeys; the settings name it as well as the machine, so it stands apart from both.

/// How received data reaches the handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Whole messages, reassembled from their frames (up to `max_message`).
    Messages,
    /// Pieces as they arrive, each with its message's opcode and whether it is the last;
    /// nothing is reassembled, so messages of any size pass through fixed memory.
    Frames,
}
