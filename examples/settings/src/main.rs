//! `settings`: the settings example on a PC.
//!
//! ```sh
//! cargo run -p settings -- --bind 127.0.0.1:8080 --state-file settings.json
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use settings::{FileStore, FlashStore, RamFlash, SettingsApp};

/// A device settings page: GET/PUT /api/settings, live updates on /api/events.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    bind: SocketAddr,
    /// Where the settings persist (JSON, replaced atomically). Without it they live in
    /// an emulated flash in RAM, through the device's own storage code, until exit.
    #[arg(long)]
    state_file: Option<PathBuf>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    portico_tokio::init_log();
    let cli = Cli::parse();
    let served = match &cli.state_file {
        Some(path) => {
            let app = SettingsApp::new(FileStore::new(path)).await;
            tracing::info!(path = %path.display(), settings = ?app.current(), "settings loaded");
            run(cli.bind, app).await
        }
        None => {
            tracing::warn!("no --state-file: settings are kept in RAM until exit");
            let flash = FlashStore::new(RamFlash::<4>::new(), 0..4 * 4096);
            run(cli.bind, SettingsApp::new(flash).await).await
        }
    };
    match served {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("settings: cannot serve on {}: {e}", cli.bind);
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run<S: settings::Store + 'static>(
    bind: SocketAddr,
    app: SettingsApp<S>,
) -> std::io::Result<()> {
    let listener = portico_tokio::listen(bind)?;
    let addr = listener.local_addr()?;
    println!("settings: http://{addr}/");
    portico_tokio::serve_on(listener, app).await;
    Ok(())
}
