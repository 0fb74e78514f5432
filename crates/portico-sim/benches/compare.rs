//! Portico's device port vs picoserve on embassy-net, in the simulation, with the same
//! socket count and buffer sizes (the firmware's profile): resets seen by browsers,
//! newcomer success rate, and the RAM each server needs.
//!
//! `cargo bench -p portico-sim --bench compare` prints the tables; with `DEBUG_ONE=1` it
//! prints every browser's log of one picoserve run instead.

use std::cell::Cell;

use embassy_net::StackResources;
use picoserve::routing::{get, PathRouter};
use picoserve::{Config, Router, Server, Timeouts};
use portico_embassy::profile::{self, RX, SOCKETS, TX};
use portico_sim::device::{last_buffer_pool, static_config, DEVICE_IP, SERVER_FUTURE_BYTES, SITE};
use portico_sim::executor::Spawner;
use portico_sim::net::{LinkConfig, Network};
use portico_sim::scenario::{run_burst, run_burst_with, Burst, BurstReport, DeviceHandle};

/// picoserve's per-socket request buffer (its examples use 2048 bytes).
const HTTP_BUFFER: usize = 2048;
const SEEDS: u64 = 20;

static BODY: [u8; 32 * 1024] = [b'x'; 32 * 1024];

fn body(n: usize) -> &'static str {
    core::str::from_utf8(&BODY[..n]).unwrap_or("")
}

fn app() -> Router<impl PathRouter> {
    let size = |p: &str| {
        SITE.iter()
            .find(|(q, _)| *q == p)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    };
    let (a, b, c, d, e, f) = (
        size("/"),
        size("/assets/app.js"),
        size("/assets/app.css"),
        size("/api/status"),
        size("/api/connections"),
        size("/favicon.svg"),
    );
    Router::new()
        .route("/", get(move || async move { body(a) }))
        .route("/assets/app.js", get(move || async move { body(b) }))
        .route("/assets/app.css", get(move || async move { body(c) }))
        .route("/api/status", get(move || async move { body(d) }))
        .route("/api/connections", get(move || async move { body(e) }))
        .route("/favicon.svg", get(move || async move { body(f) }))
}

thread_local! {
    static PICO_FUTURE: Cell<usize> = const { Cell::new(0) };
}

fn spawn_picoserve(spawner: &Spawner, net: &Network, seed: u64, port: u16) -> DeviceHandle {
    let dev = net.attach(DEVICE_IP);
    let resources: &'static mut StackResources<64> = Box::leak(Box::new(StackResources::new()));
    let (stack, mut runner) = embassy_net::new(dev, static_config(DEVICE_IP), resources, seed);
    spawner.spawn(async move {
        runner.run().await;
    });
    let app: &'static _ = Box::leak(Box::new(app()));
    let config: &'static Config = Box::leak(Box::new(
        Config::new(Timeouts::const_default()).keep_connection_alive(),
    ));
    let mut total = 0;
    for id in 0..SOCKETS {
        let rx: &'static mut [u8] = Box::leak(vec![0u8; RX].into_boxed_slice());
        let tx: &'static mut [u8] = Box::leak(vec![0u8; TX].into_boxed_slice());
        let http: &'static mut [u8] = Box::leak(vec![0u8; HTTP_BUFFER].into_boxed_slice());
        let serve = Server::new(app, config, http).listen_and_serve(id, stack, port, rx, tx);
        total += core::mem::size_of_val(&serve);
        spawner.spawn(async move {
            serve.await;
        });
    }
    PICO_FUTURE.with(|c| c.set(total));
    DeviceHandle {
        evictable: Box::new(|| false),
        snapshot: Box::new(|| None),
    }
}

#[derive(Default)]
struct Tally {
    runs: u64,
    newcomer_ok: u64,
    pages: u64,
    pages_total: u64,
    syn_resets: u64,
    conn_resets: u64,
}

impl Tally {
    fn add(&mut self, r: &BurstReport) {
        self.runs += 1;
        self.newcomer_ok += u64::from(r.newcomer.page_loaded());
        self.pages += r.pages_loaded() as u64;
        self.pages_total += r.browsers.len() as u64 + 1;
        self.syn_resets += r.net.syn_resets;
        self.conn_resets += r.net.conn_resets;
    }

    fn row(&self, name: &str, link: &str) {
        println!(
            "| {name:<10} | {link:<8} | {:>9.1} | {:>10.1} | {:>8.0}% | {:>8.0}% |",
            self.syn_resets as f64 / self.runs as f64,
            self.conn_resets as f64 / self.runs as f64,
            100.0 * self.newcomer_ok as f64 / self.runs as f64,
            100.0 * self.pages as f64 / self.pages_total as f64,
        );
    }
}

fn main() {
    if std::env::var_os("DEBUG_ONE").is_some() {
        debug_one();
        return;
    }
    let links = [
        ("no loss", LinkConfig::lan()),
        (
            "1% loss",
            LinkConfig {
                loss_per_million: 10_000,
                ..LinkConfig::lan()
            },
        ),
    ];
    println!(
        "Browser burst: 10 browsers x 6 keep-alive connections, 300 ms apart, then a newcomer; \
         {SOCKETS} sockets of {RX} B rx + {TX} B tx on both servers; {SEEDS} seeds per row.\n"
    );
    println!("| server     | link     | SYN resets | conn resets | newcomer | all pages |");
    println!("|------------|----------|-----------:|------------:|---------:|----------:|");
    let mut portico_peak_chunks = 0;
    for (link_name, link) in links {
        let mut portico = Tally::default();
        let mut pico = Tally::default();
        for seed in 0..SEEDS {
            let s = Burst {
                link,
                ..Burst::ten_browsers(seed)
            };
            let r = run_burst::<SOCKETS, RX, TX>(&s);
            portico.add(&r);
            if let Some(p) = last_buffer_pool() {
                portico_peak_chunks = portico_peak_chunks.max(p.stats().high_water);
            }
            let port = s.port.port;
            let r = run_burst_with(&s, |sp, net| spawn_picoserve(sp, net, seed ^ 0xD0, port));
            pico.add(&r);
        }
        portico.row("portico", link_name);
        pico.row("picoserve", link_name);
    }

    let sockets = SOCKETS * (RX + TX);
    // The pool's table and slot state, and the driver's SYN backlog.
    let portico_state = core::mem::size_of::<portico_embassy::PoolResources<SOCKETS>>()
        + core::mem::size_of::<portico_embassy::SocketPool<'static>>()
        + profile::ESP32C3.syn_backlog_bytes();
    let portico_fut = SERVER_FUTURE_BYTES.with(|b| b.get());
    let portico_bufs = portico_peak_chunks * profile::CHUNK_SIZE;
    let pico_fut = PICO_FUTURE.with(|c| c.get());
    let pico_bufs = SOCKETS * HTTP_BUFFER;
    println!(
        "\nRAM (bytes; host sizes of the same types, 64-bit pointers — the MCU's are smaller):\n"
    );
    println!("| server     | socket buffers | table, port state, SYN backlog | request buffers | server futures |   total |");
    println!("|------------|---------------:|-------------------------------:|----------------:|---------------:|--------:|");
    println!(
        "| portico    | {sockets:>14} | {portico_state:>30} | {portico_bufs:>15} | {portico_fut:>14} | {:>7} |",
        sockets + portico_state + portico_bufs + portico_fut
    );
    println!(
        "| picoserve  | {sockets:>14} | {:>30} | {pico_bufs:>15} | {pico_fut:>14} | {:>7} |",
        0,
        sockets + pico_bufs + pico_fut
    );
    println!(
        "\nportico request buffers: peak leased {portico_peak_chunks} x {} B chunks (leased only while a request is in flight);\n\
         picoserve: one {HTTP_BUFFER} B buffer per socket, held for the socket's life.",
        profile::CHUNK_SIZE
    );
    // The rows above serve the scenario's fixed-size site; the firmware runs the provider
    // application, whose handler (JSON documents, event stream) is in every socket's future.
    println!(
        "portico server futures with the provider application (the firmware's handler): {} B",
        app_future_bytes()
    );
}

/// `size_of_val` of the device's server future when it runs `portico-app`.
fn app_future_bytes() -> usize {
    let exec = portico_sim::executor::Executor::new();
    let net = Network::new(LinkConfig::lan(), 1);
    portico_sim::app::spawn_app_device::<SOCKETS, RX, TX>(
        &exec.spawner(),
        &net,
        profile::config(),
        1,
        portico::placement::sim::SimHeap::new(320 * 1024, 0),
    );
    SERVER_FUTURE_BYTES.with(|b| b.get())
}

/// One picoserve run, browser by browser.
fn debug_one() {
    let s = Burst::ten_browsers(0);
    let r = run_burst_with(&s, |sp, net| spawn_picoserve(sp, net, 0xD0, 80));
    for (i, b) in r.browsers.iter().enumerate() {
        eprintln!("browser {i}: {b:?}");
    }
    eprintln!("newcomer: {:?}\nnet: {:?}", r.newcomer, r.net);
}
