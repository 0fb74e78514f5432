//! The monitoring application as a [`Service`] of the public API: the routes, the start
//! of the event stream, and the embedded static site.

use core::cell::RefCell;

use portico::assets::{resolve, Asset};
use portico::conn::ConnId;
use portico::http::{HeadWriter, HeaderError, Method, Route, Status};
use portico::server::{serve_asset, Buffers, Exchange, ResponseLength, ServeError, ServerConfig};
use portico::web::{send_error, Env, Error, Flow, Outcome, Reply, Request, Service, Transport};

use crate::answer::{self, Answer};
use crate::device::Device;
use crate::documents::Document;
use crate::json::{JsonWriter, Overflow};
use crate::login::{self, Sessions};
use crate::routes::{is_api, Api, ROUTES};
use crate::security::{access, needs_login, Access, PAGE_HEADERS};

/// What precedes each live-updates event's JSON.
pub const EVENT_PREFIX: &[u8] = b"event: snapshot\ndata: ";
/// What follows it.
pub const EVENT_SUFFIX: &[u8] = b"\n\n";
/// Sent once at the start of the stream: how long the browser waits to reconnect.
const EVENT_RETRY: &[u8] = b"retry: 2000\n";

/// Room added to a measured document before rendering it again: the clock may have
/// gained a digit in between.
const SLACK: usize = 64;

/// A `/api/events` request the handler accepted: the port streams from here on, calling
/// [`Provider::write_event`] once a second until the client leaves.
#[derive(Debug)]
pub struct Events;

/// No block of memory was free for a document larger than the buffer at hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unavailable;

/// A rendered document: in the caller's buffer, or in a block from the device.
pub enum Rendered<'b, B> {
    /// It fitted in the buffer given.
    InPlace(&'b [u8]),
    /// It needed a block of its own.
    Block(B, usize),
}

impl<B: AsRef<[u8]>> Rendered<'_, B> {
    /// The JSON.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Rendered::InPlace(b) => b,
            Rendered::Block(b, n) => &b.as_ref()[..*n],
        }
    }
}

/// The provider application on a port's [`Device`].
pub struct Provider<D> {
    device: D,
    assets: &'static [Asset],
    sessions: RefCell<Sessions>,
}

impl<D: Device> Provider<D> {
    /// The application over `device`, serving `assets` (built by `portico-assets`) for
    /// every path outside `/api`.
    pub const fn new(device: D, assets: &'static [Asset]) -> Self {
        Provider {
            device,
            assets,
            sessions: RefCell::new(Sessions::new()),
        }
    }

    /// The device it reads.
    pub fn device(&self) -> &D {
        &self.device
    }

    /// Renders `doc` into `buf`, or — when it needs more room — into a block from
    /// [`Device::alloc`]. Both renderings happen without an await in between, so the
    /// document is one consistent moment.
    pub fn render<'b>(
        &self,
        doc: Document,
        buf: &'b mut [u8],
    ) -> Result<Rendered<'b, D::Block>, Unavailable> {
        match self.render_into(doc, buf) {
            Ok(n) => Ok(Rendered::InPlace(&buf[..n])),
            Err(Overflow { needed }) => self.render_block(doc, needed),
        }
    }

    fn render_into(&self, doc: Document, buf: &mut [u8]) -> Result<usize, Overflow> {
        let mut w = JsonWriter::new(buf);
        doc.write(&self.device, &mut w);
        w.finish()
    }

    fn render_block(
        &self,
        doc: Document,
        needed: usize,
    ) -> Result<Rendered<'static, D::Block>, Unavailable> {
        let mut block = self.device.alloc(needed + SLACK).ok_or(Unavailable)?;
        let n = self
            .render_into(doc, block.as_mut())
            .map_err(|_| Unavailable)?;
        Ok(Rendered::Block(block, n))
    }

    /// Writes one live-updates event (a [`Document::Snapshot`]) to a stream the handler
    /// started. `buf` is the port's scratch space; a larger block is drawn if needed.
    /// `Ok(false)`: no memory for it this time (skipped, the stream stays open).
    pub async fn write_event<T: Transport>(
        &self,
        io: &mut T,
        buf: &mut [u8],
    ) -> Result<bool, T::Error> {
        let Ok(json) = self.render(Document::Snapshot, buf) else {
            return Ok(false);
        };
        io.write_all_vectored(&[EVENT_PREFIX, json.bytes(), EVENT_SUFFIX])
            .await?;
        // The block goes back before waiting on the peer: on embassy-net `flush` waits
        // for the ACK, and a slow reader must not pin a snapshot's worth of RAM.
        drop(json);
        io.flush().await?;
        Ok(true)
    }

    async fn document<T: Transport, E: Env>(
        &self,
        ex: &mut Exchange<'_, T, E>,
        doc: Document,
    ) -> Result<(), ServeError<T::Error>> {
        let mut needed = 0;
        let sent = ex
            .respond_rendered(Status::OK, "application/json", no_store, |buf| {
                self.render_into(doc, buf)
                    .map_err(|o| needed = o.needed)
                    .ok()
            })
            .await?;
        if sent.is_ok() {
            return Ok(());
        }
        match self.render_block(doc, needed) {
            Ok(json) => {
                ex.respond(
                    Status::OK,
                    |h| {
                        h.header("Content-Type", "application/json")?;
                        no_store(h)
                    },
                    json.bytes(),
                )
                .await
            }
            // Memory is exhausted right now: say so, and when to come back.
            Err(Unavailable) => {
                ex.respond(
                    Status::SERVICE_UNAVAILABLE,
                    |h| {
                        h.header("Retry-After", "1")?;
                        h.header("Content-Type", "text/plain; charset=utf-8")
                            .map(drop)
                    },
                    b"out of memory for this report; retry\n",
                )
                .await
            }
        }
    }

    /// Starts the stream; `false` for `HEAD`, which gets the head alone (and no stream).
    async fn start_events<T: Transport, E: Env>(
        &self,
        ex: &mut Exchange<'_, T, E>,
    ) -> Result<bool, ServeError<T::Error>> {
        let head_only = ex.head().method == Method::Head;
        let mut w = ex
            .begin(Status::OK, ResponseLength::UntilClose, |h| {
                h.header("Content-Type", "text/event-stream")?;
                h.header("Cache-Control", "no-cache")?;
                // Proxies (nginx) must not buffer the stream.
                h.header("X-Accel-Buffering", "no").map(drop)
            })
            .await?;
        if head_only {
            return Ok(false);
        }
        w.write(EVENT_RETRY).await?;
        // The first snapshot right away, like every later one drawn from `Device::alloc`
        // (skipped when memory is short: the next comes a second later).
        if let Ok(json) = self.render(Document::Snapshot, &mut []) {
            w.write(EVENT_PREFIX).await?;
            w.write(json.bytes()).await?;
            w.write(EVENT_SUFFIX).await?;
        }
        Ok(true)
    }
}

fn no_store(h: &mut HeadWriter<'_>) -> Result<(), HeaderError> {
    h.header("Cache-Control", "no-store").map(drop)
}

/// The application on the public API ([`portico::web`]): the same route table, answers
/// and checks whichever port runs it.
impl<D: Device> Service for Provider<D> {
    type Route = Api;
    type Stream = Events;
    const ROUTES: &'static [Route<Api>] = ROUTES;

    /// The access checks (`crate::security`), before any route: a refused request is
    /// answered here, and `/api/*` needs a session when a password is set.
    async fn before<T: Transport, E: Env>(
        &self,
        ex: &mut Exchange<'_, T, E>,
    ) -> Result<Flow<Events>, ServeError<T::Error>> {
        let head = *ex.head();
        let path = head.path;
        // The policy goes on pages only: it means nothing on other responses, and the
        // response head of a JSON document must stay small.
        let page = !is_api(path)
            && resolve(self.assets, &head).is_some_and(|a| a.content_type.starts_with("text/html"));
        if page {
            ex.set_headers(PAGE_HEADERS);
        }
        let secrets = self.secrets();
        let now = self.device.now();
        let epoch = self.sessions.borrow().epoch();
        let refusal = match access(&head, self.device.allowed_hosts(), secrets, now, epoch) {
            Access::Allowed { authenticated } => {
                if secrets.is_some() && !authenticated && needs_login(path) {
                    Answer::unauthorized(b"{\"error\":\"login required\"}")
                } else {
                    return Ok(Flow::Continue);
                }
            }
            Access::MisdirectedHost => Answer {
                close: true,
                ..Answer::text(
                    Status::MISDIRECTED_REQUEST,
                    b"this device does not answer to that name\n",
                )
            },
            Access::CrossSite => Answer::text(Status::FORBIDDEN, b"cross-site request refused\n"),
            Access::BadToken => Answer::unauthorized(b"{\"error\":\"invalid or expired token\"}"),
        };
        answer::send(ex, refusal).await?;
        Ok(Flow::Answered(Reply::Done))
    }

    async fn call(
        &self,
        route: Api,
        req: &mut Request<'_, '_, impl Transport, impl Env>,
    ) -> Outcome<Events> {
        let delay = self.device.config().api_delay;
        if !delay.is_zero() {
            let _ = req
                .env()
                .timeout(delay, core::future::pending::<()>())
                .await;
        }
        let now = self.device.now();
        match route {
            Api::Login => login::login(req.exchange(), &self.sessions, self.secrets(), now).await?,
            Api::Logout => login::logout(req.exchange(), &self.sessions).await?,
            Api::Document(doc) => self.document(req.exchange(), doc).await?,
            Api::Events => {
                if self.start_events(req.exchange()).await? {
                    return Ok(Reply::Upgrade(Events));
                }
            }
            Api::CloseConnection => {
                let id = req
                    .param("id")
                    .and_then(parse_conn_id)
                    .ok_or_else(|| Error::bad_request("expected an id like 3.17").field("id"))?;
                self.device
                    .close_connection(id)
                    .map_err(|_| Error::not_found("no open connection has this id").field("id"))?;
                return req.no_content().await;
            }
            Api::RestartLink => {
                if !self.device.restart_link() {
                    return Err(Error::not_found("no upstream link is configured").into());
                }
                return req.no_content().await;
            }
        }
        Ok(Reply::Done)
    }

    async fn stream<T: Transport, E: Env, B: Buffers>(
        &self,
        _: Events,
        io: &mut T,
        env: &E,
        cfg: &ServerConfig,
        _: &B,
    ) {
        crate::events::run(self, io, env, cfg).await
    }

    fn assets(&self) -> &'static [Asset] {
        self.assets
    }

    /// Outside `/api` the embedded dashboard answers (whatever the method: its own
    /// `405`); inside it, a JSON `404`.
    async fn unrouted<T: Transport, E: Env>(
        &self,
        ex: &mut Exchange<'_, T, E>,
    ) -> Result<Reply<Events>, ServeError<T::Error>> {
        if is_api(ex.head().path) {
            send_error(ex, &Error::not_found("no such API")).await?;
        } else {
            serve_asset(ex, self.assets).await?;
        }
        Ok(Reply::Done)
    }
}

impl<D: Device> Provider<D> {
    /// The password hash and token key, when the `auth` feature is in and the device
    /// has them; without the feature no token code is linked.
    fn secrets(&self) -> Option<portico::guard::Secrets<'_>> {
        if cfg!(feature = "auth") {
            self.device.secrets()
        } else {
            None
        }
    }
}

/// A connection's id as `/api/connections` shows it: `slot.generation`.
fn parse_conn_id(s: &str) -> Option<ConnId> {
    let (slot, generation) = s.split_once('.')?;
    Some(ConnId {
        slot: slot.parse().ok()?,
        generation: generation.parse().ok()?,
    })
}
