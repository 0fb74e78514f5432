//! What a handler answers when the request is wrong: a status and a JSON body that says
//! what was wrong and, when one field was, which one.
//!
//! `{"error":"out of range","field":"brightness"}` lets a form put the message next to
//! the right input; a script gets a status it can branch on. The message is static text
//! (no allocator, no formatting on the device); the field name is copied, because it may
//! come from the request (a JSON key the deserializer choked on).

use core::fmt;

use crate::conn::TimeoutPhase;
use crate::http::Status;
use crate::server::ServeError;

/// Longest field name an error carries (longer names are cut).
pub const FIELD_CAP: usize = 32;

/// An error answer: status, message, and the offending field if there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The response status.
    pub status: Status,
    /// What went wrong, for people: `"must be 0 to 100"`.
    pub message: &'static str,
    /// The request field it concerns (a JSON member, a form field, a path or query
    /// parameter), empty when none does.
    pub field: heapless::String<FIELD_CAP>,
}

impl Error {
    /// An error with `status` and `message`, naming no field.
    pub fn new(status: Status, message: &'static str) -> Self {
        Error {
            status,
            message,
            field: heapless::String::new(),
        }
    }

    /// Names the field the error concerns.
    pub fn field(mut self, name: &str) -> Self {
        self.field.clear();
        for c in name.chars() {
            if self.field.push(c).is_err() {
                break;
            }
        }
        self
    }

    /// `400`: the request is malformed (not JSON, a missing field, a wrong type).
    pub fn bad_request(message: &'static str) -> Self {
        Self::new(Status::BAD_REQUEST, message)
    }

    /// `422`: well-formed, but `field` holds a value the application refuses.
    pub fn invalid(field: &str, message: &'static str) -> Self {
        Self::new(Status::UNPROCESSABLE_CONTENT, message).field(field)
    }

    /// `404`: no such resource.
    pub fn not_found(message: &'static str) -> Self {
        Self::new(Status::NOT_FOUND, message)
    }

    /// `409`: the resource's state forbids it now.
    pub fn conflict(message: &'static str) -> Self {
        Self::new(Status::CONFLICT, message)
    }

    /// `413`: the body is larger than the route accepts.
    pub fn too_large() -> Self {
        Self::new(Status::CONTENT_TOO_LARGE, "request body too large")
    }

    /// `415`: the body is not of a type the route reads.
    pub fn unsupported_type(message: &'static str) -> Self {
        Self::new(Status::UNSUPPORTED_MEDIA_TYPE, message)
    }

    /// `500`: the application failed; nothing the client can fix.
    pub fn internal(message: &'static str) -> Self {
        Self::new(Status::INTERNAL_SERVER_ERROR, message)
    }

    /// `503`: out of memory or another resource right now; come back later.
    pub fn unavailable(message: &'static str) -> Self {
        Self::new(Status::SERVICE_UNAVAILABLE, message)
    }

    /// Writes the JSON body into `out`; returns its length, or `None` if `out` is short.
    pub fn write_json(&self, out: &mut [u8]) -> Option<usize> {
        #[derive(serde::Serialize)]
        struct Body<'e> {
            error: &'e str,
            #[serde(skip_serializing_if = "str::is_empty")]
            field: &'e str,
        }
        serde_json_core::to_slice(
            &Body {
                error: self.message,
                field: &self.field,
            },
            out,
        )
        .ok()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status.0, self.message)?;
        if !self.field.is_empty() {
            write!(f, " ({})", self.field)?;
        }
        Ok(())
    }
}

/// Why a handler stopped: an answer for the client, or a connection that failed.
///
/// It does not carry the transport's error type, so that a handler's signature need not
/// name it: the request keeps the original error for the port (see
/// [`super::Request`]).
#[derive(Debug)]
pub enum Failure {
    /// Answer the client with this error (unless a response was already started, in
    /// which case the connection is closed).
    Http(Error),
    /// The connection failed (I/O, a deadline, a broken body): nothing more can be sent
    /// and the connection closes.
    Connection(Lost),
}

/// How a connection was lost, without the transport's error value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lost {
    /// The transport failed.
    Io,
    /// A deadline passed.
    Timeout(TimeoutPhase),
    /// Anything else the core reported (peer closed, malformed body, misuse).
    Other,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Http(e)
    }
}

impl Lost {
    /// The kind of `e`.
    pub fn of<E>(e: &ServeError<E>) -> Self {
        match e {
            ServeError::Io(_) => Lost::Io,
            ServeError::Timeout(p) => Lost::Timeout(*p),
            _ => Lost::Other,
        }
    }
}

/// For `?` on the core's calls inside a handler (a [`crate::server::BodyWriter`]'s
/// writes): the kind is kept, the transport's value is not.
impl<E> From<ServeError<E>> for Failure {
    fn from(e: ServeError<E>) -> Self {
        Failure::Connection(Lost::of(&e))
    }
}

/// Records `e` in `slot` for the port and returns the handler's view of it.
pub(super) fn keep<E>(slot: &mut Option<ServeError<E>>, e: ServeError<E>) -> Failure {
    let kind = Lost::of(&e);
    *slot = Some(e);
    Failure::Connection(kind)
}
