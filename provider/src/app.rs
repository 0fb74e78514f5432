//! The application: routes, API handlers, the event stream and static files.

use std::rc::Rc;
use std::time::Duration;

use portico::http::{Method, Resolution, Route, Router, Status};
use portico::server::{Env, Exchange, Handler, Reply, ResponseLength, ServeError, Transport};
use portico_tokio::{App, ConnEnv, Shared, TcpTransport};
use tokio::sync::Notify;

use crate::api;
use crate::cli::Settings;
use crate::static_files;

/// What a route dispatches to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Api {
    Status,
    Connections,
    Pool,
    Memory,
    Link,
    Events,
}

const ROUTES: &[Route<Api>] = &[
    Route {
        method: Method::Get,
        pattern: "/api/status",
        target: Api::Status,
    },
    Route {
        method: Method::Get,
        pattern: "/api/connections",
        target: Api::Connections,
    },
    Route {
        method: Method::Get,
        pattern: "/api/pool",
        target: Api::Pool,
    },
    Route {
        method: Method::Get,
        pattern: "/api/memory",
        target: Api::Memory,
    },
    Route {
        method: Method::Get,
        pattern: "/api/link",
        target: Api::Link,
    },
    Route {
        method: Method::Get,
        pattern: "/api/events",
        target: Api::Events,
    },
];

const ROUTER: Router<'static, Api> = Router::new(ROUTES);

/// Handed from the handler to the port when `/api/events` becomes a stream.
pub struct EventStream;

/// The provider application.
pub struct Provider {
    shared: Rc<Shared>,
    settings: Settings,
    link: Option<crate::link::Link>,
}

impl Provider {
    pub fn new(shared: Rc<Shared>, settings: Settings, link: Option<crate::link::Link>) -> Self {
        Provider {
            shared,
            settings,
            link,
        }
    }

    fn json(&self, api: Api) -> Vec<u8> {
        let v = match api {
            Api::Status => api::status(&self.shared, &self.settings),
            Api::Connections => api::connections(&self.shared),
            Api::Pool => api::pool(&self.shared),
            Api::Memory => api::memory(&self.shared),
            Api::Link => api::link(&self.settings, self.link.as_ref()),
            Api::Events => api::snapshot(&self.shared, &self.settings, self.link.as_ref()),
        };
        serde_json::to_vec(&v).unwrap_or_default()
    }
}

impl Handler for Provider {
    type Upgrade = EventStream;

    async fn handle<T: Transport, E: Env>(
        &self,
        ex: &mut Exchange<'_, T, E>,
    ) -> Result<Reply<EventStream>, ServeError<T::Error>> {
        let (method, path) = (ex.head().method, ex.head().path);
        if !path.starts_with("/api/") && path != "/api" {
            return static_files::serve(ex).await.map(|_| Reply::Done);
        }
        match ROUTER.resolve(method, path) {
            Resolution::Found(api, _) => {
                if self.settings.api_delay_ms > 0 {
                    let env = ex.env();
                    let _ = env
                        .timeout(self.settings.api_delay_ms, core::future::pending::<()>())
                        .await;
                }
                if *api == Api::Events {
                    let mut w = ex
                        .begin(Status::OK, ResponseLength::UntilClose, |h| {
                            h.header("Content-Type", "text/event-stream")?;
                            h.header("Cache-Control", "no-cache")?;
                            h.header("X-Accel-Buffering", "no").map(drop)
                        })
                        .await?;
                    let first = self.json(Api::Events);
                    w.write(b"retry: 2000\nevent: snapshot\ndata: ").await?;
                    w.write(&first).await?;
                    w.write(b"\n\n").await?;
                    return Ok(Reply::Upgrade(EventStream));
                }
                let body = self.json(*api);
                ex.respond(
                    Status::OK,
                    |h| {
                        h.header("Content-Type", "application/json")?;
                        h.header("Cache-Control", "no-store").map(drop)
                    },
                    &body,
                )
                .await?;
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
                .await?;
            }
            Resolution::NotFound => ex.respond_text(Status::NOT_FOUND, "no such API\n").await?,
        }
        Ok(Reply::Done)
    }
}

impl App for Provider {
    async fn stream(&self, _: EventStream, io: &mut TcpTransport, env: &ConnEnv, evicted: &Notify) {
        use portico::server::Transport as _;
        let send_timeout = Duration::from_millis(self.shared.options.server.send_timeout_ms);
        loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = evicted.notified() => return,
            }
            let json = self.json(Api::Events);
            let parts: [&[u8]; 3] = [b"event: snapshot\ndata: ", &json, b"\n\n"];
            match tokio::time::timeout(send_timeout, io.write_all_vectored(&parts)).await {
                Ok(Ok(())) => env.touch(),
                Ok(Err(_)) => return,
                Err(_) => {
                    env.timed_out(portico::conn::TimeoutPhase::Send);
                    return;
                }
            }
        }
    }
}
