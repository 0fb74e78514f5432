//! The answer to a received close, shared by the client's connection and the server's
//! session, so that both sides check a close and echo its code alike.

use crate::close::{parse_close, CloseCode, CloseFrame};

use super::ProtocolError;

/// A received close payload checked (RFC 6455 §5.5.1: a bad code or a reason that is not
/// UTF-8 is a protocol error) and the close frame that answers it: its code echoed, none
/// for none. The client and the server session answer a close alike.
pub(crate) fn answer_close(payload: &[u8]) -> Result<(CloseCode, CloseFrame), ProtocolError> {
    let c = parse_close(payload).map_err(|e| match e {
        crate::close::CloseParseError::InvalidReason => ProtocolError::InvalidUtf8,
        e => ProtocolError::BadClose(e),
    })?;
    let reply = if c.code == CloseCode::NO_STATUS {
        CloseFrame::empty()
    } else {
        CloseFrame::new(c.code, "").unwrap_or(CloseFrame::empty())
    };
    Ok((c.code, reply))
}
