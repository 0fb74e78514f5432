//! Embeds the dashboard from `../web/dist` (gzip-compressed where that is smaller) as a
//! `portico::assets::Asset` table, passes Wi-Fi credentials through from the
//! environment at build time, and turns `PORTICO_PASSWORD` into its hash and
//! `PORTICO_MDNS_NAME` into the device's names (`identity.rs`).

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=PORTICO_WIFI_SSID");
    println!("cargo:rerun-if-env-changed=PORTICO_WIFI_PASSWORD");
    println!("cargo:rerun-if-env-changed=PORTICO_UPSTREAM");
    println!("cargo:rerun-if-env-changed=PORTICO_UPSTREAM_CA");
    println!("cargo:rerun-if-env-changed=PORTICO_PASSWORD");
    println!("cargo:rerun-if-env-changed=PORTICO_MDNS_NAME");
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let dist = manifest.join("../web/dist");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    upstream_ca(&out);
    identity(&out);
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
/// so the dashboard may grow to twice that and more, while the TLS build stays well
/// under the 1 MiB app partition. Past it the build fails, naming the largest files.
const DASHBOARD_BUDGET: usize = 64 * 1024;

/// The CAs a `wss://` upstream is checked against (feature `tls`): the DER or PEM file
/// named by `PORTICO_UPSTREAM_CA` (a PEM bundle may hold several), written as DER to
/// `upstream_ca.der` (empty without one: the link then refuses `wss://`, it never trusts
/// blindly).
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

/// The device's mDNS name and the `Host` names it answers to, and the hash of its
/// password: `identity.rs`, included by `src/identity.rs`.
///
/// The password is hashed here (PBKDF2-HMAC-SHA256 under a salt from the build machine's
/// random source, the core's own function), so the image holds only the salt, the
/// iteration count and the hash — never the text. Its session key is drawn at each boot.
fn identity(out: &std::path::Path) {
    let name = std::env::var("PORTICO_MDNS_NAME").unwrap_or_default();
    let name = if name.is_empty() {
        "portico".to_string()
    } else {
        name
    };
    // One DNS label (RFC 1035 §2.3.4, RFC 6762 §16): what `NAME.local` can carry.
    if name.len() > 63
        || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        || name.starts_with('-')
    {
        panic!("PORTICO_MDNS_NAME must be one DNS label (letters, digits, '-'; at most 63), got {name:?}");
    }
    let mut rs = format!(
        "/// The name answered by mDNS: `{name}.local`.\n\
         pub const MDNS_NAME: &str = {name:?};\n\
         /// `Host` names answered besides IP literals.\n\
         pub const HOST_NAMES: &[&str] = &[\"localhost\", \"{name}.local\"];\n"
    );
    let password = std::env::var("PORTICO_PASSWORD").unwrap_or_default();
    let auth = std::env::var_os("CARGO_FEATURE_AUTH").is_some();
    if !password.is_empty() && !auth {
        panic!("PORTICO_PASSWORD is set but the `auth` feature is off: build with `--features auth`, or the device would be open");
    }
    if password.is_empty() {
        if auth {
            println!(
                "cargo:warning=feature `auth` without PORTICO_PASSWORD: the dashboard stays open"
            );
        }
        rs.push_str("/// No password was given at build time.\npub const PASSWORD: Option<portico::guard::PasswordHash> = None;\n");
    } else {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).expect("random bytes for the password's salt");
        let iterations = portico::guard::password::DEFAULT_ITERATIONS;
        let h = portico::guard::PasswordHash::new(password.as_bytes(), salt, iterations);
        rs.push_str(&format!(
            "/// The hash of `PORTICO_PASSWORD` (the text is not in the image).\n\
             pub const PASSWORD: Option<portico::guard::PasswordHash> = \
             Some(portico::guard::PasswordHash {{ salt: {:?}, iterations: {}, hash: {:?} }});\n",
            h.salt, h.iterations, h.hash
        ));
    }
    std::fs::write(out.join("identity.rs"), rs).expect("writing identity.rs");
}

/// Every certificate of a PEM file, DER, one after the other (a bundle: the device's
/// verifier tries each), or `None` if `bytes` is not PEM.
fn pem_to_der(bytes: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let text = std::str::from_utf8(bytes).ok()?;
    let mut der = Vec::new();
    for block in text.split("-----BEGIN CERTIFICATE-----").skip(1) {
        let body = block.split("-----END CERTIFICATE-----").next()?;
        let b64: String = body.split_whitespace().collect();
        der.extend(base64::engine::general_purpose::STANDARD.decode(b64).ok()?);
    }
    (!der.is_empty()).then_some(der)
}

const PLACEHOLDER: &str =
    "<!doctype html><html><head><meta charset=utf-8><title>Portico</title></head>\
<body><h1>Portico device</h1><p>The dashboard was not built into this firmware; see \
<a href=\"/api/status\">/api/status</a>.</p></body></html>\n";
