//! Method + path routing with `:param` segments and a trailing `*rest` wildcard.
//!
//! Routes are a `&'static [Route<T>]` table, so a router can be a `const` and costs no RAM.
//! A path that matches with the wrong method yields `405` with the `Allow` set; a path
//! that matches nothing yields `404`.

use core::fmt;

use super::request::Method;

/// Most path parameters one route may capture.
pub const MAX_PARAMS: usize = 4;

/// One row of the routing table.
#[derive(Debug, Clone, Copy)]
pub struct Route<T> {
    /// Method this route answers. A `Get` route also answers `HEAD`.
    pub method: Method,
    /// Pattern: `/api/connections/:id`, `/assets/*path`.
    pub pattern: &'static str,
    /// What the application dispatches on.
    pub target: T,
    /// Largest request body this route accepts, when smaller than the server's
    /// `HeadLimits::max_body` (`413` past it). `None`: the server's limit.
    pub max_body: Option<u64>,
}

impl<T> Route<T> {
    /// A route for `method` at `pattern`.
    pub const fn new(method: Method, pattern: &'static str, target: T) -> Self {
        Route {
            method,
            pattern,
            target,
            max_body: None,
        }
    }

    /// `GET` (and `HEAD`) at `pattern`.
    pub const fn get(pattern: &'static str, target: T) -> Self {
        Self::new(Method::Get, pattern, target)
    }

    /// `POST` at `pattern`.
    pub const fn post(pattern: &'static str, target: T) -> Self {
        Self::new(Method::Post, pattern, target)
    }

    /// `PUT` at `pattern`.
    pub const fn put(pattern: &'static str, target: T) -> Self {
        Self::new(Method::Put, pattern, target)
    }

    /// `PATCH` at `pattern`.
    pub const fn patch(pattern: &'static str, target: T) -> Self {
        Self::new(Method::Patch, pattern, target)
    }

    /// `DELETE` at `pattern`.
    pub const fn delete(pattern: &'static str, target: T) -> Self {
        Self::new(Method::Delete, pattern, target)
    }

    /// Caps this route's request body at `bytes` (`413 Content Too Large` past it).
    pub const fn max_body(mut self, bytes: u64) -> Self {
        self.max_body = Some(bytes);
        self
    }
}

/// Captured path parameters.
#[derive(Debug, Clone, Default)]
pub struct Params<'p> {
    items: heapless::Vec<(&'static str, &'p str), MAX_PARAMS>,
}

impl<'p> Params<'p> {
    /// The value captured for `name`.
    pub fn get(&self, name: &str) -> Option<&'p str> {
        self.items.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }

    /// Number of captured parameters.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing was captured.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// The set of methods a path answers, for the `Allow` header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Allow(u8);

impl Allow {
    fn bit(m: Method) -> u8 {
        1 << (Method::ALL.iter().position(|&x| x == m).unwrap_or(0) as u8)
    }

    /// Adds a method.
    pub fn insert(&mut self, m: Method) {
        self.0 |= Self::bit(m);
    }

    /// Whether the set contains a method.
    pub fn contains(self, m: Method) -> bool {
        self.0 & Self::bit(m) != 0
    }
}

impl fmt::Display for Allow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for m in Method::ALL.iter().filter(|m| self.contains(**m)) {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            f.write_str(m.as_str())?;
        }
        Ok(())
    }
}

/// What the router decided.
#[derive(Debug, Clone)]
pub enum Resolution<'r, 'p, T> {
    /// A route matched.
    Found(&'r Route<T>, Params<'p>),
    /// The path exists but not for this method (405).
    MethodNotAllowed(Allow),
    /// No route matches the path (404).
    NotFound,
}

/// A routing table.
#[derive(Debug, Clone, Copy)]
pub struct Router<'r, T> {
    routes: &'r [Route<T>],
}

impl<'r, T> Router<'r, T> {
    /// Wraps a table; routes are tried in order.
    pub const fn new(routes: &'r [Route<T>]) -> Self {
        Router { routes }
    }

    /// Resolves a request.
    pub fn resolve<'p>(&self, method: Method, path: &'p str) -> Resolution<'r, 'p, T> {
        let mut allow = Allow::default();
        for route in self.routes {
            if !may_match(route.pattern, path) {
                continue;
            }
            let Some(params) = match_pattern(route.pattern, path) else {
                continue;
            };
            let answers =
                route.method == method || (route.method == Method::Get && method == Method::Head);
            if answers {
                return Resolution::Found(route, params);
            }
            allow.insert(route.method);
            if route.method == Method::Get {
                allow.insert(Method::Head);
            }
        }
        if allow == Allow::default() {
            Resolution::NotFound
        } else {
            Resolution::MethodNotAllowed(allow)
        }
    }
}

/// A cheap necessary condition for [`match_pattern`]: every request walks the whole
/// table (a file of the embedded front end only after every API route has said no), so
/// most routes should be ruled out without splitting the path. A path that matches
/// starts with the pattern's literal segments before its first `:param` or `*rest` (less
/// that prefix's last `/`, for a `*rest` matching nothing), and a pattern without
/// parameters matches only the same text.
fn may_match(pattern: &str, path: &str) -> bool {
    let mut literal = pattern.len();
    let mut at = 0;
    for seg in pattern.split('/') {
        if seg.starts_with(':') || seg.starts_with('*') {
            literal = at;
            break;
        }
        at += seg.len() + 1;
    }
    if literal == pattern.len() {
        return pattern == path;
    }
    path.starts_with(pattern[..literal].trim_end_matches('/'))
}

/// Matches `path` against `pattern`, capturing parameters.
pub fn match_pattern<'p>(pattern: &'static str, path: &'p str) -> Option<Params<'p>> {
    let mut params = Params::default();
    let mut pat = pattern.split('/');
    let mut segs = path.split('/');
    // Bytes of the path matched so far, separators included: where `*rest` starts.
    let mut consumed = 0;
    loop {
        match (pat.next(), segs.next()) {
            (None, None) => return Some(params),
            (Some(p), seg) if p.starts_with('*') => {
                // The rest of the path, from this segment on, without a leading slash.
                let rest = if seg.is_some() {
                    path.get(consumed..).unwrap_or("")
                } else {
                    ""
                };
                params.items.push((&p[1..], rest)).ok()?;
                return Some(params);
            }
            (Some(p), Some(s)) if p.starts_with(':') => {
                if s.is_empty() {
                    return None;
                }
                params.items.push((&p[1..], s)).ok()?;
                consumed += s.len() + 1;
            }
            (Some(p), Some(s)) if p == s => consumed += s.len() + 1,
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTES: &[Route<u8>] = &[
        Route::get("/api/status", 1),
        Route::get("/api/connections/:id", 2),
        Route::delete("/api/connections/:id", 3),
        Route::get("/assets/*path", 4),
    ];

    #[test]
    fn resolves() {
        let r = Router::new(ROUTES);
        assert!(matches!(
            r.resolve(Method::Get, "/api/status"),
            Resolution::Found(Route { target: 1, .. }, _)
        ));
        assert!(matches!(
            r.resolve(Method::Head, "/api/status"),
            Resolution::Found(Route { target: 1, .. }, _)
        ));
        match r.resolve(Method::Delete, "/api/connections/7.2") {
            Resolution::Found(Route { target: 3, .. }, p) => assert_eq!(p.get("id"), Some("7.2")),
            other => panic!("{other:?}"),
        }
        // The wildcard starts after what the *path* matched, not the pattern.
        match match_pattern("/a/:x/*rest", "/a/bbbbb/c/d") {
            Some(p) => assert_eq!((p.get("x"), p.get("rest")), (Some("bbbbb"), Some("c/d"))),
            None => panic!("no match"),
        }
        match r.resolve(Method::Get, "/assets/js/app.js") {
            Resolution::Found(Route { target: 4, .. }, p) => {
                assert_eq!(p.get("path"), Some("js/app.js"))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            r.resolve(Method::Get, "/api/connections/"),
            Resolution::NotFound
        ));
        assert!(matches!(
            r.resolve(Method::Get, "/api/statusx"),
            Resolution::NotFound
        ));
        assert!(matches!(
            r.resolve(Method::Get, "/nope"),
            Resolution::NotFound
        ));
    }

    #[test]
    fn the_prefilter_never_rules_out_a_match() {
        let patterns = [
            "/",
            "/api/status",
            "/api/connections/:id",
            "/assets/*path",
            "/*all",
            "/a/:x/*rest",
            "/x//y",
            "/files/*",
            "/:a/:b",
            "/api/:v/items/:id",
            "",
            "/a/*rest",
        ];
        let paths = [
            "/",
            "",
            "/api/status",
            "/api/statusx",
            "/api/connections/3.1",
            "/api/connections/",
            "/assets/a.js",
            "/assets",
            "/a",
            "/a/",
            "/a/b/c/d",
            "/x//y",
            "/x/y",
            "/files",
            "/files/",
            "//",
            "/api/v1/items/7",
            "/api/v1/items",
        ];
        for pattern in patterns {
            for path in paths {
                if match_pattern(pattern, path).is_some() {
                    assert!(may_match(pattern, path), "{pattern:?} vs {path:?}");
                }
            }
        }
        assert!(!may_match("/api/status", "/assets/a.js"));
        assert!(!may_match("/api/connections/:id", "/assets/a.js"));
    }

    #[test]
    fn method_not_allowed_lists_allow() {
        let r = Router::new(ROUTES);
        match r.resolve(Method::Post, "/api/connections/1") {
            Resolution::MethodNotAllowed(a) => {
                assert_eq!(std::format!("{a}"), "GET, HEAD, DELETE")
            }
            other => panic!("{other:?}"),
        }
    }
}
