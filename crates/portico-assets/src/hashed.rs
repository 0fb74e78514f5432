//! Which file names are content-hashed, so may be cached forever.
//!
//! A wrong "yes" is costly (a browser keeps a changed file for a year), a wrong "no" is
//! cheap (the browser asks again and gets a bodiless `304`), so the rule leans strict.

/// Whether the last segment of `path` carries a content hash, as bundlers name their
/// output:
/// - **dash form** (Vite, Rollup, esbuild: `[name]-[hash]`): the name up to its first
///   `.` ends in `-` and 8 characters of `A–Z a–z 0–9 _ -` (`index-BdH3kQ9x.js`,
///   `index-oXR-vEbm.css`, `index-BdH3kQ9x.js.map`);
/// - **dot form** (webpack, Parcel: `[name].[hash].[ext]`): a dot-separated part that
///   is neither the first nor the last is 8 to 64 characters of `A–Z a–z 0–9`
///   (`main.3f9a2b1c.js`, `main.3f9a2b1c.chunk.js`);
///
/// and the hash looks random rather than like a word, a date or a size:
/// - with digits: letters and digits alternate at least twice (`DigXP85U`, `3f9a2b1c`;
///   not `20240115`, `v20240115`, `iPhone12`, `Windows10`), and it is not `<n>x<n>`
///   (`1024x1024`);
/// - without digits: at least two capitals and two small letters, with two capitals in
///   a row or a `-`/`_` (`oXR-vEbm`; not `SemiBold`, `BoldItalic`, `logoDark`).
///
/// On random hashes about 18 % of Vite's 8-character ones and 9 % of 8-digit hex ones
/// fail the look-random test and are revalidated instead (the test
/// `share_of_random_hashes_taken_for_words` measures it).
pub fn is_content_hashed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or("");
    let mut parts = name.split('.');
    let stem = parts.next().unwrap_or("");
    let rest: Vec<&str> = parts.collect();
    if rest.is_empty() || rest.iter().any(|p| p.is_empty()) {
        return false;
    }
    dash_form(stem) || dot_form(&rest)
}

fn dash_form(stem: &str) -> bool {
    let b = stem.as_bytes();
    if b.len() < 10 || !b.is_ascii() {
        return false;
    }
    let (head, hash) = stem.split_at(b.len() - 8);
    head.ends_with('-')
        && hash
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
        && looks_random(hash)
}

fn dot_form(rest: &[&str]) -> bool {
    // `rest` is every part after the stem; the last is the extension.
    rest[..rest.len() - 1].iter().any(|p| {
        (8..=64).contains(&p.len())
            && p.bytes().all(|c| c.is_ascii_alphanumeric())
            && looks_random(p)
    })
}

fn looks_random(hash: &str) -> bool {
    let b = hash.as_bytes();
    if b.iter().any(u8::is_ascii_digit) {
        // Runs of letters and of digits, `-`/`_` skipped.
        let kinds = b
            .iter()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(u8::is_ascii_digit);
        let mut runs = 0;
        let mut last = None;
        for k in kinds {
            if last != Some(k) {
                runs += 1;
                last = Some(k);
            }
        }
        runs >= 3 && !is_dimension(hash)
    } else {
        let upper = b.iter().filter(|c| c.is_ascii_uppercase()).count();
        let lower = b.iter().filter(|c| c.is_ascii_lowercase()).count();
        let capitals_in_a_row = b.windows(2).any(|w| w.iter().all(u8::is_ascii_uppercase));
        let separator = b.iter().any(|&c| c == b'-' || c == b'_');
        upper >= 2 && lower >= 2 && (capitals_in_a_row || separator)
    }
}

/// `<digits>x<digits>`: an icon's size, not a hash.
fn is_dimension(s: &str) -> bool {
    s.split_once('x').is_some_and(|(w, h)| {
        !w.is_empty() && !h.is_empty() && (w.bytes().chain(h.bytes())).all(|c| c.is_ascii_digit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundler_output_is_hashed() {
        for path in [
            "/assets/index-DigXP85U.js",  // Vite 5+ (base64url)
            "/assets/index-oXR-vEbm.css", // a `-` inside the hash
            "/assets/index-3f9a2b1c.js",  // Vite 4 (hex)
            "/assets/index-DigXP85U.js.map",
            "/assets/_plugin-vue_export-helper-B2x_9qTt.js",
            "/assets/Roboto-Bold-a1b2c3d4.woff2",
            "/chunk-5DGP2V6K.js",          // esbuild (base32)
            "/static/js/main.3f9a2b1c.js", // webpack
            "/static/js/main.3f9a2b1c.chunk.js",
            "/main.0d3c8a7e6f5b4a39281f.js", // webpack's 20-digit default
            "/index.7d3e9a1c.css",           // Parcel
        ] {
            assert!(is_content_hashed(path), "{path}");
        }
    }

    #[test]
    fn plain_names_are_not() {
        for path in [
            "/index.html",
            "/favicon.ico",
            "/vite.svg",
            "/robots.txt",
            "/site.webmanifest",
            "/assets/logo.png",
            "/my-component-template.js",
            "/fonts/OpenSans-SemiBold.ttf",
            "/fonts/Roboto-BoldItalic.woff2",
            "/icons/icon-logoDark.svg",
            "/icons/icon-1024x1024.png",
            "/icons/icon-512x1024.png",
            "/android-chrome-192x192.png",
            "/report-20240115.pdf",
            "/release-v20240115.zip",
            "/img/hero-iPhone12.png",
            "/img/logo-Windows10.png",
            "/jquery.min.js",
            "/bootstrap.bundle.min.js",
            "/app.component.js",
            "/a-BdH3kQ9x",   // no extension
            "/-DigXP85U.js", // no name before the hash
            "/index-DigXP85U..js",
            "/3f9a2b1c.js", // the stem alone: could be anything
        ] {
            assert!(!is_content_hashed(path), "{path}");
        }
    }

    /// The share of random hashes of `len` characters from `alphabet` that the rule
    /// does not recognize (named `index-<hash>.js`), over a fixed pseudo-random sample.
    fn missed(alphabet: &[u8], len: usize) -> f64 {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            // xorshift64*: a fixed sample, the same on every run.
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            x.wrapping_mul(0x2545_f491_4f6c_dd1d)
        };
        let n = 20_000;
        let missed = (0..n)
            .filter(|_| {
                let hash: String = (0..len)
                    .map(|_| alphabet[(next() >> 32) as usize % alphabet.len()] as char)
                    .collect();
                let name = if len == 8 {
                    format!("/assets/index-{hash}.js")
                } else {
                    format!("/main.{hash}.js")
                };
                !is_content_hashed(&name)
            })
            .count();
        missed as f64 / n as f64
    }

    #[test]
    fn share_of_random_hashes_taken_for_words() {
        const BASE64URL: &[u8] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        const HEX: &[u8] = b"0123456789abcdef";
        let rates = [
            ("Vite/Rollup base64url, 8", missed(BASE64URL, 8), 0.20),
            ("esbuild base32, 8", missed(BASE32, 8), 0.33),
            ("hex, 8", missed(HEX, 8), 0.11),
            ("webpack hex, 20", missed(HEX, 20), 0.001),
        ];
        for (what, rate, at_most) in rates {
            println!("{what}: {:.1} % revalidated instead", rate * 100.0);
            assert!(rate <= at_most, "{what}: {rate}");
        }
    }
}
