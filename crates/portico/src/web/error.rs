//! What a handler answers when the request is wrong: a status and a JSON body that says
//! what was wrong and, when one field was, which one.
//!
//! `{"error":"out of range","field":"brightness"}` lets a form put the message next to
//! the right input; a script gets a status it can branch on. The message is static text
//! (no allocator, no formatting on the device); the field name is copied, because it may
//! come from the request (a JSON key the deserializer choked on).

use core::fmt;

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
#[derive(Debug)]
pub enum Failure<E> {
    /// Answer the client with this error (unless a response was already started, in
    /// which case the connection is closed).
    Http(Error),
    /// The connection failed (I/O, deadline, protocol): nothing more can be sent.
    Serve(ServeError<E>),
}

impl<E> From<Error> for Failure<E> {
    fn from(e: Error) -> Self {
        Failure::Http(e)
    }
}

impl<E> From<ServeError<E>> for Failure<E> {
    fn from(e: ServeError<E>) -> Self {
        Failure::Serve(e)
    }
}
