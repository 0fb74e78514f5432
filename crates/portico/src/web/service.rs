//! An application as a table of routes and one function that answers them.
//!
//! The routes are a `const` slice (flash, not RAM) of method, pattern, body limit and a
//! value of the application's own type — usually a fieldless `enum` — and the handler is
//! a `match` on that value. No handler is boxed and no closure is stored, so the whole
//! application is one `async fn` the compiler can size: that is what lets it run on the
//! device without an allocator, exactly as it runs on the host.
//!
//! Every [`Service`] is the core's [`Handler`] (and its [`Streams`]), so a port runs it
//! as it is: routing, `HEAD` from `GET`, `OPTIONS` and `405` with `Allow`, `413` for a
//! body over the route's limit (before reading it), and a handler's [`Error`] turned
//! into a JSON error answer all happen here, once.

use super::error::{Error, Failure, Lost};
use super::request::{Outcome, Request};
use crate::assets::Asset;
use crate::http::{
    BodyFraming, HeadWriter, HeaderError, Method, Resolution, Route, Router, Status,
};
use crate::server::{
    serve_asset, Buffers, Env, Exchange, Handler, Reply, ServeError, ServerConfig, Streams,
    Transport,
};

/// What [`Service::before`] decided.
#[derive(Debug)]
pub enum Flow<U> {
    /// Route the request as usual.
    Continue,
    /// It was answered (refused, redirected): this is the reply.
    Answered(Reply<U>),
}

/// An application: routes, and the function that answers them.
///
/// ```
/// use portico::http::Route;
/// use portico::server::{Env, Transport};
/// use portico::web::{Outcome, Request, Service};
///
/// #[derive(Clone, Copy)]
/// enum Api { Hello, Echo }
///
/// struct App;
///
/// impl Service for App {
///     type Route = Api;
///     type Stream = ();
///     const ROUTES: &'static [Route<Api>] = &[
///         Route::get("/api/hello", Api::Hello),
///         Route::post("/api/echo", Api::Echo).max_body(512),
///     ];
///
///     async fn call(&self, route: Api, req: &mut Request<'_, '_, impl Transport, impl Env>) -> Outcome {
///         match route {
///             Api::Hello => req.text("hello\n").await,
///             Api::Echo => {
///                 let body: heapless::String<64> = req.json().await?;
///                 req.json_ok(&body).await
///             }
///         }
///     }
/// }
/// ```
#[allow(async_fn_in_trait)] // One executor thread per port (see `server::Env`): no Send bound.
pub trait Service {
    /// What a route leads to (usually a fieldless `enum`).
    type Route: Copy + 'static;
    /// What a handler that upgraded the connection (an event stream, a WebSocket) hands
    /// to [`Service::stream`]; `()` for a service without streams.
    type Stream;

    /// The routes, tried in order. `GET` routes answer `HEAD` too.
    const ROUTES: &'static [Route<Self::Route>];

    /// Answers one routed request.
    async fn call(
        &self,
        route: Self::Route,
        req: &mut Request<'_, '_, impl Transport, impl Env>,
    ) -> Outcome<Self::Stream>;

    /// Runs a stream a handler started (returned [`Reply::Upgrade`]) until it ends. The
    /// connection table sees it as a stream: evicted last.
    async fn stream<T: Transport, E: Env, B: Buffers>(
        &self,
        stream: Self::Stream,
        io: &mut T,
        env: &E,
        cfg: &ServerConfig,
        buffers: &B,
    ) {
        let _ = (stream, io, env, cfg, buffers);
    }

    /// Runs before routing, on every request: the place for checks that apply to all
    /// of them (host names, sessions) and for headers every answer carries.
    async fn before<T: Transport, E: Env>(
        &self,
        ex: &mut Exchange<'_, T, E>,
    ) -> Result<Flow<Self::Stream>, ServeError<T::Error>> {
        let _ = ex;
        Ok(Flow::Continue)
    }

    /// The embedded front end (a table built by `portico-assets`), served where no
    /// route matches. None by default.
    fn assets(&self) -> &'static [Asset] {
        &[]
    }

    /// Answers a path no route matches: a file of [`Service::assets`] when there is
    /// one, else a JSON `404`.
    async fn unrouted<T: Transport, E: Env>(
        &self,
        ex: &mut Exchange<'_, T, E>,
    ) -> Result<Reply<Self::Stream>, ServeError<T::Error>> {
        let assets = self.assets();
        if !assets.is_empty() {
            serve_asset(ex, assets).await?;
        } else {
            send_error(ex, &Error::not_found("no such resource")).await?;
        }
        Ok(Reply::Done)
    }
}

impl<S: Service> Handler for S {
    type Upgrade = S::Stream;

    async fn handle<T: Transport, E: Env>(
        &self,
        ex: &mut Exchange<'_, T, E>,
    ) -> Result<Reply<S::Stream>, ServeError<T::Error>> {
        if let Flow::Answered(reply) = self.before(ex).await? {
            return Ok(reply);
        }
        let head = *ex.head();
        match Router::new(S::ROUTES).resolve(head.method, head.path) {
            Resolution::Found(route, params) => {
                let limit = route.max_body.unwrap_or(u64::MAX);
                if let BodyFraming::Length(n) = head.framing {
                    if n > limit {
                        // Refused before a byte of it is read; the core drains or closes.
                        send_error(ex, &Error::too_large()).await?;
                        return Ok(Reply::Done);
                    }
                }
                let mut req = Request::new(ex, params, limit);
                let outcome = self.call(route.target, &mut req).await;
                let lost = req.take_lost();
                match outcome {
                    Ok(reply) => Ok(reply),
                    Err(Failure::Connection(kind)) => Err(lost.unwrap_or(match kind {
                        Lost::Timeout(p) => ServeError::Timeout(p),
                        _ => ServeError::Closed,
                    })),
                    Err(Failure::Http(e)) if ex.responded() => {
                        // The answer had started: the error cannot be told any more.
                        ex.close_after();
                        let _ = e;
                        Err(ServeError::Misuse(
                            "handler failed after it began to answer",
                        ))
                    }
                    Err(Failure::Http(e)) => {
                        send_error(ex, &e).await?;
                        Ok(Reply::Done)
                    }
                }
            }
            Resolution::MethodNotAllowed(mut allow) => {
                allow.insert(Method::Options);
                if head.method == Method::Options {
                    ex.respond(
                        Status::NO_CONTENT,
                        |h| h.header_fmt("Allow", format_args!("{allow}")).map(drop),
                        &[],
                    )
                    .await?;
                } else {
                    let e = Error::new(Status::METHOD_NOT_ALLOWED, "method not allowed");
                    send_error_with(ex, &e, |h| {
                        h.header_fmt("Allow", format_args!("{allow}")).map(drop)
                    })
                    .await?;
                }
                Ok(Reply::Done)
            }
            Resolution::NotFound => self.unrouted(ex).await,
        }
    }
}

impl<S: Service> Streams<S::Stream> for S {
    async fn run<T: Transport, E: Env, B: Buffers>(
        &self,
        stream: S::Stream,
        io: &mut T,
        env: &E,
        cfg: &ServerConfig,
        buffers: &B,
    ) {
        self.stream(stream, io, env, cfg, buffers).await
    }
}

/// Answers `e` as JSON: `{"error": message, "field": name}`.
pub async fn send_error<T: Transport, E: Env>(
    ex: &mut Exchange<'_, T, E>,
    e: &Error,
) -> Result<(), ServeError<T::Error>> {
    send_error_with(ex, e, |_| Ok(())).await
}

async fn send_error_with<T: Transport, E: Env>(
    ex: &mut Exchange<'_, T, E>,
    e: &Error,
    headers: impl FnOnce(&mut HeadWriter<'_>) -> Result<(), HeaderError>,
) -> Result<(), ServeError<T::Error>> {
    // Fits any error: the message is static text, the field at most `FIELD_CAP` bytes.
    let mut body = [0u8; 160];
    let n = e.write_json(&mut body).unwrap_or(0);
    ex.respond(
        e.status,
        |h| {
            h.header("Content-Type", "application/json")?;
            headers(h)
        },
        &body[..n],
    )
    .await
}
