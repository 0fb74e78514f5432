//! Runs Portico's provider, picoserve and nginx side by side and prints one table.
//!
//! Called by `scripts/bench.sh`, which installs nginx and wrk and builds the binaries.
//! Every server runs alone, pinned to one core (wrk on the other), on loopback, serving
//! byte-identical files (the provider's own embedded page and assets, fetched from it
//! without `Accept-Encoding`) with a 30 s keep-alive timeout.

use std::fmt::Write as _;
use std::fs;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use portico_bench::client::{self, Response};
use portico_bench::{idle, newcomer, procfs, stats};
use serde_json::Value;

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Portico,
    Pico,
    Nginx,
}

const KINDS: [Kind; 3] = [Kind::Portico, Kind::Pico, Kind::Nginx];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Portico => "Portico",
            Kind::Pico => "picoserve",
            Kind::Nginx => "nginx",
        }
    }
}

/// Same keep-alive as the peers: 30 s idle timeout (the provider's default is 10 s).
const PORTICO_PARITY: &[&str] = &["--idle-timeout-ms", "30000"];
/// ESP-IDF's httpd defaults, as the provider emulates them.
const PORTICO_ESP_IDF: &[&str] = &[
    "--max-sockets",
    "7",
    "--no-lru-purge",
    "--idle-timeout-ms",
    "60000",
];

struct Ctx {
    args: Args,
    /// `/proc/loadavg` when the run began.
    load_at_start: String,
    tmp: PathBuf,
    docroot: PathBuf,
    pin: bool,
}

/// A running server. Dropping it stops it.
struct Server {
    kind: Kind,
    child: Child,
    addr: SocketAddr,
    /// The process that serves (nginx: its one worker).
    pid: u32,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) on our own child's id; no memory is involved.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(3) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn tail(path: &Path) -> String {
    let s = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n")
}

fn start(ctx: &Ctx, kind: Kind, extra: &[&str]) -> Result<Server, String> {
    let port = free_port();
    let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
    let log = ctx.tmp.join(format!("{}-{port}.log", kind.name()));
    let mut argv: Vec<String> = Vec::new();
    match kind {
        Kind::Portico => {
            argv.push(ctx.args.provider.display().to_string());
            argv.extend(["--bind".into(), addr.to_string()]);
        }
        Kind::Pico => {
            argv.push(ctx.args.pico.display().to_string());
            argv.extend(["--bind".into(), addr.to_string()]);
            argv.extend(["--root".into(), ctx.docroot.display().to_string()]);
            argv.extend(["--idle-timeout-ms".into(), "30000".into()]);
        }
        Kind::Nginx => {
            let conf = ctx.tmp.join(format!("nginx-{port}.conf"));
            fs::write(&conf, nginx_conf(ctx, addr)).map_err(|e| e.to_string())?;
            argv.push(ctx.args.nginx.display().to_string());
            argv.extend(["-p".into(), ctx.tmp.display().to_string()]);
            argv.extend([
                "-e".into(),
                ctx.tmp.join("nginx-error.log").display().to_string(),
            ]);
            argv.extend(["-c".into(), conf.display().to_string()]);
        }
    }
    argv.extend(extra.iter().map(|s| s.to_string()));
    let mut cmd = if ctx.pin {
        let mut c = Command::new("taskset");
        c.arg("-c").arg(&ctx.args.server_cpu).args(&argv);
        c
    } else {
        let mut c = Command::new(&argv[0]);
        c.args(&argv[1..]);
        c
    };
    let out = fs::File::create(&log).map_err(|e| e.to_string())?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    let child = cmd
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("{}: {e}", argv[0]))?;
    let mut server = Server {
        kind,
        pid: child.id(),
        child,
        addr,
        log,
    };
    let t0 = Instant::now();
    loop {
        if let Ok(Some(st)) = server.child.try_wait() {
            return Err(format!(
                "{} exited ({st}) at start:\n{}",
                kind.name(),
                tail(&server.log)
            ));
        }
        if matches!(client::get_once(addr, "/", Duration::from_secs(1)), Ok(r) if r.status == 200) {
            break;
        }
        if t0.elapsed() > Duration::from_secs(15) {
            return Err(format!(
                "{} did not answer on {addr}:\n{}",
                kind.name(),
                tail(&server.log)
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    if kind == Kind::Nginx {
        let master = server.child.id();
        server.pid = procfs::children(master)
            .into_iter()
            .next()
            .ok_or("nginx has no worker process")?;
    }
    Ok(server)
}

fn nginx_conf(ctx: &Ctx, addr: SocketAddr) -> String {
    let tmp = ctx.tmp.display();
    format!(
        r#"# Written by bench-run: one worker, the same keep-alive as the other servers; Debian's
# defaults (sendfile, tcp_nopush) plus the usual static-file tuning (open_file_cache).
daemon off;
master_process on;
worker_processes 1;
user root;
pid {tmp}/nginx-{port}.pid;
error_log {tmp}/nginx-error.log warn;
worker_rlimit_nofile 8192;
events {{ worker_connections 4096; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 30s;
    keepalive_requests 1000000;
    open_file_cache max=1000 inactive=60s;
    open_file_cache_valid 60s;
    client_body_temp_path {tmp}/nginx-body;
    proxy_temp_path {tmp}/nginx-proxy;
    fastcgi_temp_path {tmp}/nginx-fastcgi;
    uwsgi_temp_path {tmp}/nginx-uwsgi;
    scgi_temp_path {tmp}/nginx-scgi;
    server {{
        listen {addr};
        root {root};
        index index.html;
    }}
}}
"#,
        port = addr.port(),
        root = ctx.docroot.display(),
    )
}

fn api(addr: SocketAddr, path: &str) -> Value {
    client::get_once(addr, path, Duration::from_secs(5))
        .ok()
        .and_then(|r| serde_json::from_slice(&r.body).ok())
        .unwrap_or(Value::Null)
}

/// One file of the page.
#[derive(Debug, Clone)]
struct Asset {
    /// The path as the page names it (`/` for the page).
    path: String,
    /// The path wrk asks for (`/index.html` for the page: no index redirect anywhere).
    url: String,
    bytes: Vec<u8>,
}

/// Fetches the page and its assets from the provider (identity) into the docroot.
fn collect_assets(ctx: &Ctx) -> Result<Vec<Asset>, String> {
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
fn nearest(assets: &[Asset], want: f64) -> Asset {
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
fn verify(s: &Server, a: &Asset) -> Result<Response, String> {
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

#[derive(Debug, Clone, Default)]
struct Wrk {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    requests: u64,
    socket_errors: u64,
    non_2xx: u64,
    /// Server CPU during the measured run, in % of one core.
    server_cpu: f64,
    head_len: usize,
    /// CPU time stolen by the hypervisor during the run, in % of the machine.
    steal: f64,
    /// TCP segments retransmitted (system-wide) during the run.
    retrans: u64,
    note: String,
}

fn parse_ms(s: &str) -> Option<f64> {
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

fn parse_wrk(out: &str) -> Result<Wrk, String> {
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

fn wrk(ctx: &Ctx, addr: SocketAddr, url: &str, secs: u64) -> Result<String, String> {
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

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no memory effects.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

fn throughput(ctx: &Ctx, kind: Kind, a: &Asset) -> Result<Wrk, String> {
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
    let cpu = procfs::cpu_ticks(s.pid).unwrap_or(0).saturating_sub(cpu0) as f64 / clock_ticks();
    let steal = procfs::steal_ticks().saturating_sub(steal0) as f64 / clock_ticks();
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

#[derive(Debug, Clone, Default)]
struct Idle {
    per_conn: f64,
    before: u64,
    after: u64,
    closed: usize,
    /// Portico: accounted internal RAM per idle connection and in all.
    accounted_per_conn: Option<f64>,
    note: String,
}

fn idle_rss(ctx: &Ctx, kind: Kind, a: &Asset) -> Result<Idle, String> {
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

#[derive(Debug, Clone, Default)]
struct Newcomer {
    label: String,
    reps: usize,
    loaded: usize,
    times_ms: Vec<f64>,
    ten_ok: Vec<f64>,
    ten_total: usize,
    ten_open: Vec<f64>,
    errors: Vec<String>,
}

fn newcomer_runs(
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

fn fmt_int(v: f64) -> String {
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

fn ratio(a: f64, b: f64) -> String {
    if a.is_finite() && b.is_finite() && b != 0.0 {
        format!("{:.2}×", a / b)
    } else {
        "—".into()
    }
}

fn ms(v: f64) -> String {
    if !v.is_finite() {
        "—".into()
    } else if v < 10.0 {
        format!("{v:.2} ms")
    } else {
        format!("{v:.1} ms")
    }
}

fn machine() -> String {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let n = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("nproc {n}, {cpu}, Linux {}", kernel.trim())
}

fn version(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .map(|o| {
            let s = format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
            s.lines().next().unwrap_or("").trim().to_string()
        })
        .unwrap_or_default()
}

fn loadavg() -> String {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

fn now_utc() -> String {
    version("date", &["-u", "+%Y-%m-%d %H:%M UTC"])
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

const START: &str = "<!-- bench-results:start -->";
const END: &str = "<!-- bench-results:end -->";

fn record(doc: &Path, report: &str) -> Result<(), String> {
    let old = fs::read_to_string(doc).unwrap_or_default();
    let block = format!("{START}\n{report}\n{END}");
    let new = match (old.find(START), old.find(END)) {
        (Some(s), Some(e)) if e > s => format!("{}{block}{}", &old[..s], &old[e + END.len()..]),
        _ => format!("{old}\n## Latest results\n\n{block}\n"),
    };
    fs::write(doc, new).map_err(|e| format!("{}: {e}", doc.display()))
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**missed**"
    }
}

#[allow(clippy::too_many_arguments)]
fn render(
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
    }

    #[test]
    fn formatting() {
        assert_eq!(fmt_int(66123.4), "66,123");
        assert_eq!(fmt_int(512.0), "512");
        assert_eq!(ratio(1.0, 2.0), "0.50×");
        assert_eq!(parse_ms("2s"), Some(2000.0));
    }
}
