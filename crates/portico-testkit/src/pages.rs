//! The paths a browser fetches for a page. The tests, the benches and the simulation
//! all load "the dashboard"; before this module two copies scanned `index.html`
//! differently (one by attribute, one in document order) and so loaded it in different
//! orders. The input is the served `index.html`, which is `web/dist/index.html` as the
//! provider embeds it, so the list follows the built dashboard without a copy here.

/// The page itself (`/`), then every same-origin absolute path its `src="…"` and
/// `href="…"` attributes name, in document order, without repeats.
pub fn page_paths(index_html: &str) -> Vec<String> {
    let mut found: Vec<(usize, &str)> = Vec::new();
    for attr in ["src=\"", "href=\""] {
        let mut from = 0;
        while let Some(i) = index_html[from..].find(attr) {
            let start = from + i + attr.len();
            // Only a real attribute: `data-src="…"` is not one a browser loads.
            let standalone = index_html[..from + i]
                .chars()
                .next_back()
                .is_some_and(char::is_whitespace);
            let p = index_html[start..].split('"').next().unwrap_or("");
            if standalone && p.starts_with('/') && !p.starts_with("//") {
                found.push((start, p));
            }
            from = start;
        }
    }
    found.sort();
    let mut paths = vec!["/".to_string()];
    for (_, p) in found {
        if !paths.iter().any(|x| x == p) {
            paths.push(p.to_string());
        }
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_order_same_origin_only() {
        let html = r#"<link rel="stylesheet" href="/assets/b.css"><script type="module" src="/assets/a.js"></script><a href="https://x/"><img src="//cdn/x.png"><link rel="icon" href="data:,"><i data-src="/no.png"><script src="/assets/a.js"></script>"#;
        assert_eq!(page_paths(html), ["/", "/assets/b.css", "/assets/a.js"]);
    }
}
