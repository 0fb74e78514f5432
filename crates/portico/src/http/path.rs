//! Request paths that climb above the root (`/../etc/passwd`): malformed, answered
//! `400` like nginx does, before any handler sees them. Pure.
//!
//! Dot segments are recognised however a client may spell them to a server that decodes
//! before it resolves: `.`, `%2e` or `%2E` for each dot, and `/`, `\`, `%2f` or `%5c` as
//! separators. Dot segments that stay inside the root (`/a/../b`) are left alone.

/// Whether resolving the dot segments of `path` (RFC 3986 §5.2.4) would go above `/`.
pub fn climbs_above_root(path: &str) -> bool {
    let mut depth: usize = 0;
    let segments = Segments {
        rest: path.as_bytes(),
    };
    for segment in segments {
        match dots(segment) {
            Some(2) => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return true,
            },
            Some(_) => {}
            None if segment.is_empty() => {}
            None => depth += 1,
        }
    }
    false
}

/// Path segments, split at every spelling of a separator.
struct Segments<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Segments<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        let s = self.rest;
        let mut i = 0;
        while i < s.len() {
            let sep = match s[i] {
                b'/' | b'\\' => 1,
                b'%' if s.len() >= i + 3
                    && (s[i + 1..i + 3].eq_ignore_ascii_case(b"2f")
                        || s[i + 1..i + 3].eq_ignore_ascii_case(b"5c")) =>
                {
                    3
                }
                _ => 0,
            };
            if sep > 0 {
                self.rest = &s[i + sep..];
                return Some(&s[..i]);
            }
            i += 1;
        }
        self.rest = &[];
        Some(s)
    }
}

/// `Some(n)` when the segment is `n` dots (each plain or `%2e`), else `None`.
fn dots(mut seg: &[u8]) -> Option<usize> {
    let mut n = 0;
    while !seg.is_empty() {
        if seg[0] == b'.' {
            seg = &seg[1..];
        } else if seg.len() >= 3 && seg[..3].eq_ignore_ascii_case(b"%2e") {
            seg = &seg[3..];
        } else {
            return None;
        }
        n += 1;
    }
    (n > 0).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn climbing_paths() {
        for p in [
            "/..",
            "/../",
            "/../../../../etc/passwd",
            "/%2e%2e/%2e%2e/etc/passwd",
            "/%2E%2e/x",
            "/.%2e/x",
            "/a/../../x",
            "/a/./../..",
            "/..\\..\\win.ini",
            "/a%2f..%2f..%2fx",
            "/a%5c..%5c..",
            // An empty segment is no level to climb from.
            "//..//",
        ] {
            assert!(climbs_above_root(p), "{p}");
        }
    }

    #[test]
    fn paths_that_stay_inside() {
        for p in [
            "/",
            "",
            "/index.html",
            "/a/../b",
            "/a/b/../../c",
            "/./x",
            "/.../x",
            "/..a/x",
            "/a..b",
            "/%2e%2ex",
            "/a//..",
            "/assets/app.3f2a.js",
        ] {
            assert!(!climbs_above_root(p), "{p}");
        }
    }
}
