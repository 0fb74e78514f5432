//! Embeds the dashboard from `../web/dist` (gzip-compressed where that is smaller) as a
//! `portico::assets::Asset` table, and passes Wi-Fi credentials through from the
//! environment at build time.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=PORTICO_WIFI_SSID");
    println!("cargo:rerun-if-env-changed=PORTICO_WIFI_PASSWORD");
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let dist = manifest.join("../web/dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());

    let mut files = Vec::new();
    if dist.join("index.html").exists() {
        walk(&dist, &dist, &mut files);
    } else {
        println!("cargo:warning=web/dist is missing: the firmware serves a placeholder page");
        let page = out.join("placeholder.html");
        fs::write(&page, PLACEHOLDER).unwrap();
        files.push(("/index.html".to_string(), page));
    }
    files.sort();

    let mut table = String::from("pub static ASSETS: &[portico::assets::Asset] = &[\n");
    for (i, (url, path)) in files.iter().enumerate() {
        let data = fs::read(path).unwrap();
        let tag = fnv1a(&data);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&data).unwrap();
        let gz = gz.finish().unwrap();
        // Flash is the budget: when gzip is smaller only the gzip bytes are embedded
        // (every browser accepts gzip; `app.rs` answers 406 to a client that does not).
        let (identity, gzip) = if gz.len() < data.len() {
            let p = out.join(format!("asset{i}.gz"));
            fs::write(&p, &gz).unwrap();
            (
                "&[]".to_string(),
                format!("Some(include_bytes!({:?}))", p.display().to_string()),
            )
        } else {
            (
                format!("include_bytes!({:?})", path.display().to_string()),
                "None".into(),
            )
        };
        table.push_str(&format!(
            "    portico::assets::Asset {{ path: {url:?}, content_type: {ct:?}, identity: {identity}, gzip: {gzip}, etag: \"\\\"{tag:016x}\\\"\", etag_gzip: \"\\\"{tag:016x}-gz\\\"\", immutable: {imm} }},\n",
            ct = content_type(url),
            imm = url.starts_with("/assets/"),
        ));
    }
    table.push_str("];\n");
    fs::write(out.join("assets.rs"), table).unwrap();
}

const PLACEHOLDER: &str =
    "<!doctype html><html><head><meta charset=utf-8><title>Portico</title></head>\
<body><h1>Portico device</h1><p>The dashboard was not built into this firmware; see \
<a href=\"/api/status\">/api/status</a>.</p></body></html>\n";

fn walk(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    for e in fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(root, &p, files);
        } else {
            let rel = p
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            files.push((format!("/{rel}"), p));
        }
    }
}

fn content_type(url: &str) -> &'static str {
    match url.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "json" => "application/json",
        "ico" => "image/x-icon",
        "png" => "image/png",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
