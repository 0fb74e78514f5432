//! The results as a Markdown table of ratios, and its place in BENCHMARKS.md.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use portico_bench::stats;
use serde_json::Value;

use crate::assets::Asset;
use crate::idle_rss::Idle;
use crate::machine::{loadavg, machine, now_utc, version};
use crate::newcomer_runs::Newcomer;
use crate::servers::KINDS;
use crate::throughput::Wrk;
use crate::Ctx;

pub(crate) fn fmt_int(v: f64) -> String {
    if !v.is_finite() {
        return "—".into();
    }
    let s = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if v < 0.0 {
        format!("−{out}")
    } else {
        out
    }
}

pub(crate) fn ratio(a: f64, b: f64) -> String {
    if a.is_finite() && b.is_finite() && b != 0.0 {
        format!("{:.2}×", a / b)
    } else {
        "—".into()
    }
}

pub(crate) fn ms(v: f64) -> String {
    if !v.is_finite() {
        "—".into()
    } else if v < 10.0 {
        format!("{v:.2} ms")
    } else {
        format!("{v:.1} ms")
    }
}

pub(crate) const START: &str = "<!-- bench-results:start -->";
pub(crate) const END: &str = "<!-- bench-results:end -->";

pub(crate) fn record(doc: &Path, report: &str) -> Result<(), String> {
    let old = fs::read_to_string(doc).unwrap_or_default();
    let block = format!("{START}\n{report}\n{END}");
    let new = match (old.find(START), old.find(END)) {
        (Some(s), Some(e)) if e > s => format!("{}{block}{}", &old[..s], &old[e + END.len()..]),
        _ => format!("{old}\n## Latest results\n\n{block}\n"),
    };
    fs::write(doc, new).map_err(|e| format!("{}: {e}", doc.display()))
}

pub(crate) fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**missed**"
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn render(
    ctx: &Ctx,
    assets: &[Asset],
    small: &Asset,
    large: &Asset,
    tput: &[(Asset, Vec<Result<Wrk, String>>)],
    idles: &[Result<Idle, String>],
    pico_sizes: &Value,
    newcomers: &[Result<Newcomer, String>],
    t_start: Instant,
) -> String {
    let a = &ctx.args;
    let mut s = String::new();
    let _ = writeln!(s, "Run of {} on {}.", now_utc(), machine());
    let _ = writeln!(
        s,
        "Command: `{}` ({} s). Load average (1 min) at start {}, at end {}: other tenants share the cores.",
        a.command,
        t_start.elapsed().as_secs(),
        ctx.load_at_start,
        loadavg()
    );
    let _ = writeln!(
        s,
        "Peers: picoserve 0.20.1 (tokio current-thread, keep-alive, 30 s idle, TCP_NODELAY, 2048 B buffer); {} (1 worker, keepalive_timeout 30s, access_log off, sendfile, tcp_nopush, open_file_cache); load: {}. Servers pinned to CPU {}, load generator to CPU {}{}.",
        version(&a.nginx.display().to_string(), &["-v"]),
        version(&a.wrk.display().to_string(), &["-v"]).split(" [").next().unwrap_or("wrk"),
        if ctx.pin { a.server_cpu.as_str() } else { "—" },
        if ctx.pin { a.client_cpu.as_str() } else { "—" },
        if ctx.pin { "" } else { " (no pinning)" },
    );
    let files: Vec<String> = assets
        .iter()
        .map(|x| format!("`{}` {} B", x.url, x.bytes.len()))
        .collect();
    let _ = writeln!(
        s,
        "Files (the provider's embedded page, identity bytes, byte-identical copies for the peers): {}. Small = {} B (nearest to 2 KB), large = {} B (nearest to 60 KB).",
        files.join(", "),
        small.bytes.len(),
        large.bytes.len()
    );
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "| measure | Portico | picoserve | nginx | Portico ÷ picoserve | Portico ÷ nginx | target |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---|");
    let get = |r: &Result<Wrk, String>, f: fn(&Wrk) -> f64| r.as_ref().map_or(f64::NAN, f);
    for (asset, row) in tput {
        let n = asset.bytes.len();
        let rps: Vec<f64> = row.iter().map(|r| get(r, |w| w.rps)).collect();
        let p99: Vec<f64> = row.iter().map(|r| get(r, |w| w.p99_ms)).collect();
        let cpu: Vec<f64> = row.iter().map(|r| get(r, |w| w.server_cpu)).collect();
        let target = format!(
            "≥ 2× picoserve: {}; ≥ 0.7× nginx: {}",
            met(rps[0] >= 2.0 * rps[1]),
            met(rps[0] >= 0.7 * rps[2])
        );
        let _ = writeln!(
            s,
            "| req/s, {n} B, wrk -t{} -c{} -d{}s, best of {} | {} | {} | {} | {} | {} | {target} |",
            a.threads,
            a.connections,
            a.duration,
            a.rounds.max(1),
            fmt_int(rps[0]),
            fmt_int(rps[1]),
            fmt_int(rps[2]),
            ratio(rps[0], rps[1]),
            ratio(rps[0], rps[2]),
        );
        let _ = writeln!(
            s,
            "| p99 latency, {n} B | {} | {} | {} | {} | {} | lower is better |",
            ms(p99[0]),
            ms(p99[1]),
            ms(p99[2]),
            ratio(p99[0], p99[1]),
            ratio(p99[0], p99[2]),
        );
        let eff: Vec<f64> = rps
            .iter()
            .zip(&cpu)
            .map(|(r, c)| if *c > 0.0 { r * 100.0 / c } else { f64::NAN })
            .collect();
        let _ = writeln!(
            s,
            "| req per server CPU-second, {n} B (server CPU {:.0} / {:.0} / {:.0} % of its core) | {} | {} | {} | {} | {} | less sensitive to other tenants |",
            cpu[0],
            cpu[1],
            cpu[2],
            fmt_int(eff[0]),
            fmt_int(eff[1]),
            fmt_int(eff[2]),
            ratio(eff[0], eff[1]),
            ratio(eff[0], eff[2]),
        );
    }
    if !idles.is_empty() {
        let per: Vec<f64> = idles
            .iter()
            .map(|r| r.as_ref().map_or(f64::NAN, |i| i.per_conn))
            .collect();
        let _ = writeln!(
            s,
            "| RSS growth per idle keep-alive ({} connections, one request each) | {} B | {} B | {} B | {} | {} | ≤ 512 B: {} |",
            a.idle,
            fmt_int(per[0]),
            fmt_int(per[1]),
            fmt_int(per[2]),
            ratio(per[0], per[1]),
            ratio(per[0], per[2]),
            met(per[0] <= 512.0)
        );
        let base: Vec<f64> = idles
            .iter()
            .map(|r| r.as_ref().map_or(f64::NAN, |i| i.before as f64))
            .collect();
        let _ = writeln!(
            s,
            "| RSS before (warm, no connection) | {} kB | {} kB | {} kB | {} | {} | |",
            fmt_int(base[0] / 1024.0),
            fmt_int(base[1] / 1024.0),
            fmt_int(base[2] / 1024.0),
            ratio(base[0], base[1]),
            ratio(base[0], base[2]),
        );
        let acc = idles
            .first()
            .and_then(|r| r.as_ref().ok())
            .and_then(|i| i.accounted_per_conn);
        let buf = pico_sizes["http_buffer"].as_f64().unwrap_or(f64::NAN);
        let fut = pico_sizes["connection_future"].as_f64().unwrap_or(f64::NAN);
        let chunk = 4096.0;
        if let Some(acc) = acc {
            let _ = writeln!(
                s,
                "| accounted RAM per idle connection | {} B (conn state, `/api/memory`) | {} B (connection future) | — | {} | | |",
                fmt_int(acc),
                fmt_int(fut),
                ratio(acc, fut)
            );
            let _ = writeln!(
                s,
                "| accounted RAM per active transfer | {} B ({} B pool chunk + {} B conn state) | {} B (future, incl. its {} B buffer) | — | {} | | |",
                fmt_int(chunk + acc),
                fmt_int(chunk),
                fmt_int(acc),
                fmt_int(fut),
                fmt_int(buf),
                ratio(chunk + acc, fut)
            );
        }
    }
    let mut failures = Vec::new();
    for (asset, row) in tput {
        for (k, r) in KINDS.iter().zip(row) {
            match r {
                Err(e) => failures.push(format!("{} {} B: {e}", k.name(), asset.bytes.len())),
                Ok(w) if w.socket_errors + w.non_2xx > 0 => failures.push(format!(
                    "{} {} B: {} socket errors, {} non-2xx",
                    k.name(),
                    asset.bytes.len(),
                    w.socket_errors,
                    w.non_2xx
                )),
                _ => {}
            }
        }
    }
    for (k, r) in KINDS.iter().zip(idles) {
        match r {
            Err(e) => failures.push(format!("{} idle: {e}", k.name())),
            Ok(i) if i.closed > 0 => failures.push(format!(
                "{} idle: {} of {} connections closed by the server during the measure",
                k.name(),
                i.closed,
                a.idle
            )),
            _ => {}
        }
    }
    let notes: Vec<String> = tput
        .iter()
        .filter_map(|(asset, row)| {
            let w = row.first()?.as_ref().ok()?;
            Some(format!(
                "{} B: {}; response heads {} / {} / {} B",
                asset.bytes.len(),
                w.note,
                w.head_len,
                row.get(1)
                    .and_then(|r| r.as_ref().ok())
                    .map_or(0, |w| w.head_len),
                row.get(2)
                    .and_then(|r| r.as_ref().ok())
                    .map_or(0, |w| w.head_len)
            ))
        })
        .chain(
            idles
                .first()
                .and_then(|r| r.as_ref().ok())
                .filter(|i| !i.note.is_empty())
                .map(|i| format!("idle: {}", i.note)),
        )
        .collect();
    if !notes.is_empty() {
        let _ = writeln!(s);
        let _ = writeln!(s, "Portico during the runs: {}.", notes.join("; "));
    }

    if !newcomers.is_empty() {
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "Newcomer: 10 browsers (own loopback addresses) × 6 keep-alive connections, each fetched one file; then an 11th loads `/` and, once it is in, its {} assets in parallel (5 s deadline). Fresh server per repetition.",
            assets.len().saturating_sub(1)
        );
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "| server | newcomer loaded | page load median | p99 | Portico default ÷ this (median) | the ten's requests answered (median) | the ten's connections not closed by the server | failures seen |"
        );
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---|");
        let base = newcomers
            .first()
            .and_then(|r| r.as_ref().ok())
            .map_or(f64::NAN, |n| stats::median(&n.times_ms));
        for r in newcomers {
            match r {
                Ok(n) => {
                    let times: Vec<Duration> = n
                        .times_ms
                        .iter()
                        .map(|t| Duration::from_secs_f64(t / 1e3))
                        .collect();
                    let med = stats::median(&n.times_ms);
                    let p99 = if times.is_empty() {
                        f64::NAN
                    } else {
                        stats::percentile(&times, 0.99).as_secs_f64() * 1e3
                    };
                    let mut errs: Vec<String> = Vec::new();
                    for e in &n.errors {
                        if !errs.contains(e) {
                            errs.push(e.clone());
                        }
                    }
                    let errs = if errs.is_empty() {
                        "none".to_string()
                    } else {
                        errs.into_iter().take(3).collect::<Vec<_>>().join("; ")
                    };
                    let _ = writeln!(
                        s,
                        "| {} | {}/{} ({:.0} %) | {} | {} | {} | {:.0}/{} | {:.0} | {} |",
                        n.label,
                        n.loaded,
                        n.reps,
                        100.0 * n.loaded as f64 / n.reps.max(1) as f64,
                        ms(med),
                        ms(p99),
                        ratio(base, med),
                        stats::median(&n.ten_ok),
                        n.ten_total,
                        stats::median(&n.ten_open),
                        errs
                    );
                }
                Err(e) => failures.push(format!("newcomer: {e}")),
            }
        }
    }
    if !failures.is_empty() {
        let _ = writeln!(s);
        let _ = writeln!(s, "Problems in this run:");
        for f in failures {
            let _ = writeln!(s, "- {f}");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting() {
        assert_eq!(fmt_int(66123.4), "66,123");
        assert_eq!(fmt_int(512.0), "512");
        assert_eq!(ratio(1.0, 2.0), "0.50×");
    }
}
