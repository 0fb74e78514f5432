//! The two servers on the TAP, one at a time: `provider --stack device` (Portico's
//! device port and application) and `pico-device` (picoserve on embassy-net), started
//! with the same profile, TAP and address, and stopped before the other starts (only one
//! process can hold the TAP).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use portico_bench::client;

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Portico,
    Pico,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Portico => "Portico",
            Kind::Pico => "picoserve",
        }
    }
}

/// How to start either server.
#[derive(Debug, Clone)]
pub(crate) struct Launch {
    pub(crate) provider: PathBuf,
    pub(crate) pico: PathBuf,
    pub(crate) tap: String,
    pub(crate) device_addr: String,
    pub(crate) profile: String,
    /// picoserve's files (fetched from the provider first).
    pub(crate) docroot: PathBuf,
    /// Where the servers' output goes.
    pub(crate) logs: PathBuf,
    /// The emulated link's flags, the same for both (`--link-delay-ms` …).
    pub(crate) link: Vec<String>,
}

/// A running server. Dropping it stops it and waits for it to exit (freeing the TAP).
pub(crate) struct Server {
    child: Child,
    pub(crate) addr: SocketAddr,
}

impl Server {
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        portico_bench::process::stop(&mut self.child);
    }
}

/// Starts `kind` and waits until `/api/status` answers 200 (10 s at most).
pub(crate) fn start(l: &Launch, kind: Kind, run: usize) -> Result<Server, String> {
    let ip = l.device_addr.split('/').next().unwrap_or_default();
    let addr: SocketAddr = format!("{ip}:80")
        .parse()
        .map_err(|_| format!("--device-addr {:?} is not an IPv4 CIDR", l.device_addr))?;
    let common = [
        "--tap",
        &l.tap,
        "--profile",
        &l.profile,
        "--device-addr",
        &l.device_addr,
    ];
    let mut cmd = match kind {
        Kind::Portico => {
            let mut c = Command::new(&l.provider);
            c.args(["--stack", "device"]).args(common);
            c
        }
        Kind::Pico => {
            let mut c = Command::new(&l.pico);
            c.args(common).arg("--root").arg(&l.docroot);
            c
        }
    };
    cmd.args(&l.link);
    let log_path = l.logs.join(format!("{}-{run}.log", kind.name()));
    let log = std::fs::File::create(&log_path).map_err(|e| format!("{log_path:?}: {e}"))?;
    let err = log.try_clone().map_err(|e| e.to_string())?;
    let child = cmd
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", kind.name()))?;
    let mut server = Server { child, addr };
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(10) {
        if let Ok(Some(status)) = server.child.try_wait() {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            return Err(format!("{} exited ({status}): {log}", kind.name()));
        }
        match client::get_once(addr, "/api/status", Duration::from_millis(500)) {
            Ok(r) if r.status == 200 => return Ok(server),
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    let _ = server.child.kill();
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    Err(format!(
        "{} did not answer /api/status within 10 s: {log}",
        kind.name()
    ))
}
