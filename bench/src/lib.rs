//! Side-by-side benchmarks: Portico's `provider` against picoserve (on tokio and on
//! embassy-net) and nginx.
//!
//! `scripts/bench.sh` builds everything and runs `bench-run`, which starts each server in
//! turn on loopback with the same files and keep-alive settings, drives it, and prints one
//! table of ratios. The pieces are also small binaries of their own: `pico-server` (the
//! picoserve peer), `newcomer` (ten browsers holding idle keep-alives, then an eleventh
//! loads the page) and `idle-conns` (opens idle keep-alive connections and holds them).
//!
//! `scripts/bench-device.sh` does the same for the device stack: inside a network
//! namespace with a TAP it runs `device-bench`, which starts `provider --stack device`
//! and `pico-device` (picoserve on embassy-net over the same TAP, with the same profile's
//! sockets and buffers) in turn and measures page loads per second, the newcomer, a
//! crowd arriving at once, and RSS.

pub mod browser;
pub mod client;
pub mod docroot;
pub mod idle;
pub mod newcomer;
pub mod process;
pub mod procfs;
/// Percentiles and medians, shared with the tests.
pub use portico_testkit::percentile as stats;
