//! Memory per idle keep-alive connection: RSS before and after opening many.

use std::time::{Duration, Instant};

use portico_bench::client;
use portico_bench::{idle, procfs};
use serde_json::Value;

use crate::assets::Asset;
use crate::servers::{api, start, Kind, PORTICO_PARITY};
use crate::Ctx;

#[derive(Debug, Clone, Default)]
pub(crate) struct Idle {
    pub(crate) per_conn: f64,
    pub(crate) before: u64,
    pub(crate) after: u64,
    pub(crate) closed: usize,
    /// Portico: accounted internal RAM per idle connection and in all.
    pub(crate) accounted_per_conn: Option<f64>,
    pub(crate) note: String,
}

pub(crate) fn idle_rss(ctx: &Ctx, kind: Kind, a: &Asset) -> Result<Idle, String> {
    let n = ctx.args.idle;
    let cap = (n + 100).to_string();
    let stack = (n + 100 + 8).to_string();
    let mut extra: Vec<&str> = Vec::new();
    if kind == Kind::Portico {
        extra.extend(PORTICO_PARITY);
        extra.extend(["--max-sockets", &cap, "--stack-sockets", &stack]);
    }
    let s = start(ctx, kind, &extra)?;
    // Warm up: one connection, a few requests, closed again.
    {
        let mut c =
            client::connect(s.addr, None, Duration::from_secs(5)).map_err(|e| e.to_string())?;
        for _ in 0..20 {
            client::get(&mut c, &a.url, Instant::now() + Duration::from_secs(5))
                .map_err(|e| e.to_string())?;
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    let mem0 = (kind == Kind::Portico).then(|| api(s.addr, "/api/memory"));
    std::thread::sleep(Duration::from_millis(200));
    let before = procfs::rss_bytes(s.pid).ok_or("no VmRSS")?;
    let conns = idle::open_idle(s.addr, None, n, &a.url)
        .map_err(|(i, e)| format!("{}: idle connection {i}: {e}", kind.name()))?;
    std::thread::sleep(Duration::from_millis(1000));
    let after = procfs::rss_bytes(s.pid).ok_or("no VmRSS")?;
    let closed = idle::closed_by_server(&conns);
    let mut out = Idle {
        per_conn: (after as f64 - before as f64) / n as f64,
        before,
        after,
        closed,
        ..Idle::default()
    };
    if let Some(mem0) = mem0 {
        let mem1 = api(s.addr, "/api/memory");
        let used = |m: &Value| m["regions"][0]["used"].as_f64().unwrap_or(f64::NAN);
        out.accounted_per_conn = Some((used(&mem1) - used(&mem0)) / n as f64);
        let c = api(s.addr, "/api/connections");
        out.note = format!(
            "open {} of cap {}, internal RAM used {} → {} B",
            c["open"],
            c["cap"],
            used(&mem0),
            used(&mem1)
        );
    }
    drop(conns);
    Ok(out)
}
