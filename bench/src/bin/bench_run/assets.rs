//! The files every server serves: the provider's page and assets fetched without
//! `Accept-Encoding`, and the check that a server sends exactly those bytes.

use std::fs;
use std::time::Duration;

use portico_bench::client::{self, Response};

use crate::servers::{start, Kind, Server, PORTICO_PARITY};
use crate::Ctx;

/// One file of the page.
#[derive(Debug, Clone)]
pub(crate) struct Asset {
    /// The path as the page names it (`/` for the page).
    pub(crate) path: String,
    /// The path wrk asks for (`/index.html` for the page: no index redirect anywhere).
    pub(crate) url: String,
    pub(crate) bytes: Vec<u8>,
}

/// Fetches the page and its assets from the provider (identity) into the docroot.
pub(crate) fn collect_assets(ctx: &Ctx) -> Result<Vec<Asset>, String> {
    let p = start(ctx, Kind::Portico, PORTICO_PARITY)?;
    let index =
        client::get_once(p.addr, "/", Duration::from_secs(5)).map_err(|e| format!("GET /: {e}"))?;
    let paths = client::page_paths(&String::from_utf8_lossy(&index.body));
    let mut assets = Vec::new();
    for path in paths {
        let r = client::get_once(p.addr, &path, Duration::from_secs(5))
            .map_err(|e| format!("GET {path}: {e}"))?;
        if r.status != 200 || r.header("content-encoding").is_some() {
            return Err(format!(
                "GET {path}: status {} (want identity 200)",
                r.status
            ));
        }
        let url = if path == "/" {
            "/index.html".to_string()
        } else {
            path.clone()
        };
        let file = ctx.docroot.join(url.trim_start_matches('/'));
        if let Some(d) = file.parent() {
            fs::create_dir_all(d).map_err(|e| e.to_string())?;
        }
        fs::write(&file, &r.body).map_err(|e| e.to_string())?;
        assets.push(Asset {
            path,
            url,
            bytes: r.body,
        });
    }
    Ok(assets)
}

/// The asset whose size is nearest `want` (on a log scale).
pub(crate) fn nearest(assets: &[Asset], want: f64) -> Asset {
    assets
        .iter()
        .min_by(|a, b| {
            let d = |x: &Asset| (x.bytes.len().max(1) as f64 / want).ln().abs();
            d(a).total_cmp(&d(b))
        })
        .expect("at least one asset")
        .clone()
}

/// Checks a server sends exactly the file, and returns its response.
pub(crate) fn verify(s: &Server, a: &Asset) -> Result<Response, String> {
    let r = client::get_once(s.addr, &a.url, Duration::from_secs(5))
        .map_err(|e| format!("{} GET {}: {e}", s.kind.name(), a.url))?;
    if r.status != 200 || r.body != a.bytes {
        return Err(format!(
            "{} GET {}: status {}, {} bytes, expected the {} bytes of the provider's file",
            s.kind.name(),
            a.url,
            r.status,
            r.body.len(),
            a.bytes.len()
        ));
    }
    Ok(r)
}
