//! `match_pattern` and `Router::resolve` on arbitrary paths.

use portico::http::router::{match_pattern, Params};
use portico::http::{Method, Resolution, Route, Router};

use crate::Knobs;

/// Patterns covering literals, parameters, wildcards, and their combinations. Names are
/// unique within a pattern so that `Params::get` can find each capture.
const PATTERNS: &[&str] = &[
    "/",
    "/api/status",
    "/api/connections/:id",
    "/assets/*path",
    "/*all",
    "/a/:x/b/:y",
    "/a/:x/*rest",
    "/:p/:q/*rest",
    "/x//y",
    "/files/*",
    "/:a/:b/:c/:d",
    "/:a/:b/:c/:d/:e",
    "/api/:v/items/:id",
    "",
];

const ROUTES: &[Route<u8>] = &[
    Route::new(Method::Get, "/api/status", 0),
    Route::new(Method::Get, "/api/connections/:id", 1),
    Route::new(Method::Delete, "/api/connections/:id", 2),
    Route::new(Method::Post, "/api/:v/items/:id", 3),
    Route::new(Method::Put, "/api/:v/items/:id", 4),
    Route::new(Method::Get, "/assets/*path", 5),
    Route::new(Method::Options, "/a/:x/*rest", 6),
    Route::new(Method::Patch, "/", 7),
];

/// Whether `inner` lies within `outer` (a capture must borrow the path, not copy it).
fn inside(outer: &str, inner: &str) -> bool {
    let (o, i) = (outer.as_ptr() as usize, inner.as_ptr() as usize);
    i >= o && i + inner.len() <= o + outer.len()
}

/// Rebuilds the path from the pattern and the captures; checks each capture.
fn check_match(pattern: &str, path: &str, params: &Params<'_>) {
    let mut rebuilt = String::new();
    let mut captures = 0;
    for (i, seg) in pattern.split('/').enumerate() {
        if let Some(name) = seg.strip_prefix('*') {
            captures += 1;
            let rest = params.get(name).expect("wildcard captured");
            assert!(rest.is_empty() || inside(path, rest));
            // What precedes the wildcard, then the rest of the path.
            if rest.is_empty() {
                assert!(
                    path == rebuilt || path.strip_prefix(rebuilt.as_str()) == Some("/"),
                    "pattern {pattern:?} path {path:?}: empty rest after {rebuilt:?}"
                );
            } else {
                let whole = format!("{rebuilt}/{rest}");
                assert_eq!(
                    whole, path,
                    "pattern {pattern:?}: wildcard captured {rest:?}"
                );
            }
            assert_eq!(captures, params.len());
            return;
        }
        if i > 0 {
            rebuilt.push('/');
        }
        if let Some(name) = seg.strip_prefix(':') {
            captures += 1;
            let v = params.get(name).expect("parameter captured");
            assert!(!v.is_empty() && !v.contains('/'), "param {name}={v:?}");
            assert!(inside(path, v));
            rebuilt.push_str(v);
        } else {
            rebuilt.push_str(seg);
        }
    }
    assert_eq!(
        rebuilt, path,
        "pattern {pattern:?} matched a different path"
    );
    assert_eq!(captures, params.len());
}

/// Invariants: no panic; every match rebuilds the exact path from pattern + captures;
/// `resolve` picks the first route that matches and answers the method (GET answers
/// HEAD), 405 lists exactly the methods of the matching routes, 404 only when none does.
pub fn router(data: &[u8]) {
    let (mut k, rest) = Knobs::split(data, 1);
    let method = Method::ALL[usize::from(k.byte()) % Method::ALL.len()];
    let path = String::from_utf8_lossy(rest);
    let path: &str = &path;

    for &pattern in PATTERNS {
        if let Some(params) = match_pattern(pattern, path) {
            check_match(pattern, path, &params);
        }
    }

    let answers =
        |r: &Route<u8>| r.method == method || (r.method == Method::Get && method == Method::Head);
    let matching: Vec<&Route<u8>> = ROUTES
        .iter()
        .filter(|r| match_pattern(r.pattern, path).is_some())
        .collect();
    let resolution = Router::new(ROUTES).resolve(method, path);
    match resolution {
        Resolution::Found(t, params) => {
            let first = matching
                .iter()
                .find(|r| answers(r))
                .expect("found without an answering route");
            assert!(core::ptr::eq(t, *first), "not the first answering route");
            check_match(first.pattern, path, &params);
        }
        Resolution::MethodNotAllowed(allow) => {
            assert!(!matching.is_empty() && !matching.iter().any(|r| answers(r)));
            assert!(!allow.contains(method), "405 whose Allow lists {method}");
            for m in Method::ALL {
                let expected = matching
                    .iter()
                    .any(|r| r.method == m || (r.method == Method::Get && m == Method::Head));
                assert_eq!(allow.contains(m), expected, "Allow and {m}");
            }
            let text = allow.to_string();
            assert!(!text.is_empty() && !text.ends_with(", "));
        }
        Resolution::NotFound => assert!(matching.is_empty(), "404 although a route matches"),
    };
}
