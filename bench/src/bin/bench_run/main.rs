//! Runs Portico's provider, picoserve and nginx side by side and prints one table.
//!
//! Called by `scripts/bench.sh`, which installs nginx and wrk and builds the binaries.
//! Every server runs alone, pinned to one core (wrk on the other), on loopback, serving
//! byte-identical files (the provider's own embedded page and assets, fetched from it
//! without `Accept-Encoding`) with a 30 s keep-alive timeout.

mod assets;
mod idle_rss;
mod machine;
mod newcomer_runs;
mod report;
mod servers;
mod throughput;

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use clap::Parser;
use portico_bench::stats;
use serde_json::Value;

use crate::assets::{collect_assets, nearest, Asset};
use crate::idle_rss::{idle_rss, Idle};
use crate::machine::loadavg;
use crate::newcomer_runs::{newcomer_runs, Newcomer};
use crate::report::{fmt_int, ms, record, render};
use crate::servers::{Kind, KINDS, PORTICO_ESP_IDF};
use crate::throughput::{throughput, Wrk};

#[derive(Debug, Parser)]
#[command(about = "Portico's provider vs picoserve vs nginx, side by side")]
struct Args {
    /// The provider binary (release build).
    #[arg(long)]
    provider: PathBuf,
    /// The pico-server binary (release build).
    #[arg(long)]
    pico: PathBuf,
    /// nginx.
    #[arg(long, default_value = "/usr/sbin/nginx")]
    nginx: PathBuf,
    /// wrk.
    #[arg(long, default_value = "wrk")]
    wrk: PathBuf,
    /// Seconds of each measured wrk run.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Seconds of wrk warm-up before each measured run.
    #[arg(long, default_value_t = 1)]
    warmup: u64,
    /// Measured runs per server and file, interleaved; the best is reported (other
    /// tenants of a shared machine only ever make a run slower).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// wrk connections.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// wrk threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Idle keep-alive connections for the RSS measure.
    #[arg(long, default_value_t = 500)]
    idle: usize,
    /// Most repetitions of the newcomer scenario per server.
    #[arg(long, default_value_t = 20)]
    reps: usize,
    /// Seconds after which a server's newcomer repetitions stop (once 3 are done).
    #[arg(long, default_value_t = 20)]
    rep_budget: u64,
    /// Core for the server under test (empty: no pinning).
    #[arg(long, default_value = "0")]
    server_cpu: String,
    /// Core for the load generator.
    #[arg(long, default_value = "1")]
    client_cpu: String,
    /// Sections to run (throughput, idle, newcomer); all when empty.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Working directory for files, configs, logs and the results.
    #[arg(long, default_value = "target/bench")]
    out: PathBuf,
    /// Markdown file whose results section to replace with this run's table.
    #[arg(long)]
    record: Option<PathBuf>,
    /// The command line to quote in the recorded results.
    #[arg(long, default_value = "scripts/bench.sh")]
    command: String,
}

struct Ctx {
    args: Args,
    /// `/proc/loadavg` when the run began.
    load_at_start: String,
    tmp: PathBuf,
    docroot: PathBuf,
    pin: bool,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-run: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    let tmp = args.out.join("run");
    let _ = fs::remove_dir_all(&tmp);
    let docroot = tmp.join("www");
    fs::create_dir_all(&docroot).map_err(|e| format!("{}: {e}", docroot.display()))?;
    let tmp = fs::canonicalize(&tmp).map_err(|e| e.to_string())?;
    let docroot = fs::canonicalize(&docroot).map_err(|e| e.to_string())?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pin = cores >= 2
        && !args.server_cpu.is_empty()
        && Command::new("taskset").arg("-V").output().is_ok();
    let ctx = Ctx {
        args,
        load_at_start: loadavg(),
        tmp,
        docroot,
        pin,
    };
    let want = |s: &str| ctx.args.only.is_empty() || ctx.args.only.iter().any(|o| o == s);
    let t_start = Instant::now();

    eprintln!("== files: the provider's page and assets, identity");
    let assets = collect_assets(&ctx)?;
    for a in &assets {
        eprintln!("   {:>7} B  {}", a.bytes.len(), a.path);
    }
    let small = nearest(&assets, 2048.0);
    let large = nearest(&assets, 60.0 * 1024.0);
    let paths: Vec<String> = assets.iter().map(|a| a.path.clone()).collect();

    let mut tput: Vec<(Asset, Vec<Result<Wrk, String>>)> = Vec::new();
    let mut all_runs: Vec<String> = Vec::new();
    if want("throughput") {
        let files = [&small, &large];
        // runs[file][server]: every round's result.
        let mut runs: Vec<Vec<Vec<Result<Wrk, String>>>> = vec![vec![Vec::new(); 3]; 2];
        for round in 0..ctx.args.rounds.max(1) {
            // Alternate the order, so no server always runs first or last.
            let order: Vec<usize> = if round % 2 == 0 {
                vec![0, 1, 2]
            } else {
                vec![2, 1, 0]
            };
            for (f, a) in files.iter().enumerate() {
                for &k in &order {
                    let kind = KINDS[k];
                    eprintln!(
                        "== throughput, round {}: {} B {} on {}",
                        round + 1,
                        a.bytes.len(),
                        a.url,
                        kind.name()
                    );
                    let w = throughput(&ctx, kind, a);
                    match &w {
                        Ok(w) => {
                            let line = format!(
                                "{} B, {}, round {}: {} req/s, p50 {}, p99 {}, server CPU {:.0} %, steal {:.0} %, {} TCP retransmits{}",
                                a.bytes.len(),
                                kind.name(),
                                round + 1,
                                fmt_int(w.rps),
                                ms(w.p50_ms),
                                ms(w.p99_ms),
                                w.server_cpu,
                                w.steal,
                                w.retrans,
                                if w.note.is_empty() { String::new() } else { format!(", {}", w.note) }
                            );
                            eprintln!("   {line}");
                            all_runs.push(line);
                        }
                        Err(e) => eprintln!("   failed: {e}"),
                    }
                    runs[f][k].push(w);
                }
            }
        }
        for (f, a) in files.iter().enumerate() {
            let row = runs[f]
                .iter()
                .map(|rs| {
                    let best = rs
                        .iter()
                        .filter_map(|r| r.as_ref().ok())
                        .max_by(|x, y| x.rps.total_cmp(&y.rps))
                        .cloned();
                    best.ok_or_else(|| {
                        rs.iter()
                            .find_map(|r| r.as_ref().err().cloned())
                            .unwrap_or_else(|| "no run".into())
                    })
                })
                .collect();
            tput.push(((*a).clone(), row));
        }
    }

    let mut idles: Vec<Result<Idle, String>> = Vec::new();
    let mut pico_sizes = Value::Null;
    if want("idle") {
        for k in KINDS {
            eprintln!(
                "== RSS: {} idle keep-alive connections on {}",
                ctx.args.idle,
                k.name()
            );
            let r = idle_rss(&ctx, k, &small);
            match &r {
                Ok(i) => eprintln!(
                    "   VmRSS {} → {} B: {:.0} B per connection, {} closed by the server {}",
                    i.before, i.after, i.per_conn, i.closed, i.note
                ),
                Err(e) => eprintln!("   failed: {e}"),
            }
            idles.push(r);
        }
        pico_sizes = Command::new(&ctx.args.pico)
            .args(["--print-sizes", "--bind", "127.0.0.1:0"])
            .output()
            .ok()
            .and_then(|o| serde_json::from_slice(&o.stdout).ok())
            .unwrap_or(Value::Null);
    }

    let mut newcomers: Vec<Result<Newcomer, String>> = Vec::new();
    if want("newcomer") {
        let configs: [(&str, Kind, &[&str]); 4] = [
            ("Portico, default limits", Kind::Portico, &[]),
            ("Portico, ESP-IDF defaults (`--max-sockets 7 --no-lru-purge --idle-timeout-ms 60000`)", Kind::Portico, PORTICO_ESP_IDF),
            ("picoserve", Kind::Pico, &[]),
            ("nginx", Kind::Nginx, &[]),
        ];
        for (label, kind, extra) in configs {
            eprintln!("== newcomer: {label}");
            let r = newcomer_runs(&ctx, label, kind, extra, &paths);
            match &r {
                Ok(n) => eprintln!(
                    "   loaded {}/{}, median {}, errors: {:?}",
                    n.loaded,
                    n.reps,
                    ms(stats::median(&n.times_ms)),
                    n.errors.iter().take(3).collect::<Vec<_>>()
                ),
                Err(e) => eprintln!("   failed: {e}"),
            }
            newcomers.push(r);
        }
    }

    let report = render(
        &ctx,
        &assets,
        &small,
        &large,
        &tput,
        &idles,
        &pico_sizes,
        &newcomers,
        t_start,
    );
    println!("{report}");
    let path = ctx.args.out.join("results.md");
    fs::write(&path, &report).map_err(|e| format!("{}: {e}", path.display()))?;
    let path = ctx.args.out.join("runs.txt");
    fs::write(&path, all_runs.join("\n") + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("(written to {})", path.display());
    if let Some(doc) = &ctx.args.record {
        record(doc, &report)?;
        eprintln!("(recorded in {})", doc.display());
    }
    Ok(())
}
