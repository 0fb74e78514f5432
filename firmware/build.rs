//! Embeds the dashboard from `../web/dist` (gzip-compressed where that is smaller) as a
//! `portico::assets::Asset` table, and passes Wi-Fi credentials through from the
//! environment at build time.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=PORTICO_WIFI_SSID");
    println!("cargo:rerun-if-env-changed=PORTICO_WIFI_PASSWORD");
    println!("cargo:rerun-if-env-changed=PORTICO_UPSTREAM");
    println!("cargo:rerun-if-env-changed=PORTICO_UPSTREAM_CA");
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let dist = manifest.join("../web/dist");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    upstream_ca(&out);
    // Flash is the budget: when gzip is smaller only the gzip bytes are embedded (every
    // browser accepts gzip; a client that does not gets 406). No SPA fallback: the
    // dashboard routes with `#/…`.
    portico_assets::Embed::new(&dist)
        .identity(portico_assets::Identity::OnlyWhenSmaller)
        .budget(DASHBOARD_BUDGET)
        .placeholder(PLACEHOLDER)
        .out_dir(&out)
        .write()
        .unwrap_or_else(|e| e.fail_build());
}

/// Flash for the dashboard's files: they take 28,681 B today (gzip only, 2026-11-30),
/// so the dashboard may grow to twice that and more, while the TLS build (809,904 B)
/// stays about 200 KB under the 1 MiB app partition. Past it the build fails, naming
/// the largest files.
const DASHBOARD_BUDGET: usize = 64 * 1024;

/// The CA a `wss://` upstream is checked against (feature `tls`): the DER or PEM file
/// named by `PORTICO_UPSTREAM_CA`, written as DER to `upstream_ca.der` (empty without
/// one: the link then refuses `wss://`, it never trusts blindly).
fn upstream_ca(out: &std::path::Path) {
    let der = match std::env::var("PORTICO_UPSTREAM_CA") {
        Ok(path) if !path.is_empty() => {
            println!("cargo:rerun-if-changed={path}");
            let bytes = std::fs::read(&path).expect("reading PORTICO_UPSTREAM_CA");
            pem_to_der(&bytes).unwrap_or(bytes)
        }
        _ => Vec::new(),
    };
    std::fs::write(out.join("upstream_ca.der"), der).expect("writing upstream_ca.der");
}

/// The first certificate of a PEM file, or `None` if `bytes` is not PEM.
fn pem_to_der(bytes: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let text = std::str::from_utf8(bytes).ok()?;
    let body = text
        .split("-----BEGIN CERTIFICATE-----")
        .nth(1)?
        .split("-----END CERTIFICATE-----")
        .next()?;
    let b64: String = body.split_whitespace().collect();
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

const PLACEHOLDER: &str =
    "<!doctype html><html><head><meta charset=utf-8><title>Portico</title></head>\
<body><h1>Portico device</h1><p>The dashboard was not built into this firmware; see \
<a href=\"/api/status\">/api/status</a>.</p></body></html>\n";
