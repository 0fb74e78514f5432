//! Static asset throughput and peak accounted RAM: the fixed buffer pool vs allocating a
//! buffer per request. Both run side by side in one invocation; compare the ratios.
//!
//! `cargo bench -p provider --bench pool` (release build of the real provider binary).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{json, Conn, Provider};

const CLIENTS: usize = 32;
const RUN: Duration = Duration::from_secs(3);

struct Result {
    name: &'static str,
    requests: u64,
    bytes: u64,
    secs: f64,
    peak_internal: u64,
    high_water: u64,
}

fn run(name: &'static str, buffers: &str, slow_handler: bool) -> Result {
    let mut args = vec![
        "--buffers",
        buffers,
        "--max-sockets",
        "64",
        "--stack-sockets",
        "72",
    ];
    if slow_handler {
        args.extend(["--api-delay-ms", "50", "--queue-timeout-ms", "10000"]);
    }
    let p = Provider::start(&args);
    let paths: Vec<String> = if slow_handler {
        vec!["/api/status".to_string()]
    } else {
        common::page_paths(p.addr)
            .into_iter()
            .filter(|x| !x.starts_with("/api"))
            .collect()
    };
    let addr = p.addr;
    let t0 = Instant::now();
    let totals: Vec<(u64, u64)> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..CLIENTS)
            .map(|i| {
                let paths = &paths;
                s.spawn(move || {
                    let mut c = Conn::open(addr).unwrap();
                    let (mut n, mut b) = (0u64, 0u64);
                    let mut k = i;
                    while t0.elapsed() < RUN {
                        let r = c.get(&paths[k % paths.len()], "").expect("request");
                        assert_eq!(r.status, 200);
                        n += 1;
                        b += r.body.len() as u64;
                        k += 1;
                    }
                    (n, b)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let secs = t0.elapsed().as_secs_f64();
    let mem = json(addr, "/api/memory");
    let pool = json(addr, "/api/pool");
    Result {
        name,
        requests: totals.iter().map(|t| t.0).sum(),
        bytes: totals.iter().map(|t| t.1).sum(),
        secs,
        peak_internal: mem["regions"][0]["peak"].as_u64().unwrap(),
        high_water: pool["high_water"].as_u64().unwrap(),
    }
}

fn main() {
    for (title, slow) in [
        ("static assets (page files, identity)", false),
        ("a slow handler (/api/status answered after 50 ms)", true),
    ] {
        // Alternate the two to spread the machine's noise over both.
        let mut pool = Vec::new();
        let mut per = Vec::new();
        for _ in 0..2 {
            pool.push(run("pool of 10 x 4 KiB", "pool", slow));
            per.push(run("per-request 4 KiB", "per-request", slow));
        }
        println!(
            "\n{title}, {CLIENTS} keep-alive clients, {}s x 2 runs each",
            RUN.as_secs()
        );
        println!(
            "| buffers | requests/s | MB/s | peak internal RAM (accounted) | pool high-water |"
        );
        println!("|---|---:|---:|---:|---:|");
        let mut rows = Vec::new();
        for set in [&pool, &per] {
            let req: f64 =
                set.iter().map(|r| r.requests as f64 / r.secs).sum::<f64>() / set.len() as f64;
            let mbs: f64 = set
                .iter()
                .map(|r| r.bytes as f64 / r.secs / 1e6)
                .sum::<f64>()
                / set.len() as f64;
            let peak = set.iter().map(|r| r.peak_internal).max().unwrap();
            let hw = set.iter().map(|r| r.high_water).max().unwrap();
            println!(
                "| {} | {req:.0} | {mbs:.1} | {} B | {hw} |",
                set[0].name, peak
            );
            rows.push((req, mbs, peak));
        }
        println!(
            "ratio pool / per-request: requests/s {:.2}, MB/s {:.2}, peak RAM {:.2}",
            rows[0].0 / rows[1].0,
            rows[0].1 / rows[1].1,
            rows[0].2 as f64 / rows[1].2 as f64
        );
    }
}
