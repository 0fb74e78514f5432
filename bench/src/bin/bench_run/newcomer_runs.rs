//! The newcomer scenario (`portico_bench::newcomer`) repeated against each server.

use std::time::{Duration, Instant};

use portico_bench::newcomer;

use crate::servers::{start, Kind};
use crate::Ctx;

#[derive(Debug, Clone, Default)]
pub(crate) struct Newcomer {
    pub(crate) label: String,
    pub(crate) reps: usize,
    pub(crate) loaded: usize,
    pub(crate) times_ms: Vec<f64>,
    pub(crate) ten_ok: Vec<f64>,
    pub(crate) ten_total: usize,
    pub(crate) ten_open: Vec<f64>,
    pub(crate) errors: Vec<String>,
}

pub(crate) fn newcomer_runs(
    ctx: &Ctx,
    label: &str,
    kind: Kind,
    extra: &[&str],
    paths: &[String],
) -> Result<Newcomer, String> {
    let mut r = Newcomer {
        label: label.to_string(),
        ..Newcomer::default()
    };
    let t0 = Instant::now();
    while r.reps < ctx.args.reps
        && (r.reps < 3 || t0.elapsed() < Duration::from_secs(ctx.args.rep_budget))
    {
        // A fresh server each time: nothing left over from the last repetition.
        let s = start(ctx, kind, extra)?;
        let o = newcomer::run(&newcomer::Scenario::new(s.addr, paths.to_vec()));
        drop(s);
        r.reps += 1;
        r.ten_total = o.ten_total;
        r.ten_ok.push(o.ten_ok as f64);
        r.ten_open.push(o.ten_open as f64);
        if o.loaded {
            r.loaded += 1;
            r.times_ms.push(o.elapsed.as_secs_f64() * 1e3);
        } else {
            r.errors.extend(o.errors);
        }
    }
    Ok(r)
}
