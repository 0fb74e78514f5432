//! Status codes the server emits.

/// An HTTP status code with its reason phrase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status(pub u16);

impl Status {
    /// 100 Continue.
    pub const CONTINUE: Status = Status(100);
    /// 101 Switching Protocols.
    pub const SWITCHING_PROTOCOLS: Status = Status(101);
    /// 200 OK.
    pub const OK: Status = Status(200);
    /// 204 No Content.
    pub const NO_CONTENT: Status = Status(204);
    /// 201 Created.
    pub const CREATED: Status = Status(201);
    /// 206 Partial Content.
    pub const PARTIAL_CONTENT: Status = Status(206);
    /// 304 Not Modified.
    pub const NOT_MODIFIED: Status = Status(304);
    /// 400 Bad Request.
    pub const BAD_REQUEST: Status = Status(400);
    /// 401 Unauthorized: log in first.
    pub const UNAUTHORIZED: Status = Status(401);
    /// 403 Forbidden: a cross-site request.
    pub const FORBIDDEN: Status = Status(403);
    /// 404 Not Found.
    pub const NOT_FOUND: Status = Status(404);
    /// 405 Method Not Allowed.
    pub const METHOD_NOT_ALLOWED: Status = Status(405);
    /// 408 Request Timeout.
    pub const REQUEST_TIMEOUT: Status = Status(408);
    /// 411 Length Required.
    pub const LENGTH_REQUIRED: Status = Status(411);
    /// 413 Content Too Large.
    pub const PAYLOAD_TOO_LARGE: Status = Status(413);
    /// 413 Content Too Large (RFC 9110 name of `PAYLOAD_TOO_LARGE`).
    pub const CONTENT_TOO_LARGE: Status = Status(413);
    /// 409 Conflict.
    pub const CONFLICT: Status = Status(409);
    /// 415 Unsupported Media Type.
    pub const UNSUPPORTED_MEDIA_TYPE: Status = Status(415);
    /// 422 Unprocessable Content.
    pub const UNPROCESSABLE_CONTENT: Status = Status(422);
    /// 414 URI Too Long.
    pub const URI_TOO_LONG: Status = Status(414);
    /// 416 Range Not Satisfiable.
    pub const RANGE_NOT_SATISFIABLE: Status = Status(416);
    /// 417 Expectation Failed.
    pub const EXPECTATION_FAILED: Status = Status(417);
    /// 421 Misdirected Request: a `Host` this server does not answer for.
    pub const MISDIRECTED_REQUEST: Status = Status(421);
    /// 429 Too Many Requests (with `Retry-After`).
    pub const TOO_MANY_REQUESTS: Status = Status(429);
    /// 431 Request Header Fields Too Large.
    pub const HEADERS_TOO_LARGE: Status = Status(431);
    /// 500 Internal Server Error.
    pub const INTERNAL_SERVER_ERROR: Status = Status(500);
    /// 501 Not Implemented.
    pub const NOT_IMPLEMENTED: Status = Status(501);
    /// 503 Service Unavailable.
    pub const SERVICE_UNAVAILABLE: Status = Status(503);
    /// 505 HTTP Version Not Supported.
    pub const VERSION_NOT_SUPPORTED: Status = Status(505);

    /// The canonical reason phrase, or `""` for codes this server never sends.
    pub const fn reason(self) -> &'static str {
        match self.0 {
            100 => "Continue",
            101 => "Switching Protocols",
            200 => "OK",
            201 => "Created",
            204 => "No Content",
            206 => "Partial Content",
            304 => "Not Modified",
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            408 => "Request Timeout",
            409 => "Conflict",
            411 => "Length Required",
            413 => "Content Too Large",
            414 => "URI Too Long",
            416 => "Range Not Satisfiable",
            415 => "Unsupported Media Type",
            417 => "Expectation Failed",
            421 => "Misdirected Request",
            422 => "Unprocessable Content",
            429 => "Too Many Requests",
            431 => "Request Header Fields Too Large",
            500 => "Internal Server Error",
            501 => "Not Implemented",
            503 => "Service Unavailable",
            505 => "HTTP Version Not Supported",
            _ => "",
        }
    }

    /// Whether a response with this status may carry a body (RFC 9110 §6.4.1).
    pub const fn allows_body(self) -> bool {
        !(self.0 < 200 || self.0 == 204 || self.0 == 304)
    }
}
