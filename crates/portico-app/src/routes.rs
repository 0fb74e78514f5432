//! The API's routes.

use portico::http::{Route, Router};

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

const ROUTES: &[Route<Api>] = &[
    Route::get("/api/status", Api::Document(Document::Status)),
    Route::get("/api/connections", Api::Document(Document::Connections)),
    Route::get("/api/pool", Api::Document(Document::Pool)),
    Route::get("/api/memory", Api::Document(Document::Memory)),
    Route::get("/api/link", Api::Document(Document::Link)),
    Route::get("/api/events", Api::Events),
    Route::post("/api/login", Api::Login).max_body(1024),
    Route::post("/api/logout", Api::Logout).max_body(0),
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
