//! Static asset lookup and representation selection.

use portico::assets::{
    accepts_gzip, accepts_html, lookup, resolve, select, Asset, Caching, Encoding, Selection,
};
use portico::http::{HeadLimits, RequestHead};

use crate::Knobs;

const fn asset(
    path: &'static str,
    identity: &'static [u8],
    gzip: Option<&'static [u8]>,
    etag: &'static str,
    etag_gzip: &'static str,
) -> Asset {
    Asset {
        path,
        content_type: "application/octet-stream",
        identity,
        gzip,
        etag,
        etag_gzip,
        caching: Caching::Revalidate,
        fallback: false,
    }
}

const CSS: &[u8] = b"body{margin:0;padding:0;font-family:sans-serif}main{display:grid;gap:1rem}\
.card{border:1px solid #ccc;border-radius:4px;padding:.5rem}.card h2{font-size:1rem}";

/// A set like the provider's: an index page, hashed assets with and without gzip, an
/// empty file (ranges over zero bytes), a nested path.
const SET: &[Asset] = &[
    Asset {
        fallback: true,
        ..asset(
            "/index.html",
            b"<!doctype html><title>x</title>",
            None,
            "\"i\"",
            "\"i\"",
        )
    },
    asset("/app.js", b"0123456789", Some(b"GZ"), "\"a\"", "\"a-gz\""),
    asset("/empty.txt", b"", None, "\"e\"", "\"e\""),
    asset(
        "/assets/style.css",
        CSS,
        Some(b"gzipped-css"),
        "\"c\"",
        "\"c-gz\"",
    ),
    asset("/favicon.ico", b"\x00\x00\x01\x00", None, "\"f\"", "\"f\""),
];

/// The same set without an index page: nothing may fall back.
const NO_INDEX: &[Asset] = &[SET[1], SET[2], SET[3]];

/// The same set with the index page but no fallback: only `/` reaches the page.
const NO_FALLBACK: &[Asset] = &[
    Asset {
        fallback: false,
        ..SET[0]
    },
    SET[1],
    SET[2],
    SET[3],
];

fn in_set(set: &[Asset], a: &Asset) -> bool {
    set.iter().any(|x| core::ptr::eq(x, a))
}

fn same_slice(a: &[u8], b: &[u8]) -> bool {
    a.as_ptr() == b.as_ptr() && a.len() == b.len()
}

fn is_subslice(outer: &[u8], inner: &[u8]) -> bool {
    let (o, i) = (outer.as_ptr() as usize, inner.as_ptr() as usize);
    inner.is_empty() || (i >= o && i + inner.len() <= o + outer.len())
}

fn check_lookup(set: &'static [Asset], path: &str) {
    let Some(a) = lookup(set, path) else { return };
    assert!(in_set(set, a), "lookup returned an asset outside the set");
    let dir_index = path.ends_with('/') && a.path.strip_suffix("index.html") == Some(path);
    if a.path == path || dir_index {
        return;
    }
    // Anything else may only be the client-side-routing fallback.
    assert!(a.fallback, "{path:?} served {:?}, not the fallback", a.path);
    let last = path.rsplit('/').next().unwrap_or("");
    assert!(
        !path.starts_with("/api/") && path != "/api",
        "API path {path:?} fell back to the page"
    );
    assert!(
        !last.contains('.'),
        "file-like path {path:?} fell back to the page"
    );
}

/// `resolve` is `lookup` with the fallback kept for requests that accept HTML.
fn check_resolve(set: &'static [Asset], head: &RequestHead<'_>) {
    let found = resolve(set, head);
    let by_path = lookup(set, head.path);
    match (found, by_path) {
        (Some(a), Some(b)) => assert!(core::ptr::eq(a, b), "resolve and lookup disagree"),
        (Some(a), None) => panic!("resolve found {:?} where lookup found nothing", a.path),
        (None, Some(b)) => assert!(
            b.fallback && b.path != head.path && !accepts_html(head),
            "resolve refused {:?} for {:?}",
            b.path,
            head.path
        ),
        (None, None) => {}
    }
}

fn check_select(a: &Asset, head: &RequestHead<'_>) {
    let gzip_ok = a.gzip.is_some() && accepts_gzip(head);
    let (repr, etag) = match (gzip_ok, a.gzip) {
        (true, Some(g)) => (g, a.etag_gzip),
        _ => (a.identity, a.etag),
    };
    let want_enc = if gzip_ok {
        Encoding::Gzip
    } else {
        Encoding::Identity
    };
    match select(a, head) {
        Selection::NotModified { etag: e, encoding } => {
            let inm = head.header("if-none-match");
            assert!(inm.is_some(), "304 without If-None-Match");
            // The selected representation's, or the other one's when that is what the
            // cache holds (RFC 9110 §13.1.2): named by its own ETag and encoding, and
            // one the request listed.
            let other = match a.gzip {
                Some(_) if want_enc == Encoding::Identity => Some((a.etag_gzip, Encoding::Gzip)),
                Some(_) => Some((a.etag, Encoding::Identity)),
                None => None,
            };
            assert!(
                (e, encoding) == (etag, want_enc) || Some((e, encoding)) == other,
                "304 names {e} ({encoding:?}), neither representation"
            );
            let listed = e.trim_matches('"');
            assert!(
                inm.is_some_and(|v| v.contains(listed) || v.trim() == "*"),
                "304 for {e}, which If-None-Match does not list"
            );
        }
        Selection::Full {
            body,
            etag: e,
            encoding,
        } => {
            assert!(
                same_slice(body, repr),
                "full body is not the representation"
            );
            assert_eq!((e, encoding), (etag, want_enc));
        }
        Selection::Partial {
            body,
            start,
            end,
            total,
            etag: e,
            encoding,
        } => {
            assert!(head.header("range").is_some(), "206 without Range");
            assert_eq!((e, encoding), (etag, want_enc));
            assert_eq!(total, repr.len());
            assert!(start <= end && end < total, "range {start}-{end}/{total}");
            assert!(
                is_subslice(repr, body),
                "partial body outside the representation"
            );
            assert!(same_slice(body, &repr[start..=end]));
        }
        Selection::Unsatisfiable { total } => {
            assert!(head.header("range").is_some(), "416 without Range");
            assert_eq!(total, repr.len());
        }
    }
}

/// Invariants: `lookup` never returns an asset outside the set, and anything but the
/// exact path is only ever the index fallback for non-API, extension-less paths;
/// `select` only hands out the asset's own bytes (a whole representation or a
/// sub-slice of it matching the reported range), with the matching validator.
///
/// Input: one knob byte, the path up to the first LF, then header lines (LF or CRLF).
pub fn assets(data: &[u8]) {
    let (mut k, rest) = Knobs::split(data, 1);
    let mode = k.byte();
    let (path, headers) = match rest.iter().position(|&b| b == b'\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let path = String::from_utf8_lossy(path);
    check_lookup(SET, &path);
    check_lookup(NO_INDEX, &path);
    check_lookup(NO_FALLBACK, &path);

    // A request whose path is the fuzzed one when it parses, with the fuzzed headers.
    let mut raw = Vec::with_capacity(64 + data.len());
    raw.extend_from_slice(b"GET ");
    if mode & 1 == 0 {
        raw.extend_from_slice(path.as_bytes());
    } else {
        raw.extend_from_slice(b"/app.js");
    }
    raw.extend_from_slice(b" HTTP/1.1\r\nHost: a\r\n");
    let mut prev = 0u8;
    for &b in headers {
        if b == b'\n' && prev != b'\r' {
            raw.push(b'\r');
        }
        raw.push(b);
        prev = b;
    }
    if !raw.ends_with(b"\r\n") {
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"\r\n");
    let limits = HeadLimits {
        max_head: 1 << 16,
        max_uri: 1 << 16,
        ..HeadLimits::default()
    };
    let Ok(Some(head)) = RequestHead::parse(&raw, &limits) else {
        return;
    };
    check_lookup(SET, head.path);
    for set in [SET, NO_INDEX, NO_FALLBACK] {
        check_resolve(set, &head);
    }
    for a in SET {
        check_select(a, &head);
    }
}
