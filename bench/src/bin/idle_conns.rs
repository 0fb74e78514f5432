//! Opens N idle keep-alive connections (each does one `GET`) and holds them until stdin
//! closes or a line is read; with `--pid`, prints the server's RSS before and after.
//!
//! ```sh
//! idle-conns --addr 127.0.0.1:8080 --path /index.html -n 500 --pid "$(pgrep provider)"
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use portico_bench::{idle, procfs};

#[derive(Debug, Parser)]
#[command(about = "open N idle keep-alive connections and hold them")]
struct Args {
    /// Server address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Path each connection fetches once.
    #[arg(long, default_value = "/")]
    path: String,
    /// Connections.
    #[arg(short, long, default_value_t = 500)]
    n: usize,
    /// Server process whose VmRSS to report.
    #[arg(long)]
    pid: Option<u32>,
}

fn main() {
    let a = Args::parse();
    let before = a.pid.and_then(procfs::rss_bytes);
    let conns = match idle::open_idle(a.addr, None, a.n, &a.path) {
        Ok(c) => c,
        Err((i, e)) => {
            eprintln!("idle-conns: connection {i}: {e}");
            std::process::exit(1);
        }
    };
    std::thread::sleep(Duration::from_millis(500));
    let after = a.pid.and_then(procfs::rss_bytes);
    let closed = idle::closed_by_server(&conns);
    println!(
        "{}",
        serde_json::json!({
            "connections": conns.len(),
            "closed_by_server": closed,
            "rss_before": before,
            "rss_after": after,
            "bytes_per_connection": match (before, after) {
                (Some(b), Some(a)) => Some((a as f64 - b as f64) / conns.len() as f64),
                _ => None,
            },
        })
    );
    eprintln!(
        "holding {} connections; press Enter to close them",
        conns.len()
    );
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
}
