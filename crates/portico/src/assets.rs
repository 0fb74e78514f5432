//! Static assets: lookup, content negotiation, validators and ranges. Pure.
//!
//! Assets are embedded at build time (in flash on the device), each stored as identity
//! bytes and, where it pays, pre-compressed gzip bytes. Serving never copies a file into
//! RAM: the body is written straight from the embedded slice.

use crate::http::RequestHead;

/// One embedded file.
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
    /// Content-hashed name: may be cached forever.
    pub immutable: bool,
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

/// Finds the asset for `path`: exact match, `/` → `/index.html`, and for paths that are
/// not API calls and have no file extension, `index.html` (client-side routes).
pub fn lookup<'a>(assets: &'a [Asset], path: &str) -> Option<&'a Asset> {
    let want = if path == "/" { "/index.html" } else { path };
    if let Some(a) = assets.iter().find(|a| a.path == want) {
        return Some(a);
    }
    let last = want.rsplit('/').next().unwrap_or("");
    if want.starts_with("/api/") || want == "/api" || last.contains('.') {
        return None;
    }
    assets.iter().find(|a| a.path == "/index.html")
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
    for (name, value) in head.headers() {
        if !name.eq_ignore_ascii_case("accept-encoding") {
            continue;
        }
        for item in value.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let q_zero = parts.any(|p| {
                let p = p.trim();
                p.strip_prefix("q=")
                    .or_else(|| p.strip_prefix("Q="))
                    .is_some_and(|q| {
                        q.trim().trim_end_matches('0').trim_end_matches('.') == "0"
                            || q.trim() == "0"
                    })
            });
            if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
                return !q_zero;
            }
            if coding == "*" {
                star = !q_zero;
            }
        }
    }
    star
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
        immutable: true,
    };
    const INDEX: Asset = Asset {
        path: "/index.html",
        content_type: "text/html",
        identity: b"<html>",
        gzip: None,
        etag: "\"i\"",
        etag_gzip: "\"i\"",
        immutable: false,
    };

    fn with(headers: &str, f: impl FnOnce(Selection)) {
        let raw = std::format!("GET /app.js HTTP/1.1\r\nHost: a\r\n{headers}\r\n");
        let h = RequestHead::parse(raw.as_bytes(), &HeadLimits::default())
            .unwrap()
            .unwrap();
        f(select(&A, &h))
    }

    #[test]
    fn lookup_and_fallback() {
        let set = [A, INDEX];
        assert_eq!(lookup(&set, "/").unwrap().path, "/index.html");
        assert_eq!(lookup(&set, "/app.js").unwrap().path, "/app.js");
        assert_eq!(lookup(&set, "/connections").unwrap().path, "/index.html");
        assert!(lookup(&set, "/missing.js").is_none());
        assert!(lookup(&set, "/api/nope").is_none());
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
