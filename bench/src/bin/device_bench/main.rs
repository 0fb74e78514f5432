//! `device-bench`: Portico's device stack against picoserve on embassy-net, over the same
//! TAP with the same profile (sockets, socket buffers, request buffer size), run inside
//! the network namespace `scripts/bench-device.sh` makes. Each round starts Portico
//! (`provider --stack device`), measures it, stops it, then does the same for
//! picoserve (`pico-device`): A/B/A/B, so drift on a shared machine hits both alike.
//! Prints one table: each figure per server over the rounds (median and range; counts
//! as totals) and the ratio Portico ÷ picoserve.

mod report;
mod scenarios;
mod servers;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use portico_bench::{client, procfs};

use crate::report::Run;
use crate::scenarios::Sources;
use crate::servers::{start, Kind, Launch};

#[derive(Debug, Parser)]
#[command(
    about = "Portico's device stack vs picoserve on embassy-net over one TAP (run by scripts/bench-device.sh)"
)]
pub(crate) struct Args {
    /// The provider binary (`provider --stack device`).
    #[arg(long)]
    provider: PathBuf,
    /// The picoserve device binary (`pico-device`).
    #[arg(long)]
    pico: PathBuf,
    /// The TAP both servers attach to, one at a time.
    #[arg(long, default_value = "portico0")]
    tap: String,
    /// The device's address (both servers).
    #[arg(long, default_value = "10.42.0.2/24")]
    device_addr: String,
    /// The profile both servers run with: esp32s3 or esp32c3.
    #[arg(long, default_value = "esp32s3")]
    profile: String,
    /// Rounds; each runs Portico then picoserve.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Seconds of page loads per run.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Browsers loading the page at the same time (six connections each); default: as
    /// many as the profile admits (24 → 4 on esp32s3, 8 → 1 on esp32c3).
    #[arg(long)]
    browsers: Option<usize>,
    /// Newcomer repetitions per run.
    #[arg(long, default_value_t = 5)]
    newcomer_reps: usize,
    /// Browsers in the crowd arriving at once; default 50 on esp32s3, 20 on esp32c3 (the
    /// behavioural suite's numbers).
    #[arg(long)]
    crowd: Option<usize>,
    /// Seconds the crowd polls `/api/status` after its page load.
    #[arg(long, default_value_t = 10)]
    crowd_poll: u64,
    /// The browsers' first address on the TAP's network (the script adds
    /// `--source-count` addresses from it to the TAP).
    #[arg(long, default_value = "10.42.0.10")]
    first_source: Ipv4Addr,
    /// How many browser addresses there are.
    #[arg(long, default_value_t = 64)]
    source_count: usize,
    /// Emulated link for both servers: one-way delay in milliseconds.
    #[arg(long, default_value_t = 0)]
    link_delay_ms: u64,
    /// Emulated link: frame loss in percent, each direction.
    #[arg(long, default_value_t = 0.0)]
    link_loss: f64,
    /// Emulated link: rate in kbit/s (0 = unlimited).
    #[arg(long, default_value_t = 0)]
    link_kbps: u64,
    /// Work directory (picoserve's files, the servers' logs).
    #[arg(long, default_value = "target/bench-device")]
    out: PathBuf,
    /// The command line to print with the table.
    #[arg(long, default_value = "scripts/bench-device.sh")]
    command: String,
    /// Also write the Markdown table to this file.
    #[arg(long)]
    markdown: Option<PathBuf>,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match bench(&args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("device-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn bench(args: &Args) -> Result<(), String> {
    let profile = portico_tap::profile::Profile::by_name(&args.profile).ok_or_else(|| {
        format!(
            "--profile must be esp32s3 or esp32c3; got {:?}",
            args.profile
        )
    })?;
    let browsers = args.browsers.unwrap_or((profile.cap / 6).max(1));
    let crowd = args
        .crowd
        .unwrap_or(if profile.name == "esp32c3" { 20 } else { 50 });
    let sources = Sources {
        first: args.first_source,
        count: args.source_count,
    };
    if crowd.max(browsers).max(11) > sources.count {
        return Err(format!(
            "{} browsers need as many addresses; --source-count is {}",
            crowd.max(browsers).max(11),
            sources.count
        ));
    }
    let docroot = args.out.join("docroot");
    let logs = args.out.join("logs");
    // Fresh files: a stale asset of an older build would be served by picoserve only.
    let _ = std::fs::remove_dir_all(&docroot);
    for d in [&docroot, &logs] {
        std::fs::create_dir_all(d).map_err(|e| format!("{d:?}: {e}"))?;
    }
    let launch = Launch {
        provider: args.provider.clone(),
        pico: args.pico.clone(),
        tap: args.tap.clone(),
        device_addr: args.device_addr.clone(),
        profile: profile.name.to_string(),
        docroot: docroot.clone(),
        logs,
        link: vec![
            "--link-delay-ms".into(),
            args.link_delay_ms.to_string(),
            "--link-loss".into(),
            args.link_loss.to_string(),
            "--link-kbps".into(),
            args.link_kbps.to_string(),
        ],
    };
    eprintln!("device-bench: fetching the provider's page and assets for picoserve");
    let mut paths = {
        let p = start(&launch, Kind::Portico, 0)?;
        fetch_files(p.addr, &docroot)?
    };
    // The page's first API call, as the behavioural suite's browsers make it.
    paths.push("/api/status".to_string());
    eprintln!(
        "device-bench: {} files a page; {} rounds of Portico then picoserve, profile {}",
        paths.len(),
        args.rounds,
        profile.name
    );
    let mut runs = Vec::new();
    for round in 1..=args.rounds {
        for kind in [Kind::Portico, Kind::Pico] {
            let r = run_one(&launch, kind, round, &paths, sources, browsers, crowd, args)?;
            eprintln!("device-bench: round {round} {}: {}", kind.name(), r.line());
            runs.push(r);
        }
    }
    let table = report::table(
        &runs,
        &report::Setup {
            command: &args.command,
            profile,
            browsers,
            duration: args.duration,
            newcomer_reps: args.newcomer_reps,
            crowd,
            crowd_poll: args.crowd_poll,
            files: paths.len(),
            bytes: page_bytes(&docroot),
            link: if args.link_delay_ms == 0 && args.link_loss == 0.0 && args.link_kbps == 0 {
                "perfect (no emulation)".to_string()
            } else {
                format!(
                    "emulated, {} ms each way, {} % loss each way, {} kbit/s (0 = unlimited)",
                    args.link_delay_ms, args.link_loss, args.link_kbps
                )
            },
        },
    );
    println!("{table}");
    if let Some(f) = &args.markdown {
        std::fs::write(f, &table).map_err(|e| format!("{f:?}: {e}"))?;
    }
    Ok(())
}

/// One server, one run: idle RSS, page loads, newcomers, the crowd, peak RSS.
#[allow(clippy::too_many_arguments)]
fn run_one(
    launch: &Launch,
    kind: Kind,
    round: usize,
    paths: &[String],
    sources: Sources,
    browsers: usize,
    crowd: usize,
    args: &Args,
) -> Result<Run, String> {
    let s = start(launch, kind, round)?;
    same_files(s.addr, &launch.docroot, paths).map_err(|e| format!("{}: {e}", kind.name()))?;
    let cpu = || procfs::cpu_seconds(s.pid()).unwrap_or(0.0);
    let settle = || std::thread::sleep(Duration::from_secs(1));
    settle();
    let (idle_from, t) = (cpu(), std::time::Instant::now());
    settle();
    let cpu_idle = (cpu() - idle_from) / t.elapsed().as_secs_f64();
    let rss_idle = procfs::rss_bytes(s.pid()).unwrap_or(0);
    let anon_idle = procfs::rss_anon_bytes(s.pid()).unwrap_or(0);
    let (loads_from, t) = (cpu(), std::time::Instant::now());
    let loads = scenarios::page_loads(
        s.addr,
        paths,
        sources,
        browsers,
        Duration::from_secs(args.duration),
    );
    let cpu_per_load =
        (cpu() - loads_from) / (loads.per_second * t.elapsed().as_secs_f64()).max(1.0);
    settle();
    let newcomers = scenarios::newcomers(s.addr, paths, sources, args.newcomer_reps);
    settle();
    let crowd = scenarios::crowd(
        s.addr,
        paths,
        sources,
        crowd,
        Duration::from_secs(args.crowd_poll),
    );
    let rss_peak = procfs::rss_peak_bytes(s.pid()).unwrap_or(0);
    let anon_end = procfs::rss_anon_bytes(s.pid()).unwrap_or(0);
    Ok(Run {
        kind,
        round,
        loads,
        newcomers,
        crowd,
        rss_idle,
        rss_peak,
        anon_idle,
        anon_end,
        cpu_idle,
        cpu_per_load,
    })
}

/// Fetches the page (identity) and every file it names from the server into `docroot`
/// (`/` as `index.html`); returns the page's paths, the page first.
fn fetch_files(addr: SocketAddr, docroot: &Path) -> Result<Vec<String>, String> {
    let get = |path: &str| {
        client::get_once(addr, path, Duration::from_secs(5))
            .map_err(|e| format!("GET {path}: {e}"))
            .and_then(|r| match r.status {
                200 if r.header("content-encoding").is_none() => Ok(r.body),
                s => Err(format!("GET {path}: status {s} (want an identity 200)")),
            })
    };
    let index = get("/")?;
    let paths = client::page_paths(&String::from_utf8_lossy(&index));
    for path in &paths {
        let body = if path == "/" {
            index.clone()
        } else {
            get(path)?
        };
        let name = if path == "/" {
            "index.html"
        } else {
            path.trim_start_matches('/')
        };
        let file = docroot.join(name);
        if let Some(d) = file.parent() {
            std::fs::create_dir_all(d).map_err(|e| format!("{d:?}: {e}"))?;
        }
        std::fs::write(&file, body).map_err(|e| format!("{file:?}: {e}"))?;
    }
    Ok(paths)
}

/// Checks the server sends exactly the files in `docroot` (identity), so both servers
/// are measured on the same bytes.
fn same_files(addr: SocketAddr, docroot: &Path, paths: &[String]) -> Result<(), String> {
    for path in paths.iter().filter(|p| !p.starts_with("/api/")) {
        let name = if path == "/" {
            "index.html"
        } else {
            path.trim_start_matches('/')
        };
        let want = std::fs::read(docroot.join(name)).map_err(|e| format!("{name}: {e}"))?;
        let r = client::get_once(addr, path, Duration::from_secs(5))
            .map_err(|e| format!("GET {path}: {e}"))?;
        if r.status != 200 || r.body != want {
            return Err(format!(
                "GET {path}: status {}, {} bytes; expected the {} bytes the provider sent",
                r.status,
                r.body.len(),
                want.len()
            ));
        }
    }
    Ok(())
}

/// Bytes of the page's files (without the API call).
fn page_bytes(docroot: &Path) -> u64 {
    fn walk(d: &Path) -> u64 {
        std::fs::read_dir(d)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| match e.file_type() {
                Ok(t) if t.is_dir() => walk(&e.path()),
                _ => e.metadata().map_or(0, |m| m.len()),
            })
            .sum()
    }
    walk(docroot)
}
