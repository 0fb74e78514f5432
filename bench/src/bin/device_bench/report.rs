//! The table: each figure's median and range per server over the rounds, and the ratio
//! Portico ÷ picoserve taken per round (Portico's run against the picoserve run right
//! after it), its median and range; counts (failed requests, pages loaded) as totals
//! with each run's value, their ratio of the totals.

use std::fmt::Write;

use portico_bench::stats::median;
use portico_tap::profile::Profile;

use crate::scenarios::{Crowd, Loads, Newcomers};
use crate::servers::Kind;

/// One server's run.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub(crate) kind: Kind,
    pub(crate) round: usize,
    pub(crate) loads: Loads,
    pub(crate) newcomers: Newcomers,
    pub(crate) crowd: Crowd,
    /// `VmRSS` once started, `VmHWM` after the crowd.
    pub(crate) rss_idle: u64,
    pub(crate) rss_peak: u64,
    /// `RssAnon` once started and after the crowd.
    pub(crate) anon_idle: u64,
    pub(crate) anon_end: u64,
    /// The server's CPU time per second of wall time before any client came.
    pub(crate) cpu_idle: f64,
    /// The server's CPU seconds per page loaded during the page loads.
    pub(crate) cpu_per_load: f64,
}

impl Run {
    /// One line for the progress log.
    pub(crate) fn line(&self) -> String {
        let first = |e: &[String]| e.first().cloned().unwrap_or_default();
        format!(
            "{:.1} loads/s ({:.2} ms CPU each, {} failed{}), idle CPU {:.0} %, newcomer {}/{}{}, crowd {} loaded, {} of {} requests failed{}, loaded pages' p50 {:.0} ms p99 {:.0} ms, RSS {} KiB (anon {}) → peak {} KiB (anon {})",
            self.loads.per_second,
            self.cpu_per_load * 1e3,
            self.loads.failed,
            opt(first(&self.loads.errors)),
            self.cpu_idle * 100.0,
            self.newcomers.loaded,
            self.newcomers.reps,
            opt(first(&self.newcomers.errors)),
            self.crowd.loaded,
            self.crowd.failed,
            self.crowd.requests,
            opt(first(&self.crowd.errors)),
            self.crowd.p50.map_or(f64::NAN, |d| d.as_secs_f64() * 1e3),
            self.crowd.p99.map_or(f64::NAN, |d| d.as_secs_f64() * 1e3),
            self.rss_idle / 1024,
            self.anon_idle / 1024,
            self.rss_peak / 1024,
            self.anon_end / 1024,
        )
    }
}

fn opt(e: String) -> String {
    if e.is_empty() {
        e
    } else {
        format!(": {e}")
    }
}

/// What was run (for the table's heading).
pub(crate) struct Setup<'a> {
    pub(crate) command: &'a str,
    pub(crate) profile: Profile,
    pub(crate) browsers: usize,
    pub(crate) duration: u64,
    pub(crate) newcomer_reps: usize,
    pub(crate) crowd: usize,
    pub(crate) crowd_poll: u64,
    pub(crate) files: usize,
    pub(crate) bytes: u64,
    pub(crate) link: String,
}

/// One figure of a run.
struct Row {
    name: String,
    figure: fn(&Run) -> f64,
    /// Decimals shown.
    places: usize,
    /// A count (failed requests, pages loaded): shown as the total over the rounds with
    /// each run's value, its ratio taken of the totals (a count is often 0 in some
    /// runs, where a per-round ratio has no value).
    count: bool,
}

pub(crate) fn table(runs: &[Run], s: &Setup) -> String {
    let p = s.profile;
    let rows = [
        Row {
            name: format!(
                "page loads / s ({} browsers × 6 conns, {} s)",
                s.browsers, s.duration
            ),
            figure: |r| r.loads.per_second,
            count: false,
            places: 1,
        },
        Row {
            name: "server CPU per page load (ms)".into(),
            figure: |r| r.cpu_per_load * 1e3,
            count: false,
            places: 2,
        },
        Row {
            name: "server CPU with no client (% of a core)".into(),
            figure: |r| r.cpu_idle * 100.0,
            count: false,
            places: 0,
        },
        Row {
            name: "failed requests during those loads".into(),
            figure: |r| r.loads.failed as f64,
            count: true,
            places: 0,
        },
        Row {
            name: format!(
                "newcomer loaded (of {} per run; 10 browsers × 6 idle keep-alives first)",
                s.newcomer_reps
            ),
            figure: |r| r.newcomers.loaded as f64,
            count: true,
            places: 0,
        },
        Row {
            name: format!(
                "crowd of {} at once: failed requests (load + {} s of polls)",
                s.crowd, s.crowd_poll
            ),
            figure: |r| r.crowd.failed as f64,
            count: true,
            places: 0,
        },
        Row {
            name: format!("crowd: pages loaded fully (of {})", s.crowd),
            figure: |r| r.crowd.loaded as f64,
            count: true,
            places: 0,
        },
        Row {
            name: "crowd: page-load p50 of the pages loaded (ms)".into(),
            figure: |r| r.crowd.p50.map_or(f64::NAN, |d| d.as_secs_f64() * 1e3),
            count: false,
            places: 0,
        },
        Row {
            name: "crowd: page-load p99 of the pages loaded (ms)".into(),
            figure: |r| r.crowd.p99.map_or(f64::NAN, |d| d.as_secs_f64() * 1e3),
            count: false,
            places: 0,
        },
        Row {
            name: "RSS after start (KiB)".into(),
            figure: |r| r.rss_idle as f64 / 1024.0,
            count: false,
            places: 0,
        },
        Row {
            name: "anonymous RSS after start (KiB)".into(),
            figure: |r| r.anon_idle as f64 / 1024.0,
            count: false,
            places: 0,
        },
        Row {
            name: "anonymous RSS after the crowd (KiB)".into(),
            figure: |r| r.anon_end as f64 / 1024.0,
            count: false,
            places: 0,
        },
        Row {
            name: "peak RSS (KiB)".into(),
            figure: |r| r.rss_peak as f64 / 1024.0,
            count: false,
            places: 0,
        },
    ];
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Profile {}: {} HTTP sockets ({} admitted by Portico), socket buffers {} B rx + {} B tx, request buffers {} B ({} pooled in Portico, one per task in picoserve). Page: {} files, {} B, plus /api/status. Link: {}. {} rounds, Portico then picoserve each.\n",
        p.name,
        p.sockets,
        p.cap,
        p.rx,
        p.tx,
        p.chunk_size,
        p.chunks,
        s.files - 1,
        s.bytes,
        s.link,
        runs.len() / 2
    );
    let kib = |b: usize| b as f64 / 1024.0;
    let _ = writeln!(
        out,
        "Buffers by design: Portico {} × {} B socket buffers + {} × {} B pool = {:.0} KiB; picoserve {} × ({} + {}) B = {:.0} KiB.\n",
        p.sockets,
        p.rx + p.tx,
        p.chunks,
        p.chunk_size,
        kib(p.socket_bytes() + p.pool_bytes()),
        p.sockets,
        p.rx + p.tx,
        p.chunk_size,
        kib(p.sockets * (p.rx + p.tx + p.chunk_size)),
    );
    let _ = writeln!(out, "`{}`\n", s.command);
    let _ = writeln!(
        out,
        "| figure | Portico, median [range] | picoserve, median [range] | Portico ÷ picoserve, median [range] |"
    );
    let _ = writeln!(out, "|---|---|---|---|");
    let rounds = runs.len() / 2;
    for row in &rows {
        // A run without the figure (no page of the crowd loaded) is left out.
        let of = |k: Kind| -> Vec<f64> {
            runs.iter()
                .filter(|r| r.kind == k)
                .map(row.figure)
                .filter(|v| !v.is_nan())
                .collect()
        };
        let (a, b) = (of(Kind::Portico), of(Kind::Pico));
        let (cell_a, cell_b, ratio) = if row.count {
            let (ta, tb) = (a.iter().sum::<f64>(), b.iter().sum::<f64>());
            let ratio = if tb > 0.0 {
                format!("{:.2}× (of the totals)", ta / tb)
            } else {
                "— (picoserve 0)".to_string()
            };
            (counts(&a), counts(&b), ratio)
        } else {
            // Ratios pair each round's two runs.
            let ratios: Vec<f64> = runs
                .iter()
                .filter(|r| r.kind == Kind::Portico)
                .filter_map(|ra| {
                    let rb = runs
                        .iter()
                        .find(|r| r.kind == Kind::Pico && r.round == ra.round)?;
                    let (x, y) = ((row.figure)(ra), (row.figure)(rb));
                    (y != 0.0 && !x.is_nan() && !y.is_nan()).then_some(x / y)
                })
                .collect();
            let ratio = if ratios.is_empty() {
                "—".to_string()
            } else {
                let rounds = if ratios.len() < rounds {
                    format!(" ({} of {rounds} rounds)", ratios.len())
                } else {
                    String::new()
                };
                format!("{:.2}× {}{rounds}", median(&ratios), range(&ratios, 2, "×"))
            };
            let cell = |v: &[f64]| match v.len() {
                0 => "—".to_string(),
                n if n < rounds => format!(
                    "{} {} ({n} of {rounds} runs)",
                    fmt(median(v), row.places),
                    range(v, row.places, "")
                ),
                _ => format!(
                    "{} {}",
                    fmt(median(v), row.places),
                    range(v, row.places, "")
                ),
            };
            (cell(&a), cell(&b), ratio)
        };
        let _ = writeln!(out, "| {} | {cell_a} | {cell_b} | {ratio} |", row.name);
    }
    out
}

/// A count over the rounds: the total, then each run's value.
fn counts(v: &[f64]) -> String {
    let each: Vec<String> = v.iter().map(|x| fmt(*x, 0)).collect();
    format!("{} ({})", fmt(v.iter().sum(), 0), each.join(", "))
}

fn fmt(v: f64, places: usize) -> String {
    format!("{v:.places$}")
}

fn range(v: &[f64], places: usize, unit: &str) -> String {
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("[{}{unit}–{}{unit}]", fmt(lo, places), fmt(hi, places))
}
