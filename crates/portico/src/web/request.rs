//! What a route's handler holds: the request (head, path and query parameters, body)
//! and the means to answer it.
//!
//! Everything is read from and written into the connection's own buffer — the one the
//! port leased from its pool for this request — so a handler costs no memory of its own:
//! a JSON body is parsed where it landed, a JSON answer is rendered where it leaves from.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::error::{keep, Error, Failure};
use super::json::from_json;
use crate::http::{urlencoded, Method, Params, RequestHead, Status};
use crate::server::{
    BodyWriter, Env, Exchange, NotInPlace, Reply, ResponseLength, ServeError, Transport,
};

/// What a handler returns: the reply, or why there is none. `U` is what a stream
/// upgrade hands to the port (`()` for services without streams).
pub type Outcome<U = ()> = Result<Reply<U>, Failure>;

/// One request routed to a handler.
///
/// When the connection fails under one of its methods, the method returns
/// [`Failure::Connection`] and the request keeps the transport's own error, which the
/// [`super::Service`] implementation hands to the port: handlers never name the transport's error type.
pub struct Request<'x, 'a, T: Transport, E: Env> {
    ex: &'x mut Exchange<'a, T, E>,
    params: Params<'a>,
    max_body: u64,
    read: u64,
    lost: Option<ServeError<T::Error>>,
}

impl<'x, 'a, T: Transport, E: Env> Request<'x, 'a, T, E> {
    pub(super) fn new(ex: &'x mut Exchange<'a, T, E>, params: Params<'a>, max_body: u64) -> Self {
        Request {
            ex,
            params,
            max_body,
            read: 0,
            lost: None,
        }
    }

    /// The transport's error behind a [`Failure::Connection`], if one of this request's
    /// methods saw it.
    pub(super) fn take_lost(&mut self) -> Option<ServeError<T::Error>> {
        self.lost.take()
    }

    /// The request head (method, path, query, headers).
    pub fn head(&self) -> &RequestHead<'a> {
        self.ex.head()
    }

    /// The method (`HEAD` reaches `GET` routes: answer as for `GET`, the body is
    /// dropped for you).
    pub fn method(&self) -> Method {
        self.ex.head().method
    }

    /// A request header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.ex.head().header(name)
    }

    /// A path parameter captured by `:name` or `*name` in the route's pattern, as sent
    /// (still percent-encoded).
    pub fn param(&self, name: &str) -> Option<&'a str> {
        self.params.get(name)
    }

    /// A path parameter parsed as `P` (a number, an id): `400` naming the parameter
    /// when it does not parse.
    pub fn param_as<P: core::str::FromStr>(&self, name: &str) -> Result<P, Error> {
        self.param(name)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| Error::bad_request("invalid path parameter").field(name))
    }

    /// A query parameter's value, decoded into `out`; `Ok(None)` when absent, `400`
    /// naming it when malformed or longer than `out`.
    pub fn query<'o>(&self, name: &str, out: &'o mut [u8]) -> Result<Option<&'o str>, Error> {
        let query = self.ex.head().query.unwrap_or("");
        urlencoded::field(query, name, out)
            .map_err(|_| Error::bad_request("invalid query parameter").field(name))
    }

    /// The port's environment (clock, deadlines).
    pub fn env(&self) -> &'a E {
        self.ex.env()
    }

    /// The exchange underneath, for what this type does not wrap (raw head writing,
    /// headers on the response).
    pub fn exchange(&mut self) -> &mut Exchange<'a, T, E> {
        self.ex
    }

    /// The whole body, in place in the connection buffer. `413` past the route's limit
    /// or the buffer, `411` for a chunked body (read those with [`Request::chunk`]).
    pub async fn bytes(&mut self) -> Result<&mut [u8], Failure> {
        Ok(self.in_place().await?.0)
    }

    /// The body as a JSON document of type `D` (see [`super::json::from_json`] for the
    /// errors, which name the offending field). A `Content-Type` other than JSON is `415`.
    pub async fn json<D: DeserializeOwned>(&mut self) -> Result<D, Failure> {
        if let Some(ct) = self.header("content-type") {
            let essence = ct.split(';').next().unwrap_or("").trim().as_bytes();
            // Bytes, not `str` slices: a header may carry non-ASCII bytes, and a slice
            // that splits a character would panic.
            let json = essence.eq_ignore_ascii_case(b"application/json")
                || essence
                    .len()
                    .checked_sub(5)
                    .is_some_and(|i| essence[i..].eq_ignore_ascii_case(b"+json"));
            if !json {
                return Err(Error::unsupported_type("expected application/json").into());
            }
        }
        let (body, scratch) = self.in_place().await?;
        Ok(from_json(body, scratch)?)
    }

    /// The body as an `application/x-www-form-urlencoded` form.
    pub async fn form(&mut self) -> Result<Form<'_>, Failure> {
        let (body, scratch) = self.in_place().await?;
        let body =
            core::str::from_utf8(body).map_err(|_| Error::bad_request("form is not UTF-8"))?;
        Ok(Form { body, scratch })
    }

    /// The next piece of the body as it arrives (uploads larger than the buffer);
    /// `None` at its end. `413` once it passes the route's limit.
    pub async fn chunk(&mut self) -> Result<Option<&[u8]>, Failure> {
        let limit = self.max_body;
        let read = &mut self.read;
        let lost = &mut self.lost;
        match self.ex.body_chunk().await {
            Err(e) => Err(keep(lost, e)),
            Ok(Some(c)) => {
                *read += c.len() as u64;
                if *read > limit {
                    // What is left of the body is drained or the connection closed by
                    // the core, as for any unread body.
                    return Err(Error::too_large().into());
                }
                Ok(Some(c))
            }
            Ok(None) => Ok(None),
        }
    }

    async fn in_place(&mut self) -> Result<(&mut [u8], &mut [u8]), Failure> {
        match self.ex.body_in_place().await {
            Err(e) => Err(keep(&mut self.lost, e)),
            Ok(Ok(parts)) => Ok(parts),
            Ok(Err(NotInPlace::TooLarge)) => Err(Error::too_large().into()),
            Ok(Err(NotInPlace::Chunked)) => Err(Error::new(
                Status::LENGTH_REQUIRED,
                "send this body with a Content-Length",
            )
            .into()),
        }
    }

    /// Answers `200` with `value` as JSON, rendered straight into the connection
    /// buffer (`500` if it does not fit there).
    pub async fn json_ok<S: Serialize, U>(&mut self, value: &S) -> Outcome<U> {
        self.json_with(Status::OK, value).await
    }

    /// Answers `status` with `value` as JSON.
    pub async fn json_with<S: Serialize, U>(&mut self, status: Status, value: &S) -> Outcome<U> {
        let sent = self
            .ex
            .respond_rendered(status, "application/json", no_store, |buf| {
                serde_json_core::to_slice(value, buf).ok()
            })
            .await
            .map_err(|e| keep(&mut self.lost, e))?;
        match sent {
            Ok(()) => Ok(Reply::Done),
            Err(_) => Err(Error::internal("response larger than the connection buffer").into()),
        }
    }

    /// Answers `200` with UTF-8 text.
    pub async fn text<U>(&mut self, text: &str) -> Outcome<U> {
        self.send(Status::OK, "text/plain; charset=utf-8", text.as_bytes())
            .await
    }

    /// Answers `200` with an HTML page.
    pub async fn html<U>(&mut self, html: &str) -> Outcome<U> {
        self.send(Status::OK, "text/html; charset=utf-8", html.as_bytes())
            .await
    }

    /// Answers `status` with `body` of `content_type`.
    pub async fn send<U>(&mut self, status: Status, content_type: &str, body: &[u8]) -> Outcome<U> {
        self.ex
            .respond(
                status,
                |h| h.header("Content-Type", content_type).map(drop),
                body,
            )
            .await
            .map_err(|e| keep(&mut self.lost, e))?;
        Ok(Reply::Done)
    }

    /// Answers `204 No Content`.
    pub async fn no_content<U>(&mut self) -> Outcome<U> {
        self.ex
            .respond(Status::NO_CONTENT, |_| Ok(()), &[])
            .await
            .map_err(|e| keep(&mut self.lost, e))?;
        Ok(Reply::Done)
    }

    /// Starts a chunked response of `content_type` whose body the handler writes piece
    /// by piece (then calls [`BodyWriter::finish`]).
    pub async fn stream(
        &mut self,
        status: Status,
        content_type: &str,
    ) -> Result<BodyWriter<'_, 'a, T, E>, Failure> {
        let lost = &mut self.lost;
        self.ex
            .begin(status, ResponseLength::Chunked, |h| {
                h.header("Content-Type", content_type).map(drop)
            })
            .await
            .map_err(|e| keep(lost, e))
    }
}

/// JSON answers describe the device's state now: no cache may keep them.
fn no_store(h: &mut crate::http::HeadWriter<'_>) -> Result<(), crate::http::HeaderError> {
    h.header("Cache-Control", "no-store").map(drop)
}

/// An `application/x-www-form-urlencoded` body, read in place.
pub struct Form<'b> {
    body: &'b str,
    scratch: &'b mut [u8],
}

impl Form<'_> {
    /// The first field called `name`, decoded; `Ok(None)` when absent, `400` naming the
    /// field when malformed.
    pub fn field(&mut self, name: &str) -> Result<Option<&str>, Error> {
        urlencoded::field(self.body, name, self.scratch)
            .map_err(|_| Error::bad_request("invalid form field").field(name))
    }

    /// The fields as sent (still encoded), in order.
    pub fn pairs(&self) -> urlencoded::Pairs<'_> {
        urlencoded::pairs(self.body)
    }
}
