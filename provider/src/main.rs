//! `provider`: the device application, running on the host with the device's limits.

mod app;
mod cli;
mod device;
mod link;
mod security;

use clap::Parser;
use portico_tokio::Server;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    // The stack's log on stderr (stdout carries the URL and the settings).
    portico_tokio::init_log();
    if cli.stack == cli::Stack::Device {
        return device_stack(&cli);
    }
    let options = match cli.options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("provider: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let security = match cli.password().and_then(|p| {
        security::HostSecurity::new(cli.settings().allowed_hosts.as_deref(), p.as_deref())
    }) {
        Ok(s) => std::rc::Rc::new(s),
        Err(e) => {
            eprintln!("provider: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    // One thread, like the device's executor: see portico-tokio's docs.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        let listener = match portico_tokio::listen(cli.bind()) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("provider: cannot listen on {}: {e}", cli.bind());
                return std::process::ExitCode::from(1);
            }
        };
        let addr = listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let mut settings = cli.settings();
        // `/api/status` reports where the server really listens (`--bind …:0` picks a port).
        if let Ok(bound) = listener.local_addr() {
            settings.bind = bound;
        }
        let mut link_error = None;
        let mut link_handle = None;
        let server = Server::new(options, |shared| {
            // The link's socket comes out of the stack's reserve, not the HTTP cap.
            let link = settings.upstream.as_deref().and_then(|url| {
                match link::Link::start(url, settings.upstream_ca.clone(), shared.heap.clone()) {
                    Ok(l) => {
                        link_handle = Some(l.handle.clone());
                        Some(l)
                    }
                    Err(e) => {
                        link_error = Some(e);
                        None
                    }
                }
            });
            app::new(device::HostDevice::new(
                shared,
                settings.clone(),
                link,
                security.clone(),
            ))
        });
        if let Some(e) = link_error {
            eprintln!("provider: cannot start the upstream link: {e}");
            return std::process::ExitCode::from(1);
        }
        if let Some(handle) = link_handle {
            // The same `/api/status` document, sent upstream every 5 s.
            let status = portico_app::Provider::new(
                device::HostDevice::new(
                    server.shared().clone(),
                    settings.clone(),
                    None,
                    security.clone(),
                ),
                &[],
            );
            tokio::task::spawn_local(link::Link::report(
                handle,
                std::time::Duration::from_secs(5),
                move || {
                    status
                        .render(portico_app::Document::Status, &mut [])
                        .ok()
                        .map(|r| String::from_utf8_lossy(r.bytes()).into_owned())
                },
            ));
        }
        println!("Portico provider listening: dashboard at http://{addr}/");
        println!("{}", cli.summary(&options));
        for line in security.banner(cli.bind()) {
            if line.starts_with("warning") {
                eprintln!("provider: {line}");
            } else {
                println!("{line}");
            }
        }
        tokio::select! {
            _ = server.run(listener) => {}
            _ = shutdown_signal() => println!("provider: shutting down"),
        }
        std::process::ExitCode::SUCCESS
    })
}

/// `--stack device`: the device port and the application on a TAP interface, until the
/// process is stopped.
fn device_stack(cli: &cli::Cli) -> std::process::ExitCode {
    let mut options = match cli.device_options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("provider: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    // The same names and password as the host stack, held for the life of the process
    // (the device keeps them in flash).
    let security: &'static security::HostSecurity = match cli.password().and_then(|p| {
        security::HostSecurity::new(cli.settings().allowed_hosts.as_deref(), p.as_deref())
    }) {
        Ok(s) => Box::leak(Box::new(s)),
        Err(e) => {
            eprintln!("provider: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    options.allowed_hosts = security.allowed_hosts();
    options.secrets = security.secrets();
    let ready = || {
        println!(
            "Portico device stack on {}: dashboard at {}",
            options.tap,
            options.url()
        );
        println!("{}", cli::Cli::device_summary(&options));
        let at = std::net::SocketAddr::from((options.address.address().octets(), options.port));
        for line in security.banner(at) {
            println!("{line}");
        }
    };
    match portico_tap::run(&options, app::ASSETS, ready) {
        Ok(never) => match never {},
        Err(e) => {
            eprintln!("provider: {e}");
            std::process::ExitCode::from(1)
        }
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("signal handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
