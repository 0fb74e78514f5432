//! The API's routes.

use portico::http::{Method, Route, Router};

use crate::documents::Document;

/// What an `/api/*` route leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// A JSON document.
    Document(Document),
    /// `/api/events`: server-sent events, one snapshot a second.
    Events,
    /// `POST /api/login`: a password for a session cookie or an API token.
    Login,
    /// `POST /api/logout`: ends the browser sessions.
    Logout,
}

const fn get(pattern: &'static str, target: Api) -> Route<Api> {
    Route {
        method: Method::Get,
        pattern,
        target,
    }
}

const ROUTES: &[Route<Api>] = &[
    get("/api/status", Api::Document(Document::Status)),
    get("/api/connections", Api::Document(Document::Connections)),
    get("/api/pool", Api::Document(Document::Pool)),
    get("/api/memory", Api::Document(Document::Memory)),
    get("/api/link", Api::Document(Document::Link)),
    get("/api/events", Api::Events),
    Route {
        method: Method::Post,
        pattern: "/api/login",
        target: Api::Login,
    },
    Route {
        method: Method::Post,
        pattern: "/api/logout",
        target: Api::Logout,
    },
];

/// The API's router (`GET` also answers `HEAD`).
///
/// Login and logout answer without a session (they are how one starts and ends); every
/// other route needs one when a password is set.
pub const ROUTER: Router<'static, Api> = Router::new(ROUTES);

/// Whether `path` belongs to the API rather than to the static site.
pub fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}
