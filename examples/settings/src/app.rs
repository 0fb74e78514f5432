//! The settings application: four routes on Portico's public API.

use core::cell::RefCell;

use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_sync::mutex::Mutex;
use portico::hub::{last_event_id, sse, Hub, Subscriber};
use portico::server::{Buffers, ServerConfig};
use portico::web::{Env, Error, Outcome, Reply, Request, Route, Service, Status, Transport};

use crate::store::Store;
use crate::Settings;

/// The SSE event each change is pushed as.
pub const EVENT: &str = "settings";

const PAGE: &str = include_str!("../static/index.html");
const SCRIPT: &str = include_str!("../static/app.js");
const STYLE: &str = include_str!("../static/style.css");
/// The page runs its own script only: no inline code, no other origin.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// What a route leads to.
#[derive(Debug, Clone, Copy)]
pub enum Page {
    /// `GET /`: the settings page.
    Index,
    /// `GET /app.js`: its script.
    Script,
    /// `GET /style.css`: its style sheet.
    Style,
    /// `GET /api/settings`.
    Get,
    /// `PUT /api/settings`.
    Put,
    /// `GET /api/events`: every change, as it happens.
    Events,
}

/// Changes kept for browsers that reconnect (`Last-Event-ID`), and the largest event.
const RING: usize = 8;
const SLOT: usize = 192;

/// The application over a [`Store`].
pub struct SettingsApp<S: Store> {
    current: RefCell<Settings>,
    /// Held across a save, so two `PUT`s never interleave their writes.
    store: Mutex<NoopRawMutex, S>,
    hub: Hub<NoopRawMutex, RING, SLOT>,
}

impl<S: Store> SettingsApp<S> {
    /// Loads what `store` holds (the defaults when it holds nothing valid).
    pub async fn new(mut store: S) -> Self {
        let current = store.load().await.unwrap_or_default();
        SettingsApp {
            current: RefCell::new(current),
            store: Mutex::new(store),
            hub: Hub::new(),
        }
    }

    /// The settings in force.
    pub fn current(&self) -> Settings {
        self.current.borrow().clone()
    }

    /// Validates `new`, saves it, then puts it in force and tells every browser. On any
    /// failure nothing changes.
    pub async fn change(&self, new: Settings) -> Result<(), Error> {
        new.validate()?;
        let mut store = self.store.lock().await;
        if *self.current.borrow() == new {
            return Ok(());
        }
        store
            .save(&new)
            .await
            .map_err(|_| Error::unavailable("could not save the settings; nothing changed"))?;
        *self.current.borrow_mut() = new;
        // A browser that misses it (its ring slot overwritten) reloads the document.
        let _ = self.hub.publish_json(EVENT, &*self.current.borrow());
        Ok(())
    }
}

impl<S: Store> Service for SettingsApp<S> {
    type Route = Page;
    type Stream = Subscriber;
    const ROUTES: &'static [Route<Page>] = &[
        Route::get("/", Page::Index),
        Route::get("/app.js", Page::Script),
        Route::get("/style.css", Page::Style),
        Route::get("/api/settings", Page::Get),
        Route::put("/api/settings", Page::Put).max_body(512),
        Route::get("/api/events", Page::Events),
    ];

    async fn call(
        &self,
        route: Page,
        req: &mut Request<'_, '_, impl Transport, impl Env>,
    ) -> Outcome<Subscriber> {
        match route {
            Page::Index => {
                req.exchange()
                    .respond(
                        Status::OK,
                        |h| {
                            h.header("Content-Type", "text/html; charset=utf-8")?;
                            h.header("Content-Security-Policy", CSP).map(drop)
                        },
                        PAGE.as_bytes(),
                    )
                    .await?;
                Ok(Reply::Done)
            }
            Page::Script => {
                req.send(
                    Status::OK,
                    "text/javascript; charset=utf-8",
                    SCRIPT.as_bytes(),
                )
                .await
            }
            Page::Style => {
                req.send(Status::OK, "text/css; charset=utf-8", STYLE.as_bytes())
                    .await
            }
            Page::Get => req.json_ok(&self.current()).await,
            Page::Put => {
                let new: Settings = req.json().await?;
                self.change(new).await?;
                req.json_ok(&self.current()).await
            }
            Page::Events => {
                // Subscribed before the head goes out: a change made meanwhile is not lost.
                let sub = self.hub.subscribe(last_event_id(req.head()));
                if sse::start(req.exchange(), sse::RETRY).await? {
                    Ok(Reply::Upgrade(sub))
                } else {
                    Ok(Reply::Done)
                }
            }
        }
    }

    async fn stream<T: Transport, E: Env, B: Buffers>(
        &self,
        sub: Subscriber,
        io: &mut T,
        env: &E,
        cfg: &ServerConfig,
        buffers: &B,
    ) {
        sse::run(&self.hub, sub, io, env, cfg, buffers, sse::KEEPALIVE_EVERY).await
    }
}
