//! Embedding the committed fixture (a tiny Vite `dist/`): the table written, the
//! options, the budget, and the core serving what was embedded.

use std::path::{Path, PathBuf};

use portico::assets::{resolve, select, Asset, Caching, Selection};
use portico::http::{HeadLimits, RequestHead};
use portico_assets::{Embed, Embedded, Error, Identity};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vite-dist")
}

/// A fresh output directory under the target directory.
fn out_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn urls(e: &Embedded) -> Vec<&str> {
    e.files.iter().map(|f| f.url.as_str()).collect()
}

#[test]
fn the_generated_table_names_every_file_with_its_class() {
    let out = out_dir("table");
    let embedded = Embed::new(fixture()).out_dir(&out).write().unwrap();
    // Sorted, hidden files left out.
    assert_eq!(
        urls(&embedded),
        [
            "/assets/index-DigXP85U.js",
            "/assets/index-oXR-vEbm.css",
            "/index.html",
            "/vite.svg"
        ]
    );
    let table = std::fs::read_to_string(out.join("assets.rs")).unwrap();
    assert!(table.contains("pub static ASSETS: &[portico::assets::Asset] = &["));
    let entry = |url: &str| -> String {
        let start = table.find(&format!("path: {url:?}")).expect(url);
        table[start..].split("},").next().unwrap().to_string()
    };
    let js = entry("/assets/index-DigXP85U.js");
    assert!(
        js.contains("content_type: \"text/javascript; charset=utf-8\""),
        "{js}"
    );
    assert!(
        js.contains("caching: portico::assets::Caching::Immutable"),
        "{js}"
    );
    assert!(js.contains("gzip: Some(include_bytes!("), "{js}");
    assert!(js.contains("fallback: false"), "{js}");
    let css = entry("/assets/index-oXR-vEbm.css");
    assert!(
        css.contains("caching: portico::assets::Caching::Immutable"),
        "{css}"
    );
    let index = entry("/index.html");
    assert!(
        index.contains("caching: portico::assets::Caching::Revalidate"),
        "{index}"
    );
    assert!(
        index.contains("fallback: false"),
        "off unless asked for: {index}"
    );
    let svg = entry("/vite.svg");
    assert!(
        svg.contains("caching: portico::assets::Caching::Revalidate"),
        "{svg}"
    );
    // Each validator is quoted and derived from the bytes it validates.
    for f in &embedded.files {
        assert!(
            f.etag.starts_with('"') && f.etag.ends_with('"'),
            "{}",
            f.etag
        );
        assert_eq!(
            f.etag,
            format!("\"{:016x}\"", portico_assets::fnv1a(&f.identity))
        );
        assert!(entry(&f.url).contains(&format!("etag: {:?}", f.etag)));
        if let Some(gz) = &f.gzip {
            assert_eq!(
                f.etag_gzip,
                format!("\"{:016x}-gz\"", portico_assets::fnv1a(gz))
            );
            assert_eq!(&gz[..2], &[0x1f, 0x8b], "{} is gzip", f.url);
        }
    }
    // What the table includes exists.
    for path in table.split("include_bytes!(\"").skip(1) {
        let path = &path[..path.find('"').unwrap()];
        assert!(Path::new(path).is_file(), "{path}");
    }
}

#[test]
fn a_changed_file_gets_a_new_etag() {
    let dir = out_dir("changed-src");
    std::fs::write(dir.join("index.html"), "<p>one</p>").unwrap();
    let one = Embed::new(&dir).collect().unwrap().files[0].etag.clone();
    std::fs::write(dir.join("index.html"), "<p>two</p>").unwrap();
    let two = Embed::new(&dir).collect().unwrap().files[0].etag.clone();
    assert_ne!(one, two);
}

#[test]
fn spa_fallback_marks_the_page() {
    let e = Embed::new(fixture()).spa_fallback(true).collect().unwrap();
    let marked: Vec<&str> = e
        .files
        .iter()
        .filter(|f| f.fallback)
        .map(|f| f.url.as_str())
        .collect();
    assert_eq!(marked, ["/index.html"]);
    // No page to fall back to: a clear error, not a table that 404s.
    let dir = out_dir("no-page");
    std::fs::write(dir.join("app.js"), "1").unwrap();
    let err = Embed::new(&dir).spa_fallback(true).collect().unwrap_err();
    assert!(matches!(err, Error::NoFallbackPage { .. }), "{err}");
    assert!(err.to_string().contains("index.html"), "{err}");
}

#[test]
fn only_when_smaller_drops_the_identity_bytes() {
    let e = Embed::new(fixture())
        .identity(Identity::OnlyWhenSmaller)
        .collect()
        .unwrap();
    let js = e.files.iter().find(|f| f.url.ends_with(".js")).unwrap();
    assert!(!js.keep_identity && js.gzip.is_some());
    assert_eq!(js.embedded_bytes(), js.gzip.as_ref().unwrap().len());
    let always = Embed::new(fixture()).collect().unwrap();
    assert!(e.total() < always.total());
    let table = e.render(&out_dir("smaller")).unwrap();
    assert!(table.contains("identity: &[],\n        gzip: Some("));
}

#[test]
fn over_budget_is_an_error_naming_budget_total_and_largest_files() {
    let total = Embed::new(fixture()).collect().unwrap().total();
    // At the budget: fine.
    Embed::new(fixture()).budget(total).collect().unwrap();
    // One byte under: refused, and nothing written.
    let out = out_dir("budget");
    let err = Embed::new(fixture())
        .budget(total - 1)
        .out_dir(&out)
        .write()
        .unwrap_err();
    assert!(!out.join("assets.rs").exists());
    let Error::OverBudget {
        budget,
        total: t,
        ref largest,
        gzip_only,
        ..
    } = err
    else {
        panic!("{err}")
    };
    assert_eq!((budget, t), (total - 1, total));
    assert!(gzip_only.is_some_and(|n| n < total));
    assert_eq!(largest[0].0, "/assets/index-DigXP85U.js");
    assert!(largest.windows(2).all(|w| w[0].1 >= w[1].1), "{largest:?}");
    let text = err.to_string();
    for needle in [
        "vite-dist".to_string(),
        format!("take {} B", grouped(total)),
        format!("budget of {} B by 1 B", grouped(total - 1)),
        "largest: /assets/index-DigXP85U.js".to_string(),
        "/assets/index-oXR-vEbm.css".to_string(),
    ] {
        assert!(text.contains(&needle), "{needle:?} not in {text:?}");
    }
    // The way to the least flash is named, with its figure.
    let smallest = Embed::new(fixture())
        .identity(Identity::OnlyWhenSmaller)
        .collect()
        .unwrap()
        .total();
    let hint = format!(
        "gzip only where smaller (Identity::OnlyWhenSmaller) would take {} B",
        grouped(smallest)
    );
    assert!(text.ends_with(&hint), "{text}");
    let already = Embed::new(fixture())
        .identity(Identity::OnlyWhenSmaller)
        .budget(smallest - 1)
        .collect()
        .unwrap_err();
    assert!(
        !already.to_string().contains("OnlyWhenSmaller"),
        "{already}"
    );
    // What the build script prints: one cargo error line.
    let line = err.cargo_error();
    assert_eq!(line, format!("cargo::error={text}"));
    assert!(!line.contains('\n'));
}

fn grouped(n: usize) -> String {
    let s = n.to_string();
    s.chars()
        .enumerate()
        .flat_map(|(i, c)| {
            let comma = i > 0 && (s.len() - i) % 3 == 0;
            comma.then_some(',').into_iter().chain([c])
        })
        .collect()
}

#[test]
fn a_missing_directory_fails_unless_a_placeholder_is_given() {
    let missing = fixture().join("not-built");
    let err = Embed::new(&missing).collect().unwrap_err();
    assert!(matches!(err, Error::NotBuilt { .. }), "{err}");
    assert!(err.to_string().contains("not-built"), "{err}");
    let e = Embed::new(&missing)
        .placeholder("<p>not built</p>")
        .collect()
        .unwrap();
    assert!(e.placeholder);
    assert_eq!(urls(&e), ["/index.html"]);
    let table = e.render(&out_dir("placeholder")).unwrap();
    assert!(table.contains("0.bin"), "{table}");
}

#[test]
fn names_a_url_cannot_carry_are_refused() {
    let dir = out_dir("bad-name");
    std::fs::write(dir.join("index.html"), "x").unwrap();
    std::fs::write(dir.join("my photo.png"), "x").unwrap();
    let err = Embed::new(&dir).collect().unwrap_err();
    assert!(matches!(err, Error::BadName { .. }), "{err}");
    assert!(err.to_string().contains("my photo.png"), "{err}");
}

/// The embedded files as the core's table (leaked: a test stands in for `static`).
fn as_assets(e: &Embedded) -> &'static [Asset] {
    let leak = |s: &str| -> &'static str { Box::leak(s.to_string().into_boxed_str()) };
    let bytes = |b: &[u8]| -> &'static [u8] { Box::leak(b.to_vec().into_boxed_slice()) };
    let table: Vec<Asset> = e
        .files
        .iter()
        .map(|f| Asset {
            path: leak(&f.url),
            content_type: f.content_type,
            identity: if f.keep_identity {
                bytes(&f.identity)
            } else {
                &[]
            },
            gzip: f.gzip.as_deref().map(bytes),
            etag: leak(&f.etag),
            etag_gzip: leak(&f.etag_gzip),
            caching: if f.immutable {
                Caching::Immutable
            } else {
                Caching::Revalidate
            },
            fallback: f.fallback,
        })
        .collect();
    Box::leak(table.into_boxed_slice())
}

fn request(raw: &str, f: impl FnOnce(&RequestHead<'_>)) {
    let raw = format!("{raw}Host: device\r\n\r\n");
    let head = RequestHead::parse(raw.as_bytes(), &HeadLimits::default())
        .unwrap()
        .unwrap();
    f(&head)
}

#[test]
fn the_core_serves_what_was_embedded() {
    let spa = as_assets(&Embed::new(fixture()).spa_fallback(true).collect().unwrap());
    let nav = "Accept: text/html,*/*;q=0.8\r\nAccept-Encoding: gzip\r\n";
    request(&format!("GET /settings/wifi HTTP/1.1\r\n{nav}"), |h| {
        let page = resolve(spa, h).expect("the fallback page");
        assert_eq!(page.path, "/index.html");
        assert!(matches!(select(page, h), Selection::Full { .. }));
    });
    request("GET /settings/wifi HTTP/1.1\r\nAccept: */*\r\n", |h| {
        assert!(resolve(spa, h).is_none())
    });
    request(
        "GET /assets/index-DigXP85U.js HTTP/1.1\r\nAccept-Encoding: gzip\r\n",
        |h| {
            let js = resolve(spa, h).unwrap();
            assert_eq!(js.caching, Caching::Immutable);
            let Selection::Full { body, .. } = select(js, h) else {
                panic!()
            };
            assert_eq!(&body[..2], &[0x1f, 0x8b]);
        },
    );
    let plain = as_assets(&Embed::new(fixture()).collect().unwrap());
    request(&format!("GET /settings/wifi HTTP/1.1\r\n{nav}"), |h| {
        assert!(resolve(plain, h).is_none())
    });
}

#[test]
fn precompressed_copies_are_left_out() {
    let dir = out_dir("precompressed");
    std::fs::write(dir.join("index.html"), "<p>x</p>").unwrap();
    std::fs::write(dir.join("index.html.gz"), "not ours").unwrap();
    std::fs::write(dir.join("index.html.br"), "not served").unwrap();
    std::fs::write(dir.join("data.gz"), "a file in its own right").unwrap();
    let e = Embed::new(&dir).collect().unwrap();
    assert_eq!(urls(&e), ["/data.gz", "/index.html"]);
}

#[cfg(unix)]
#[test]
fn a_symlinked_directory_is_not_followed() {
    let dir = out_dir("symlink-loop");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("index.html"), "x").unwrap();
    std::fs::write(dir.join("sub/a.txt"), "a").unwrap();
    std::os::unix::fs::symlink("..", dir.join("sub/up")).unwrap();
    let e = Embed::new(&dir).collect().unwrap();
    assert_eq!(urls(&e), ["/index.html", "/sub/a.txt"]);
}
