//! Bodies of Portico's fuzz targets, with the invariants each one checks.
//!
//! Every public function takes the raw fuzzer input and panics on a violated invariant;
//! `fuzz/fuzz_targets/*.rs` are one-line wrappers around them, and
//! `harness/tests/replay.rs` runs the committed seed corpora and regression inputs
//! through the same functions on stable Rust.
//!
//! Inputs that need a few knobs (split sizes, limits, modes) take them from the first
//! bytes of the input through [`Knobs`], so that libFuzzer's mutations reach them and a
//! crashing input replays exactly.

mod assets;
mod chunked;
mod guard;
mod head;
mod json;
mod router;
mod serve;
mod ws;
mod ws_events;
mod ws_server;

pub use assets::assets;
pub use chunked::chunked;
pub use guard::{authorization, cookies, form, query};
pub use head::http_head;
pub use json::json;
pub use router::router;
pub use serve::{respond, serve};
pub use ws::{ws_frame, ws_handshake};
pub use ws_server::ws_server;

/// One fuzz target: its name and the function that takes an input.
pub type Target = (&'static str, fn(&[u8]));

/// Every target, by name: what the replay test and the script iterate over.
pub const TARGETS: &[Target] = &[
    ("http_head", http_head),
    ("chunked", chunked),
    ("router", router),
    ("assets", assets),
    ("serve", serve),
    ("ws_frame", ws_frame),
    ("ws_handshake", ws_handshake),
    ("ws_server", ws_server),
    ("cookie", cookies),
    ("authorization", authorization),
    ("query", query),
    ("form", form),
    ("json", json),
];

/// Deterministic knobs drawn from a prefix of the input.
pub(crate) struct Knobs<'a> {
    bytes: &'a [u8],
    at: usize,
    rng: u64,
}

impl<'a> Knobs<'a> {
    /// Takes the first `n` bytes of `data` as knobs; returns them and the rest.
    pub(crate) fn split(data: &'a [u8], n: usize) -> (Knobs<'a>, &'a [u8]) {
        let n = n.min(data.len());
        let (k, rest) = data.split_at(n);
        let seed = k.iter().fold(0x9e37_79b9_7f4a_7c15u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        (
            Knobs {
                bytes: k,
                at: 0,
                rng: seed | 1,
            },
            rest,
        )
    }

    /// The next knob byte (0 when the input was too short).
    pub(crate) fn byte(&mut self) -> u8 {
        let b = self.bytes.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }

    /// A pseudo-random number, seeded by all knob bytes (for split sizes).
    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }

    /// Split sizes: `1..=max`, biased towards tiny pieces (1–3 bytes) a third of the time.
    pub(crate) fn piece(&mut self, max: usize) -> usize {
        let r = self.next();
        if r.is_multiple_of(3) {
            1 + (r >> 8) as usize % 3.min(max).max(1)
        } else {
            1 + (r >> 8) as usize % max.max(1)
        }
    }
}
