//! The application as a [`Handler`]: the API, the start of the event stream, and the
//! embedded static site.

use core::cell::RefCell;

use portico::assets::{lookup, Asset};
use portico::http::{HeadWriter, HeaderError, Method, Resolution, Status};
use portico::server::{
    serve_asset, Env, Exchange, Handler, Reply, ResponseLength, ServeError, Transport,
};

use crate::answer::{self, Answer};
use crate::device::Device;
use crate::documents::Document;
use crate::json::{JsonWriter, Overflow};
use crate::login::{self, Sessions};
use crate::routes::{is_api, Api, ROUTER};
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

impl<D: Device> Handler for Provider<D> {
    type Upgrade = Events;

    async fn handle<T: Transport, E: Env>(
        &self,
        ex: &mut Exchange<'_, T, E>,
    ) -> Result<Reply<Events>, ServeError<T::Error>> {
        let head = *ex.head();
        let (method, path) = (head.method, head.path);
        // The policy goes on pages only: it means nothing on other responses, and the
        // response head of a JSON document must stay small.
        let page = !is_api(path)
            && lookup(self.assets, path).is_some_and(|a| a.content_type.starts_with("text/html"));
        if page {
            ex.set_headers(PAGE_HEADERS);
        }
        let secrets = if cfg!(feature = "auth") {
            self.device.secrets()
        } else {
            None
        };
        let now = self.device.now_ms();
        let epoch = self.sessions.borrow().epoch();
        let authenticated = match access(&head, self.device.allowed_hosts(), secrets, now, epoch) {
            Access::Allowed { authenticated } => authenticated,
            refused => {
                let a = match refused {
                    Access::MisdirectedHost => Answer {
                        close: true,
                        ..Answer::text(
                            Status::MISDIRECTED_REQUEST,
                            b"this device does not answer to that name\n",
                        )
                    },
                    Access::CrossSite => {
                        Answer::text(Status::FORBIDDEN, b"cross-site request refused\n")
                    }
                    _ => Answer::unauthorized(b"{\"error\":\"invalid or expired token\"}"),
                };
                answer::send(ex, a).await?;
                return Ok(Reply::Done);
            }
        };
        if !is_api(path) {
            serve_asset(ex, self.assets).await?;
            return Ok(Reply::Done);
        }
        if secrets.is_some() && !authenticated && needs_login(path) {
            answer::send(ex, Answer::unauthorized(b"{\"error\":\"login required\"}")).await?;
            return Ok(Reply::Done);
        }
        match ROUTER.resolve(method, path) {
            Resolution::Found(route, _) => {
                let delay = self.device.config().api_delay_ms;
                if delay > 0 {
                    let env = ex.env();
                    let _ = env.timeout(delay, core::future::pending::<()>()).await;
                }
                match route.target {
                    Api::Login => login::login(ex, &self.sessions, secrets, now).await?,
                    Api::Logout => login::logout(ex, &self.sessions).await?,
                    Api::Document(doc) => self.document(ex, doc).await?,
                    Api::Events => {
                        if self.start_events(ex).await? {
                            return Ok(Reply::Upgrade(Events));
                        }
                    }
                }
            }
            Resolution::MethodNotAllowed(allow) => {
                ex.respond(
                    Status::METHOD_NOT_ALLOWED,
                    |h| {
                        h.header_fmt("Allow", format_args!("{allow}"))?;
                        h.header("Content-Type", "text/plain; charset=utf-8")
                            .map(drop)
                    },
                    b"method not allowed\n",
                )
                .await?
            }
            Resolution::NotFound => ex.respond_text(Status::NOT_FOUND, "no such API\n").await?,
        }
        Ok(Reply::Done)
    }
}
