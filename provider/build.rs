//! Embeds the dashboard (`web/dist`) into the binary, pre-compressed.
//!
//! The dist folder is built from `web/` by `npm ci && npm run build` when it is missing
//! or older than its sources, so a fresh clone never serves a stale, hand-copied bundle.
//! Set `PORTICO_SKIP_WEB_BUILD=1` to embed whatever `web/dist` holds (or a placeholder).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let web = manifest.join("../web");
    let dist = web.join("dist");
    println!("cargo:rerun-if-env-changed=PORTICO_SKIP_WEB_BUILD");
    for p in [
        "src",
        "index.html",
        "package.json",
        "package-lock.json",
        "vite.config.js",
    ] {
        println!("cargo:rerun-if-changed={}", web.join(p).display());
    }

    if std::env::var_os("PORTICO_SKIP_WEB_BUILD").is_none()
        && web.join("package.json").exists()
        && is_stale(&web, &dist)
    {
        build_web(&web);
    }

    // No SPA fallback: the dashboard routes with `#/…`, so the server never sees its
    // routes, and a mistyped path stays a 404.
    portico_assets::Embed::new(&dist)
        .placeholder(PLACEHOLDER)
        .write()
        .unwrap_or_else(|e| e.fail_build());
}

const PLACEHOLDER: &str =
    "<!doctype html><html><head><meta charset=utf-8><title>Portico</title></head>\
<body><h1>Portico provider</h1><p>The dashboard was not built into this binary. \
See <a href=\"/api/status\">/api/status</a>.</p></body></html>\n";

fn is_stale(web: &Path, dist: &Path) -> bool {
    let Ok(built) = fs::metadata(dist.join("index.html")).and_then(|m| m.modified()) else {
        return true;
    };
    let mut newest = SystemTime::UNIX_EPOCH;
    for p in ["src", "index.html", "package.json", "vite.config.js"] {
        newest = newest.max(newest_in(&web.join(p)));
    }
    newest > built
}

fn newest_in(p: &Path) -> SystemTime {
    let Ok(meta) = fs::metadata(p) else {
        return SystemTime::UNIX_EPOCH;
    };
    if meta.is_dir() {
        fs::read_dir(p)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| newest_in(&e.path()))
            .max()
            .unwrap_or(SystemTime::UNIX_EPOCH)
    } else {
        meta.modified().unwrap_or(SystemTime::UNIX_EPOCH)
    }
}

fn build_web(web: &Path) {
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    if !web.join("node_modules").exists() {
        let ok = Command::new(npm)
            .arg("ci")
            .arg("--no-audit")
            .arg("--no-fund")
            .current_dir(web)
            .status();
        if !matches!(ok, Ok(s) if s.success()) {
            println!("cargo:warning=`npm ci` failed in web/: the dashboard is not rebuilt");
            return;
        }
    }
    let ok = Command::new(npm)
        .args(["run", "build"])
        .current_dir(web)
        .status();
    if !matches!(ok, Ok(s) if s.success()) {
        println!("cargo:warning=`npm run build` failed in web/: the dashboard is not rebuilt");
    }
}
