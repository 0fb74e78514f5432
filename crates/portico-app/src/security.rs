//! Who gets an answer: the checks every request passes before it is routed, the same on
//! the host and on the device. The policy itself is the core's ([`portico::guard`]);
//! this is its order and its answers.
//!
//! 1. `Host` not one of the device's names → `421` (DNS rebinding);
//! 2. an `Authorization: Bearer` token, when sent, must be valid → else `401`;
//! 3. a method that can change state without a valid token must be same-origin → `403`;
//! 4. with a password set, `/api/*` (but login and logout) needs a session or a token
//!    → `401`. The page and its files stay public: they hold no data, and the page is
//!    what shows the login form.

use portico::guard::{origin, token, HostPolicy, Kind, Secrets};
use portico::http::{authorization, cookie, RequestHead};
use portico::time::Instant;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "portico_session";

/// The dashboard's Content-Security-Policy: its own scripts, styles and API only — no
/// inline script, no framing by another site, no form posting elsewhere.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
form-action 'self'; frame-ancestors 'none'";

/// Headers on every response, the core's own error answers included: the port puts
/// them in [`portico::server::ServerConfig::headers`].
pub const HEADERS: &[(&str, &str)] = &[
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
];

/// Headers an HTML page carries besides [`HEADERS`]: the policy, and framing refused
/// for browsers that predate `frame-ancestors`.
pub const PAGE_HEADERS: &[(&str, &str)] = &[
    ("Content-Security-Policy", CSP),
    ("X-Frame-Options", "DENY"),
];

/// The verdict on one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Answer it. `authenticated`: a valid session or token came with it (always `false`
    /// when no password is set).
    Allowed {
        /// Whether a valid session or token came with it.
        authenticated: bool,
    },
    /// `421`: not one of the device's names.
    MisdirectedHost,
    /// `401`: a `Bearer` token that is not valid (forged, expired, or a session's).
    BadToken,
    /// `403`: a state-changing request from another site.
    CrossSite,
}

/// Applies checks 1–3 (check 4 depends on the route: see [`needs_login`]). `epoch` is
/// the current logout epoch.
pub fn access(
    head: &RequestHead<'_>,
    hosts: HostPolicy<'_>,
    secrets: Option<Secrets<'_>>,
    now: Instant,
    epoch: u32,
) -> Access {
    if !hosts.allows(head.header("host")) {
        return Access::MisdirectedHost;
    }
    // Without the `auth` feature no token code is reachable, so none is linked.
    let secrets = if cfg!(feature = "auth") {
        secrets
    } else {
        None
    };
    let Some(secrets) = secrets else {
        // No password, no tokens: nothing can prove a script is not a page.
        return if origin::refused(head) {
            Access::CrossSite
        } else {
            Access::Allowed {
                authenticated: false,
            }
        };
    };
    if let Some(value) = head.header("authorization") {
        // Scripts prove themselves with a token, and are then exempt from the origin
        // rule: a page cannot read or send a token it was never given.
        return match authorization::bearer(value).map(|t| token::verify(secrets.key, t, now, epoch))
        {
            Some(Ok(c)) if c.kind == Kind::Api => Access::Allowed {
                authenticated: true,
            },
            _ => Access::BadToken,
        };
    }
    if origin::refused(head) {
        return Access::CrossSite;
    }
    let session = cookie::cookie(head, SESSION_COOKIE)
        .map(|t| token::verify(secrets.key, t, now, epoch))
        .is_some_and(|r| r.is_ok_and(|c| c.kind == Kind::Session));
    Access::Allowed {
        authenticated: session,
    }
}

/// Whether `path` needs a login when a password is set.
pub fn needs_login(path: &str) -> bool {
    crate::routes::is_api(path) && path != "/api/login" && path != "/api/logout"
}

#[cfg(test)]
mod tests {
    use super::*;
    use portico::guard::{Claims, PasswordHash, SessionKey};
    use portico::http::HeadLimits;
    use std::format;
    use std::string::String;

    const KEY: SessionKey = SessionKey([9; 32]);

    fn with<R>(req: &str, f: impl FnOnce(&RequestHead<'_>) -> R) -> R {
        let raw = format!("{req}\r\n");
        let h = RequestHead::parse(raw.as_bytes(), &HeadLimits::default())
            .unwrap()
            .unwrap();
        f(&h)
    }

    fn tok(kind: Kind, epoch: u32) -> String {
        let t = token::issue(
            &KEY,
            &Claims {
                kind,
                expires: Instant::from_millis(1000),
                serial: 1,
                epoch,
            },
        );
        String::from_utf8(t.to_vec()).unwrap()
    }

    fn check(req: &str, with_password: bool) -> Access {
        let hash = PasswordHash::new(b"pw", [0; 16], 1);
        let secrets = with_password.then_some(Secrets {
            password: &hash,
            key: &KEY,
        });
        with(req, |h| {
            access(
                h,
                HostPolicy::default(),
                secrets,
                Instant::from_millis(10),
                2,
            )
        })
    }

    const OPEN: Access = Access::Allowed {
        authenticated: false,
    };
    #[cfg(feature = "auth")]
    const IN: Access = Access::Allowed {
        authenticated: true,
    };

    #[test]
    fn without_a_password() {
        assert_eq!(
            check("GET / HTTP/1.1\r\nHost: evil.example\r\n", false),
            Access::MisdirectedHost
        );
        assert_eq!(
            check("GET / HTTP/1.1\r\nHost: 192.168.4.1\r\n", false),
            OPEN
        );
        assert_eq!(
            check("POST /api/login HTTP/1.1\r\nHost: localhost\r\n", false),
            Access::CrossSite
        );
        assert_eq!(
            check(
                "POST /api/login HTTP/1.1\r\nHost: localhost\r\nOrigin: http://localhost\r\n",
                false
            ),
            OPEN
        );
        // A token means nothing without a password: the origin rule still applies.
        let bearer = format!(
            "POST /x HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\n",
            tok(Kind::Api, 0)
        );
        assert_eq!(check(&bearer, false), Access::CrossSite);
    }

    #[test]
    #[cfg(feature = "auth")]
    fn with_a_password() {
        let h = "Host: localhost:8080\r\n";
        assert_eq!(
            check(&format!("GET /api/status HTTP/1.1\r\n{h}"), true),
            OPEN
        );
        let cookie = |t: &str| {
            format!("GET /api/status HTTP/1.1\r\n{h}Cookie: a=b; {SESSION_COOKIE}={t}\r\n")
        };
        assert_eq!(check(&cookie(&tok(Kind::Session, 2)), true), IN);
        assert_eq!(
            check(&cookie(&tok(Kind::Session, 1)), true),
            OPEN,
            "logged out"
        );
        assert_eq!(
            check(&cookie(&tok(Kind::Api, 0)), true),
            OPEN,
            "an API token is no cookie"
        );
        assert_eq!(check(&cookie("forged"), true), OPEN);
        let bearer =
            |t: &str| format!("POST /api/logout HTTP/1.1\r\n{h}Authorization: Bearer {t}\r\n");
        assert_eq!(
            check(&bearer(&tok(Kind::Api, 0)), true),
            IN,
            "tokens skip the origin rule"
        );
        assert_eq!(
            check(&bearer(&tok(Kind::Session, 2)), true),
            Access::BadToken
        );
        assert_eq!(check(&bearer("nope"), true), Access::BadToken);
        assert_eq!(
            check(
                &format!("POST /api/logout HTTP/1.1\r\n{h}Authorization: Basic eDp5\r\n"),
                true
            ),
            Access::BadToken
        );
        assert_eq!(
            check(
                &format!("POST /api/login HTTP/1.1\r\n{h}Origin: http://evil.example\r\n"),
                true
            ),
            Access::CrossSite
        );
    }

    #[test]
    fn which_paths_need_a_login() {
        assert!(needs_login("/api/status"));
        assert!(needs_login("/api/events"));
        assert!(needs_login("/api"));
        assert!(!needs_login("/api/login"));
        assert!(!needs_login("/api/logout"));
        assert!(!needs_login("/"));
        assert!(!needs_login("/assets/app.js"));
    }
}
