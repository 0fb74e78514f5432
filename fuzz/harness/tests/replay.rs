//! Replays every committed seed (`fuzz/corpus/<target>/`) and every crash kept as a
//! regression (`fuzz/regressions/<target>/`) through the targets' bodies, on stable.
//!
//!     cargo test --manifest-path fuzz/Cargo.toml -p portico-fuzz-harness
//!
//! A regression input fails here until the bug it found is fixed; see
//! `fuzz/regressions/README.md` for what each one is.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| p.is_file() && p.extension().is_none_or(|e| e != "md"));
    v.sort();
    v
}

fn replay(kind: &str) -> (usize, Vec<String>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(kind);
    let mut ran = 0;
    let mut failures = Vec::new();
    for (name, f) in harness::TARGETS {
        for path in inputs(&root.join(name)) {
            let data = std::fs::read(&path).unwrap();
            ran += 1;
            if let Err(e) = catch_unwind(AssertUnwindSafe(|| f(&data))) {
                let msg = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!("{name}: {}: {msg}", path.display()));
            }
        }
    }
    (ran, failures)
}

#[test]
fn seed_corpus_passes() {
    let (ran, failures) = replay("corpus");
    assert!(
        ran >= harness::TARGETS.len(),
        "seed corpus missing: {ran} inputs"
    );
    assert!(
        failures.is_empty(),
        "{} seed(s) fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn regressions_pass() {
    let (_, failures) = replay("regressions");
    assert!(
        failures.is_empty(),
        "{} regression(s) fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
