//! Static assets: lookup, content negotiation, validators and ranges. Pure.
//!
//! Assets are embedded at build time (in flash on the device), each stored as identity
//! bytes and, where it pays, pre-compressed gzip bytes. Serving never copies a file into
//! RAM: the body is written straight from the embedded slice.

use crate::http::RequestHead;

/// One embedded file.
///
/// Tables of these are generated at build time by `portico-assets` (`Embed`), so that
/// every field is a `'static` constant in flash and the table itself can be a `static`.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// URL path, e.g. `/assets/index-3f2a.js`.
    pub path: &'static str,
    /// `Content-Type` value.
    pub content_type: &'static str,
    /// The file as is.
    pub identity: &'static [u8],
    /// The file gzip-compressed, when that is smaller.
    pub gzip: Option<&'static [u8]>,
    /// Strong validator of the identity bytes, quoted (`"…"`).
    pub etag: &'static str,
    /// Strong validator of the gzip bytes, quoted.
    pub etag_gzip: &'static str,
    /// How long a client may reuse it without asking again.
    pub caching: Caching,
    /// Answers `GET`/`HEAD` for page paths no file has (the single-page-app fallback,
    /// see [`resolve`]). At most one asset of a table should have it; the first wins.
    pub fallback: bool,
}

/// The `Cache-Control` class of an asset, decided at build time from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caching {
    /// The name changes whenever the content does (a content-hashed name such as
    /// Vite's `assets/index-BdH3kQ9x.js`): a client keeps it a year and never asks
    /// again, so a page load costs no request for it at all.
    Immutable,
    /// The name stays while the content changes (`index.html`, `favicon.ico`): a client
    /// asks on every use, with its `ETag`, and an unchanged file costs a bodiless `304`.
    Revalidate,
}

impl Caching {
    /// The `Cache-Control` value.
    pub const fn cache_control(self) -> &'static str {
        match self {
            Caching::Immutable => "public, max-age=31536000, immutable",
            Caching::Revalidate => "no-cache",
        }
    }
}

/// Which representation to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// The identity bytes.
    Identity,
    /// The gzip bytes (`Content-Encoding: gzip`).
    Gzip,
}

/// The decision for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// 304 Not Modified.
    NotModified {
        /// Validator of the selected representation.
        etag: &'static str,
        /// Chosen encoding.
        encoding: Encoding,
    },
    /// 200 with the whole body.
    Full {
        /// The body.
        body: &'static [u8],
        /// Validator.
        etag: &'static str,
        /// Chosen encoding.
        encoding: Encoding,
    },
    /// 206 with one range.
    Partial {
        /// The selected range's bytes.
        body: &'static [u8],
        /// First byte offset.
        start: usize,
        /// Last byte offset (inclusive).
        end: usize,
        /// Length of the whole representation.
        total: usize,
        /// Validator.
        etag: &'static str,
        /// Chosen encoding.
        encoding: Encoding,
    },
    /// 416 Range Not Satisfiable.
    Unsatisfiable {
        /// Length of the whole representation.
        total: usize,
    },
}

/// Finds the asset for `path` by path alone: the file of that name (a path ending in
/// `/` names its `index.html`), else, for a page path (see [`resolve`]), the table's
/// fallback page if it has one.
///
/// [`resolve`] is the serving decision; this is the question "which page could this
/// be?" asked before the request's other headers matter (e.g. to choose page headers).
pub fn lookup<'a>(assets: &'a [Asset], path: &str) -> Option<&'a Asset> {
    file(assets, path).or_else(|| fallback_for(assets, path))
}

/// The asset that answers this request: the file its path names (a path ending in `/`
/// names its `index.html`), else the single-page-app fallback — the table's asset
/// marked [`Asset::fallback`] — when all of these hold:
/// - the path is a page path: not `/api` or under `/api/` (a mistyped API call gets a
///   `404` a script can understand, not a page), and its last segment has no `.` (a
///   missing `/logo.png` or `/assets/x.js` is a `404`, not HTML the browser would try to
///   run as a script);
/// - the request's `Accept` names `text/html` with a non-zero `q`: a browser's
///   navigation does, while `fetch()`, `curl` and a stale script tag send `*/*` or
///   nothing and get their `404`.
pub fn resolve<'a>(assets: &'a [Asset], head: &RequestHead<'_>) -> Option<&'a Asset> {
    file(assets, head.path)
        .or_else(|| fallback_for(assets, head.path).filter(|_| accepts_html(head)))
}

/// The file `path` names: an exact match, or for `…/` the `…/index.html`.
pub(crate) fn file<'a>(assets: &'a [Asset], path: &str) -> Option<&'a Asset> {
    if path.ends_with('/') {
        assets
            .iter()
            .find(|a| a.path.strip_suffix("index.html") == Some(path))
    } else {
        assets.iter().find(|a| a.path == path)
    }
}

/// The fallback page, if `path` is a page path and the table has one.
pub(crate) fn fallback_for<'a>(assets: &'a [Asset], path: &str) -> Option<&'a Asset> {
    let last = path.rsplit('/').next().unwrap_or("");
    let api = path == "/api" || path.starts_with("/api/");
    if api || last.contains('.') {
        return None;
    }
    assets.iter().find(|a| a.fallback)
}

/// Chooses representation and status from the request's headers.
pub fn select(asset: &Asset, head: &RequestHead<'_>) -> Selection {
    let gzip_ok = asset.gzip.is_some() && accepts_gzip(head);
    let (body, etag, encoding) = match (gzip_ok, asset.gzip) {
        (true, Some(gz)) => (gz, asset.etag_gzip, Encoding::Gzip),
        _ => (asset.identity, asset.etag, Encoding::Identity),
    };
    // A cache may hold either representation: if it holds any of them, it is current
    // (RFC 9110 §13.1.2), and the 304 names the one it holds (RFC 9111 §4.3.4), so the
    // cache refreshes that one instead of fetching the other.
    if let Some(inm) = head.header("if-none-match") {
        if etag_matches(inm, etag) {
            return Selection::NotModified { etag, encoding };
        }
        if let Some(other) = other_representation(asset, encoding) {
            if etag_matches(inm, other.0) {
                return Selection::NotModified {
                    etag: other.0,
                    encoding: other.1,
                };
            }
        }
    }
    // If-Range with a different validator: send the whole thing.
    let range_applies = match head.header("if-range") {
        Some(v) => v.trim() == etag,
        None => true,
    };
    if let (Some(range), true) = (head.header("range"), range_applies) {
        match parse_range(range, body.len()) {
            RangeResult::Ignore => {}
            RangeResult::Unsatisfiable => return Selection::Unsatisfiable { total: body.len() },
            RangeResult::Range(start, end) => {
                return Selection::Partial {
                    body: &body[start..=end],
                    start,
                    end,
                    total: body.len(),
                    etag,
                    encoding,
                }
            }
        }
    }
    Selection::Full {
        body,
        etag,
        encoding,
    }
}

/// The representation not selected, if the asset has two: its validator and encoding.
fn other_representation(asset: &Asset, selected: Encoding) -> Option<(&'static str, Encoding)> {
    match (selected, asset.gzip) {
        (Encoding::Identity, Some(_)) => Some((asset.etag_gzip, Encoding::Gzip)),
        (Encoding::Gzip, _) if !asset.identity.is_empty() => Some((asset.etag, Encoding::Identity)),
        _ => None,
    }
}

/// Whether `Accept-Encoding` allows gzip (`q=0` refuses it).
pub fn accepts_gzip(head: &RequestHead<'_>) -> bool {
    let mut star = false;
    for (coding, refused) in list_items(head, "accept-encoding") {
        if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            return !refused;
        }
        if coding == "*" {
            star = !refused;
        }
    }
    star
}

/// Whether `Accept` names `text/html` (with a non-zero `q`). Wildcards do not count:
/// this tells a browser's navigation from a script's request (see [`resolve`]).
pub fn accepts_html(head: &RequestHead<'_>) -> bool {
    list_items(head, "accept").any(|(t, refused)| t.eq_ignore_ascii_case("text/html") && !refused)
}

/// The items of every `name` header (a comma-separated list with `;` parameters): each
/// item's value and whether its `q` is zero.
fn list_items<'b>(
    head: &RequestHead<'b>,
    name: &'static str,
) -> impl Iterator<Item = (&'b str, bool)> + 'b {
    head.headers()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .flat_map(|(_, value)| value.split(','))
        .map(|item| {
            let mut parts = item.split(';');
            let value = parts.next().unwrap_or("").trim();
            (value, parts.any(is_q_zero))
        })
}

/// Whether one `;` parameter is `q=0` (however many zeros follow the point).
fn is_q_zero(param: &str) -> bool {
    let p = param.trim();
    p.strip_prefix("q=")
        .or_else(|| p.strip_prefix("Q="))
        .is_some_and(|q| {
            let q = q.trim();
            q == "0" || q.trim_end_matches('0').trim_end_matches('.') == "0"
        })
}

/// Weak comparison of an `If-None-Match` list against a strong validator.
fn etag_matches(header: &str, etag: &str) -> bool {
    let header = header.trim();
    if header == "*" {
        return true;
    }
    header.split(',').any(|t| {
        let t = t.trim();
        let t = t.strip_prefix("W/").unwrap_or(t);
        t == etag
    })
}

#[derive(Debug, PartialEq, Eq)]
enum RangeResult {
    Ignore,
    Unsatisfiable,
    Range(usize, usize),
}

/// A single `bytes=` range. Several ranges are answered with the whole body (allowed by
/// RFC 9110 §14.2, and it spares a multipart encoder on the device).
fn parse_range(value: &str, len: usize) -> RangeResult {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return RangeResult::Ignore;
    };
    if spec.contains(',') {
        return RangeResult::Ignore;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return RangeResult::Ignore;
    };
    let (a, b) = (a.trim(), b.trim());
    let num = |s: &str| -> Option<usize> {
        if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
            None
        } else {
            s.parse().ok()
        }
    };
    match (a.is_empty(), b.is_empty()) {
        (true, true) => RangeResult::Ignore,
        (true, false) => match num(b) {
            // Suffix: the last n bytes.
            Some(0) => RangeResult::Unsatisfiable,
            Some(n) if len == 0 => {
                let _ = n;
                RangeResult::Unsatisfiable
            }
            Some(n) => RangeResult::Range(len.saturating_sub(n), len - 1),
            None => RangeResult::Ignore,
        },
        (false, _) => {
            let Some(start) = num(a) else {
                return RangeResult::Ignore;
            };
            let end = if b.is_empty() {
                len.saturating_sub(1)
            } else {
                match num(b) {
                    Some(e) if e >= start => e.min(len.saturating_sub(1)),
                    Some(_) => return RangeResult::Ignore,
                    None => return RangeResult::Ignore,
                }
            };
            if start >= len {
                RangeResult::Unsatisfiable
            } else {
                RangeResult::Range(start, end)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::HeadLimits;

    const A: Asset = Asset {
        path: "/app.js",
        content_type: "text/javascript",
        identity: b"0123456789",
        gzip: Some(b"GZ"),
        etag: "\"abc\"",
        etag_gzip: "\"abc-gz\"",
        caching: Caching::Immutable,
        fallback: false,
    };
    const INDEX: Asset = Asset {
        path: "/index.html",
        content_type: "text/html",
        identity: b"<html>",
        gzip: None,
        etag: "\"i\"",
        etag_gzip: "\"i\"",
        caching: Caching::Revalidate,
        fallback: true,
    };

    fn with(headers: &str, f: impl FnOnce(Selection)) {
        let raw = std::format!("GET /app.js HTTP/1.1\r\nHost: a\r\n{headers}\r\n");
        let h = RequestHead::parse(raw.as_bytes(), &HeadLimits::default())
            .unwrap()
            .unwrap();
        f(select(&A, &h))
    }

    fn head(raw: &str, f: impl FnOnce(&RequestHead<'_>)) {
        let raw = std::format!("{raw}\r\n");
        let h = RequestHead::parse(raw.as_bytes(), &HeadLimits::default())
            .unwrap()
            .unwrap();
        f(&h)
    }

    #[test]
    fn lookup_and_fallback() {
        let set = [A, INDEX];
        assert_eq!(lookup(&set, "/").unwrap().path, "/index.html");
        assert_eq!(lookup(&set, "/app.js").unwrap().path, "/app.js");
        assert_eq!(lookup(&set, "/connections").unwrap().path, "/index.html");
        assert!(lookup(&set, "/missing.js").is_none());
        assert!(lookup(&set, "/api/nope").is_none());
        assert!(lookup(&set, "/api").is_none());
        // Traversal can only ever reach the embedded set: at worst the SPA fallback.
        for evil in [
            "/../etc/passwd",
            "/%2e%2e/etc/passwd",
            "/..\\..\\win.ini",
            "/assets/../../x",
        ] {
            assert!(
                lookup(&set, evil).is_none_or(|a| a.path == "/index.html"),
                "{evil}"
            );
        }
    }

    #[test]
    fn no_fallback_unless_the_table_has_one() {
        let plain = Asset {
            fallback: false,
            ..INDEX
        };
        let set = [A, plain];
        assert_eq!(lookup(&set, "/").unwrap().path, "/index.html");
        assert!(lookup(&set, "/connections").is_none());
        head(
            "GET /connections HTTP/1.1\r\nHost: a\r\nAccept: text/html\r\n",
            |h| assert!(resolve(&set, h).is_none()),
        );
    }

    #[test]
    fn a_directory_path_names_its_index() {
        const DOCS: Asset = Asset {
            path: "/docs/index.html",
            fallback: false,
            ..INDEX
        };
        let set = [A, DOCS];
        assert_eq!(lookup(&set, "/docs/").unwrap().path, "/docs/index.html");
        assert!(lookup(&set, "/").is_none(), "no /index.html in this table");
        assert!(lookup(&set, "/other/").is_none());
        assert!(lookup(&set, "/docs").is_none(), "no redirect, no guess");
    }

    #[test]
    fn the_fallback_answers_page_navigations_only() {
        let set = [A, INDEX];
        let navigation = "Accept: text/html,application/xhtml+xml,*/*;q=0.8\r\n";
        let cases: &[(&str, &str, Option<&str>)] = &[
            // A browser navigating to a client-side route gets the page.
            ("/settings/wifi", navigation, Some("/index.html")),
            ("/settings/", navigation, Some("/index.html")),
            // Files are found whatever the request accepts.
            ("/app.js", "", Some("/app.js")),
            ("/", "Accept: */*\r\n", Some("/index.html")),
            // Scripts, `fetch()` and `curl` get their 404.
            ("/settings/wifi", "", None),
            ("/settings/wifi", "Accept: */*\r\n", None),
            ("/settings/wifi", "Accept: application/json\r\n", None),
            ("/settings/wifi", "Accept: text/html;q=0, */*\r\n", None),
            ("/settings/wifi", "Accept: text/*\r\n", None),
            // Asset-looking and API paths never fall back.
            ("/assets/index-0a1b2c3d.js", navigation, None),
            ("/logo.png", navigation, None),
            ("/api/status", navigation, None),
            ("/api", navigation, None),
        ];
        for (path, headers, want) in cases {
            head(
                &std::format!("GET {path} HTTP/1.1\r\nHost: a\r\n{headers}"),
                |h| {
                    assert_eq!(
                        resolve(&set, h).map(|a| a.path),
                        *want,
                        "{path} {headers:?}"
                    );
                },
            );
        }
    }

    #[test]
    fn accept_lists() {
        for (headers, html) in [
            ("Accept: text/html\r\n", true),
            ("Accept: TEXT/HTML; q=0.5\r\n", true),
            ("Accept: image/png\r\nAccept: text/html\r\n", true),
            ("Accept: text/html;q=0.000\r\n", false),
            ("Accept: text/htmlx\r\n", false),
            ("", false),
        ] {
            head(
                &std::format!("GET / HTTP/1.1\r\nHost: a\r\n{headers}"),
                |h| assert_eq!(accepts_html(h), html, "{headers:?}"),
            );
        }
    }

    #[test]
    fn cache_control_by_class() {
        assert_eq!(
            Caching::Immutable.cache_control(),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(Caching::Revalidate.cache_control(), "no-cache");
    }

    #[test]
    fn negotiation() {
        with("Accept-Encoding: gzip, br\r\n", |s| {
            assert!(matches!(
                s,
                Selection::Full {
                    encoding: Encoding::Gzip,
                    body: b"GZ",
                    ..
                }
            ))
        });
        with("Accept-Encoding: gzip;q=0, identity\r\n", |s| {
            assert!(matches!(
                s,
                Selection::Full {
                    encoding: Encoding::Identity,
                    ..
                }
            ))
        });
        with("", |s| {
            assert!(matches!(
                s,
                Selection::Full {
                    encoding: Encoding::Identity,
                    ..
                }
            ))
        });
        with("Accept-Encoding: *\r\n", |s| {
            assert!(matches!(
                s,
                Selection::Full {
                    encoding: Encoding::Gzip,
                    ..
                }
            ))
        });
    }

    #[test]
    fn conditional() {
        with("If-None-Match: \"abc\"\r\n", |s| {
            assert!(matches!(s, Selection::NotModified { .. }))
        });
        with(
            "If-None-Match: W/\"x\", \"abc-gz\"\r\nAccept-Encoding: gzip\r\n",
            |s| {
                assert!(matches!(
                    s,
                    Selection::NotModified {
                        encoding: Encoding::Gzip,
                        ..
                    }
                ))
            },
        );
        // The other representation's validator matches too, and the 304 names it.
        with("If-None-Match: \"abc-gz\"\r\n", |s| {
            assert_eq!(
                s,
                Selection::NotModified {
                    etag: "\"abc-gz\"",
                    encoding: Encoding::Gzip
                }
            )
        });
        with("If-None-Match: \"abc\"\r\nAccept-Encoding: gzip\r\n", |s| {
            assert_eq!(
                s,
                Selection::NotModified {
                    etag: "\"abc\"",
                    encoding: Encoding::Identity
                }
            )
        });
        with(
            "If-None-Match: \"nope\"\r\nAccept-Encoding: gzip\r\n",
            |s| assert!(matches!(s, Selection::Full { .. })),
        );
    }

    #[test]
    fn ranges() {
        with("Range: bytes=2-4\r\n", |s| {
            assert!(matches!(
                s,
                Selection::Partial {
                    body: b"234",
                    start: 2,
                    end: 4,
                    total: 10,
                    ..
                }
            ))
        });
        with("Range: bytes=7-\r\n", |s| {
            assert!(matches!(s, Selection::Partial { body: b"789", .. }))
        });
        with("Range: bytes=-3\r\n", |s| {
            assert!(matches!(s, Selection::Partial { body: b"789", .. }))
        });
        with("Range: bytes=5-100\r\n", |s| {
            assert!(matches!(s, Selection::Partial { end: 9, .. }))
        });
        with("Range: bytes=10-\r\n", |s| {
            assert_eq!(s, Selection::Unsatisfiable { total: 10 })
        });
        with("Range: bytes=0-1,3-4\r\n", |s| {
            assert!(matches!(s, Selection::Full { .. }))
        });
        with("Range: bytes=4-2\r\n", |s| {
            assert!(matches!(s, Selection::Full { .. }))
        });
        with("Range: bytes=1-2\r\nIf-Range: \"old\"\r\n", |s| {
            assert!(matches!(s, Selection::Full { .. }))
        });
    }
}
