//! picoserve on tokio, serving a directory's files from memory: the bench's peer.
//!
//! Configured as a user who wants keep-alive would: one thread (a current-thread runtime,
//! like Portico's), keep-alive on, a 30 s idle timeout (picoserve's default is 1 s),
//! `TCP_NODELAY` on every accepted socket, and the 2048-byte per-connection buffer of
//! picoserve's own tokio example. `/` is `index.html`, as with the other servers.
//!
//! `pico-server --print-sizes` prints the per-connection memory picoserve needs (its
//! buffer and the whole connection future that holds it) as JSON and exits.

use std::path::PathBuf;
use std::rc::Rc;

use clap::Parser;
use picoserve::routing::get_service;
use picoserve::time::Duration;
use picoserve::{Config, Router, Timeouts};
use portico_bench::docroot::{index, load_dir};

/// The per-connection request buffer (picoserve's README uses 2048).
const HTTP_BUFFER: usize = 2048;

#[derive(Debug, Parser)]
#[command(about = "picoserve on tokio serving a directory (bench peer)")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8081")]
    bind: std::net::SocketAddr,
    /// Directory to serve.
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// Idle keep-alive timeout in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    idle_timeout_ms: u64,
    /// Print the per-connection sizes as JSON and exit.
    #[arg(long)]
    print_sizes: bool,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let dir = match load_dir(&args.root) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("pico-server: cannot read {}: {e}", args.root.display());
            return std::process::ExitCode::from(2);
        }
    };
    let index = index(&dir);
    let app = Rc::new(Router::from_service(dir).route("/", get_service(index)));
    let config: &'static Config = Box::leak(Box::new(
        Config::new(Timeouts {
            start_read_request: Duration::from_secs(5),
            persistent_start_read_request: Duration::from_millis(args.idle_timeout_ms),
            read_request: Duration::from_secs(3),
            write: Duration::from_secs(5),
        })
        .keep_connection_alive(),
    ));

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        let listener = match tokio::net::TcpListener::bind(args.bind).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("pico-server: cannot listen on {}: {e}", args.bind);
                return std::process::ExitCode::from(1);
            }
        };
        if args.print_sizes {
            let addr = listener.local_addr().expect("local addr");
            let client = tokio::net::TcpStream::connect(addr).await.expect("connect");
            let (stream, _) = listener.accept().await.expect("accept");
            let fut = connection(app.clone(), config, stream);
            println!(
                "{{\"http_buffer\": {HTTP_BUFFER}, \"connection_future\": {}}}",
                std::mem::size_of_val(&fut)
            );
            drop(fut);
            drop(client);
            return std::process::ExitCode::SUCCESS;
        }
        println!("pico-server listening on http://{}/", args.bind);
        tokio::select! {
            _ = accept_loop(listener, app, config) => {}
            _ = shutdown_signal() => {}
        }
        std::process::ExitCode::SUCCESS
    })
}

/// SIGINT or SIGTERM: return from `main` normally (so heap profilers see the end).
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
}

async fn accept_loop<P: picoserve::routing::PathRouter + 'static>(
    listener: tokio::net::TcpListener,
    app: Rc<Router<P>>,
    config: &'static Config,
) {
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                // Out of descriptors and the like: back off, as a server would.
                eprintln!("pico-server: accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        tokio::task::spawn_local(connection(app.clone(), config, stream));
    }
}

/// One connection's task: the buffer lives in the future, as in picoserve's examples.
async fn connection<P: picoserve::routing::PathRouter>(
    app: Rc<Router<P>>,
    config: &'static Config,
    stream: tokio::net::TcpStream,
) {
    let _ = stream.set_nodelay(true);
    let mut buffer = [0u8; HTTP_BUFFER];
    let _ = picoserve::Server::new_tokio(&app, config, &mut buffer)
        .serve(stream)
        .await;
}
