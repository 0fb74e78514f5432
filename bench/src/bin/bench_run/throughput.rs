//! Requests per second and latency under wrk, and the CPU time the server spent.

use std::fs;
use std::net::SocketAddr;
use std::process::Command;
use std::time::Instant;

use portico_bench::procfs;

use crate::assets::{verify, Asset};
use crate::servers::{api, start, Kind, PORTICO_PARITY};
use crate::Ctx;

#[derive(Debug, Clone, Default)]
pub(crate) struct Wrk {
    pub(crate) rps: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) requests: u64,
    pub(crate) socket_errors: u64,
    pub(crate) non_2xx: u64,
    /// Server CPU during the measured run, in % of one core.
    pub(crate) server_cpu: f64,
    pub(crate) head_len: usize,
    /// CPU time stolen by the hypervisor during the run, in % of the machine.
    pub(crate) steal: f64,
    /// TCP segments retransmitted (system-wide) during the run.
    pub(crate) retrans: u64,
    pub(crate) note: String,
}

pub(crate) fn parse_ms(s: &str) -> Option<f64> {
    let s = s.trim();
    let (num, mul) = if let Some(n) = s.strip_suffix("us") {
        (n, 1e-3)
    } else if let Some(n) = s.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1e3)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60e3)
    } else {
        (s, 1.0)
    };
    num.parse::<f64>().ok().map(|v| v * mul)
}

pub(crate) fn parse_wrk(out: &str) -> Result<Wrk, String> {
    let mut w = Wrk::default();
    let mut in_dist = false;
    for line in out.lines() {
        let t = line.trim();
        if t.starts_with("Latency Distribution") {
            in_dist = true;
            continue;
        }
        if in_dist {
            if let Some(v) = t.strip_prefix("50%") {
                w.p50_ms = parse_ms(v).unwrap_or(f64::NAN);
            } else if let Some(v) = t.strip_prefix("99%") {
                w.p99_ms = parse_ms(v).unwrap_or(f64::NAN);
                in_dist = false;
            }
        }
        if let Some(v) = t.strip_prefix("Requests/sec:") {
            w.rps = v.trim().parse().map_err(|_| format!("bad line {t:?}"))?;
        }
        if t.contains(" requests in ") {
            w.requests = t
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
        }
        if let Some(v) = t.strip_prefix("Socket errors:") {
            w.socket_errors = v
                .split(',')
                .filter_map(|p| p.split_whitespace().last()?.parse::<u64>().ok())
                .sum();
        }
        if let Some(v) = t.strip_prefix("Non-2xx or 3xx responses:") {
            w.non_2xx = v.trim().parse().unwrap_or(0);
        }
    }
    if w.rps == 0.0 {
        return Err(format!("no Requests/sec in wrk output:\n{out}"));
    }
    Ok(w)
}

pub(crate) fn wrk(ctx: &Ctx, addr: SocketAddr, url: &str, secs: u64) -> Result<String, String> {
    let a = &ctx.args;
    let mut argv: Vec<String> = vec![
        a.wrk.display().to_string(),
        format!("-t{}", a.threads),
        format!("-c{}", a.connections),
        format!("-d{secs}s"),
        "--latency".into(),
        format!("http://{addr}{url}"),
    ];
    if ctx.pin {
        argv.splice(0..0, ["taskset".into(), "-c".into(), a.client_cpu.clone()]);
    }
    let out = Command::new(&argv[0])
        .args(&argv[1..])
        .output()
        .map_err(|e| format!("{}: {e}", argv[0]))?;
    if !out.status.success() {
        return Err(format!(
            "wrk failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

pub(crate) fn throughput(ctx: &Ctx, kind: Kind, a: &Asset) -> Result<Wrk, String> {
    let s = start(
        ctx,
        kind,
        if kind == Kind::Portico {
            PORTICO_PARITY
        } else {
            &[]
        },
    )?;
    let r = verify(&s, a)?;
    if ctx.args.warmup > 0 {
        wrk(ctx, s.addr, &a.url, ctx.args.warmup)?;
    }
    let cpu0 = procfs::cpu_ticks(s.pid).unwrap_or(0);
    let steal0 = procfs::steal_ticks();
    let retrans0 = procfs::tcp_retrans_segs();
    let t0 = Instant::now();
    let out = wrk(ctx, s.addr, &a.url, ctx.args.duration)?;
    let secs = t0.elapsed().as_secs_f64();
    let cpu = procfs::cpu_ticks(s.pid).unwrap_or(0).saturating_sub(cpu0) as f64
        / procfs::ticks_per_second();
    let steal = procfs::steal_ticks().saturating_sub(steal0) as f64 / procfs::ticks_per_second();
    let mut w = parse_wrk(&out)?;
    w.retrans = procfs::tcp_retrans_segs().saturating_sub(retrans0);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    w.steal = 100.0 * steal / (secs * cores);
    let _ = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(
            ctx.tmp
                .join(format!("wrk-{}-{}.txt", kind.name(), a.bytes.len())),
        )
        .and_then(|mut f| std::io::Write::write_all(&mut f, out.as_bytes()));
    w.server_cpu = 100.0 * cpu / secs;
    w.head_len = r.head_len;
    if kind == Kind::Portico {
        let pool = api(s.addr, "/api/pool");
        let conns = api(s.addr, "/api/connections");
        w.note = format!(
            "pool high-water {} of {}, waits {}, 503s {}",
            pool["high_water"], pool["chunks"], pool["waits"], conns["counters"]["refused_503"]
        );
    }
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRK: &str = "Running 10s test @ http://127.0.0.1:8080/index.html
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   251.25us  100.00us   4.00ms   90.00%
    Req/Sec    30.00k     1.00k   32.00k    70.00%
  Latency Distribution
     50%  240.00us
     75%  260.00us
     90%  300.00us
     99%    1.10ms
  600000 requests in 10.00s, 3.00GB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 5
Requests/sec:  60000.50
Transfer/sec:    300.00MB
";

    #[test]
    fn wrk_output() {
        let w = parse_wrk(WRK).unwrap();
        assert_eq!(w.rps, 60000.5);
        assert!((w.p50_ms - 0.24).abs() < 1e-9);
        assert!((w.p99_ms - 1.1).abs() < 1e-9);
        assert_eq!((w.requests, w.socket_errors, w.non_2xx), (600000, 3, 5));
        assert!(parse_wrk("nothing").is_err());
        assert_eq!(parse_ms("2s"), Some(2000.0));
    }
}
