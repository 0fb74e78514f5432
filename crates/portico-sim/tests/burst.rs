//! The browser-burst scenario on the device's real socket pool.

use portico_embassy::profile::{RX, SOCKETS, TX};
use portico_sim::executor::RunEnd;
use portico_sim::scenario::{run_burst, Burst, BurstReport};

fn run(s: &Burst) -> BurstReport {
    run_burst::<SOCKETS, RX, TX>(s)
}

fn summary(r: &BurstReport) -> String {
    format!(
        "end={:?} t={}ms pages={}/{} resets: syn={} syn_while_evictable={} conn={} | newcomer={:?} | device={:?} | net={:?}",
        r.end,
        r.virtual_ms,
        r.pages_loaded(),
        r.browsers.len() + 1,
        r.net.syn_resets,
        r.net.syn_resets_while_evictable,
        r.net.conn_resets,
        r.newcomer,
        r.device,
        r.net
    )
}

#[test]
fn ten_browsers_then_a_newcomer() {
    let r = run(&Burst::ten_browsers(7));
    println!("{}", summary(&r));
    assert_eq!(r.end, RunEnd::Done, "{}", summary(&r));
    assert!(r.newcomer.page_loaded(), "{}", summary(&r));
}
