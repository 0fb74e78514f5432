//! What the client's connection and the server's session report, and the checks both
//! harnesses (`ws`, `ws_server`) make of it: the two share the codec, so they must
//! answer a protocol error and deliver a message the same way.

use portico_ws::close::parse_close;
use portico_ws::connection::ProtocolError;
use portico_ws::frame::Opcode;

/// One event, data pieces joined into whole messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ev {
    Msg(Opcode, Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(u16, String),
    Err(ProtocolError),
}

/// After protocol error `e`, the next control frame out is the close it maps to, and
/// nothing more comes in (`then_quiet`: the next poll gave no event).
pub(crate) fn assert_error_ends(
    control: Option<(Opcode, heapless::Vec<u8, 125>)>,
    e: &ProtocolError,
    then_quiet: bool,
) {
    let (op, payload) = control.expect("a close is queued after an error");
    assert_eq!(op, Opcode::Close);
    let code = parse_close(&payload).expect("our own close parses").code;
    assert_eq!(code, e.close_code(), "{e:?}");
    assert!(then_quiet, "events after a protocol error");
}

/// A text message delivered is UTF-8.
pub(crate) fn assert_text_is_utf8(opcode: Opcode, payload: &[u8]) {
    if opcode == Opcode::Text {
        assert!(
            core::str::from_utf8(payload).is_ok(),
            "invalid UTF-8 delivered"
        );
    }
}
