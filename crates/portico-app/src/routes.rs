//! The API's routes.

use portico::http::Route;

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
    /// `DELETE /api/connections/{slot.generation}`: closes one connection (`404` for an
    /// id that is not open, never the connection that reused its slot).
    CloseConnection,
    /// `POST /api/link/restart`: reconnects the upstream link at once.
    RestartLink,
}

/// The API's routes (`GET` also answers `HEAD`).
///
/// Login and logout answer without a session (they are how one starts and ends); every
/// other route needs one when a password is set.
pub const ROUTES: &[Route<Api>] = &[
    Route::get("/api/status", Api::Document(Document::Status)),
    Route::get("/api/connections", Api::Document(Document::Connections)),
    Route::get("/api/pool", Api::Document(Document::Pool)),
    Route::get("/api/memory", Api::Document(Document::Memory)),
    Route::get("/api/link", Api::Document(Document::Link)),
    Route::get("/api/events", Api::Events),
    Route::post("/api/login", Api::Login).max_body(1024),
    Route::post("/api/logout", Api::Logout).max_body(0),
    Route::delete("/api/connections/:id", Api::CloseConnection).max_body(0),
    Route::post("/api/link/restart", Api::RestartLink).max_body(0),
];

/// Whether `path` belongs to the API rather than to the static site.
pub fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}
