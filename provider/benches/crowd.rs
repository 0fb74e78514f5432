//! A crowd arriving at once: 100 browsers (six keep-alive connections each) load the
//! dashboard at the same instant on the default 24 HTTP sockets. Prints failed requests
//! and the page-load percentiles; `BENCHMARKS.md` holds the figures and the peer's.
//!
//! `cargo bench -p provider --bench crowd` (release build of the real provider binary).
//! `CROWD=200` changes the crowd's size. `PORTICO_TARGET=ADDR:PORT` runs the crowd against
//! a server already running there instead, e.g. `provider --stack device` inside a network
//! namespace (`scripts/bench-device-crowd.sh` does that).

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Barrier;
use std::time::Duration;

use common::{json, Browser, Provider};
use portico_testkit::percentile;

fn main() {
    let browsers: usize = std::env::var("CROWD")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let (addr, _host) = match std::env::var("PORTICO_TARGET") {
        Ok(t) => (t.parse().expect("PORTICO_TARGET=ADDR:PORT"), None),
        Err(_) => {
            let p = Provider::start(&[]);
            (p.addr, Some(p))
        }
    };
    let paths = common::page_paths(addr);
    let start = Barrier::new(browsers);
    let loads: Vec<_> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..browsers)
            .map(|_| {
                let (paths, start) = (&paths, &start);
                s.spawn(move || {
                    let mut b = Browser::new(addr, 6);
                    start.wait();
                    b.load(paths)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let failed: usize = loads.iter().map(|l| l.failed).sum();
    let retries: usize = loads.iter().map(|l| l.retries).sum();
    let times: Vec<Duration> = loads.iter().map(|l| l.elapsed).collect();
    let c = json(addr, "/api/connections");
    println!(
        "crowd of {browsers} browsers x 6 connections on {} sockets: {failed} failed requests, \
         {retries} retries; page load p50 {:?}, p90 {:?}, p99 {:?}, max {:?}; 503s {}",
        c["cap"],
        percentile(&times, 0.50),
        percentile(&times, 0.90),
        percentile(&times, 0.99),
        percentile(&times, 1.0),
        c["counters"]["refused_503"]
    );
}
