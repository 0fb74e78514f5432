//! The newcomer scenario against any server: ten browsers hold six keep-alive
//! connections each, then an eleventh loads the page. Prints one JSON line per repetition.
//!
//! ```sh
//! newcomer --addr 127.0.0.1:8080 --reps 5
//! ```
//!
//! Repetitions run against the same server; between them every connection is closed and
//! the server gets `--pause-ms` to notice. (`bench-run` restarts the server instead.)

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use portico_bench::{client, newcomer};

#[derive(Debug, Parser)]
#[command(about = "ten browsers hold idle keep-alives, an eleventh loads the page")]
struct Args {
    /// Server address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Page paths, the page first (default: `/` and every asset it names).
    #[arg(long, value_delimiter = ',')]
    paths: Vec<String>,
    /// Repetitions.
    #[arg(long, default_value_t = 1)]
    reps: usize,
    /// Browsers holding connections.
    #[arg(long, default_value_t = 10)]
    browsers: usize,
    /// Connections per browser.
    #[arg(long, default_value_t = 6)]
    conns: usize,
    /// Newcomer page deadline, ms.
    #[arg(long, default_value_t = 5000)]
    deadline_ms: u64,
    /// Pause between repetitions, ms.
    #[arg(long, default_value_t = 500)]
    pause_ms: u64,
}

fn main() {
    let a = Args::parse();
    let paths = if a.paths.is_empty() {
        let index = client::get_once(a.addr, "/", Duration::from_secs(5)).expect("GET /");
        client::page_paths(&String::from_utf8_lossy(&index.body))
    } else {
        a.paths.clone()
    };
    let mut sc = newcomer::Scenario::new(a.addr, paths);
    sc.browsers = a.browsers;
    sc.conns = a.conns;
    sc.page_deadline = Duration::from_millis(a.deadline_ms);
    for rep in 0..a.reps {
        if rep > 0 {
            std::thread::sleep(Duration::from_millis(a.pause_ms));
        }
        let o = newcomer::run(&sc);
        println!(
            "{}",
            serde_json::json!({
                "rep": rep,
                "loaded": o.loaded,
                "page_load_ms": o.elapsed.as_secs_f64() * 1e3,
                "ok": o.ok,
                "failed": o.failed,
                "retries": o.retries,
                "ten_ok": o.ten_ok,
                "ten_total": o.ten_total,
                "ten_open": o.ten_open,
                "errors": o.errors,
            })
        );
    }
}
