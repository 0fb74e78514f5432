//! The three servers under test: how each is started (pinned to a core, on a free
//! loopback port, nginx with a generated config), stopped, and asked for its documents.

use std::fs;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use portico_bench::client;
use portico_bench::procfs;
use serde_json::Value;

use crate::Ctx;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Portico,
    Pico,
    Nginx,
}

pub(crate) const KINDS: [Kind; 3] = [Kind::Portico, Kind::Pico, Kind::Nginx];

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Portico => "Portico",
            Kind::Pico => "picoserve",
            Kind::Nginx => "nginx",
        }
    }
}

/// Same keep-alive as the peers: 30 s idle timeout (the provider's default is 10 s).
pub(crate) const PORTICO_PARITY: &[&str] = &["--idle-timeout-ms", "30000"];
/// ESP-IDF's httpd defaults, as the provider emulates them.
pub(crate) const PORTICO_ESP_IDF: &[&str] = &[
    "--max-sockets",
    "7",
    "--no-lru-purge",
    "--idle-timeout-ms",
    "60000",
];

/// A running server. Dropping it stops it.
pub(crate) struct Server {
    pub(crate) kind: Kind,
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
    /// The process that serves (nginx: its one worker).
    pub(crate) pid: u32,
    pub(crate) log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        portico_bench::process::stop(&mut self.child);
    }
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

pub(crate) fn tail(path: &Path) -> String {
    let s = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n")
}

pub(crate) fn start(ctx: &Ctx, kind: Kind, extra: &[&str]) -> Result<Server, String> {
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

pub(crate) fn nginx_conf(ctx: &Ctx, addr: SocketAddr) -> String {
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

pub(crate) fn api(addr: SocketAddr, path: &str) -> Value {
    client::get_once(addr, path, Duration::from_secs(5))
        .ok()
        .and_then(|r| serde_json::from_slice(&r.body).ok())
        .unwrap_or(Value::Null)
}
