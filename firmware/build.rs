//! Embeds the dashboard from `../web/dist` (gzip-compressed where that is smaller) as a
//! `portico::assets::Asset` table, and passes Wi-Fi credentials through from the
//! environment at build time.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=PORTICO_WIFI_SSID");
    println!("cargo:rerun-if-env-changed=PORTICO_WIFI_PASSWORD");
    println!("cargo:rerun-if-env-changed=PORTICO_UPSTREAM");
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let dist = manifest.join("../web/dist");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    // Flash is the budget: when gzip is smaller only the gzip bytes are embedded (every
    // browser accepts gzip; a client that does not gets 406).
    portico_assets::embed(
        &dist,
        &out,
        portico_assets::Identity::OnlyWhenSmaller,
        PLACEHOLDER,
    )
    .expect("embedding web/dist");
}

const PLACEHOLDER: &str =
    "<!doctype html><html><head><meta charset=utf-8><title>Portico</title></head>\
<body><h1>Portico device</h1><p>The dashboard was not built into this firmware; see \
<a href=\"/api/status\">/api/status</a>.</p></body></html>\n";
