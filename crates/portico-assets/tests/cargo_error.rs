//! The budget as a device maker meets it: a crate whose `build.rs` embeds the fixture
//! over budget fails `cargo build` with one `error:` line naming the budget, the total
//! and the largest files.

use std::path::Path;
use std::process::Command;

#[test]
fn an_over_budget_embedding_fails_cargo_build_with_a_clear_error() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let krate = tmp.join("over-budget");
    let _ = std::fs::remove_dir_all(&krate);
    std::fs::create_dir_all(krate.join("src")).unwrap();
    std::fs::write(
        krate.join("Cargo.toml"),
        format!(
            "[package]\nname = \"over-budget\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\
             publish = false\n\n[workspace]\n\n[build-dependencies]\n\
             portico-assets = {{ path = {:?} }}\n",
            here.display().to_string()
        ),
    )
    .unwrap();
    std::fs::write(
        krate.join("build.rs"),
        format!(
            "fn main() {{\n    portico_assets::Embed::new({:?})\n        .budget(1000)\n        \
             .write()\n        .unwrap_or_else(|e| e.fail_build());\n}}\n",
            here.join("tests/fixtures/vite-dist").display().to_string()
        ),
    )
    .unwrap();
    std::fs::write(krate.join("src/main.rs"), "fn main() {}\n").unwrap();
    // The workspace's lock file: the same versions, already downloaded.
    std::fs::copy(here.join("../../Cargo.lock"), krate.join("Cargo.lock")).unwrap();

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["build", "--offline", "--quiet", "--color", "never"])
        .current_dir(&krate)
        .env("CARGO_TARGET_DIR", tmp.join("over-budget-target"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the build passed:\n{stderr}");
    let line = stderr
        .lines()
        // cargo names the package: `error: over-budget@0.0.0: portico-assets: …`.
        .find(|l| l.starts_with("error: ") && l.contains(": portico-assets: "))
        .unwrap_or_else(|| panic!("no cargo error line in:\n{stderr}"));
    assert!(line.contains("over the budget of 1,000 B"), "{line}");
    assert!(line.contains("vite-dist take "), "{line}");
    assert!(
        line.contains("largest: /assets/index-DigXP85U.js"),
        "{line}"
    );
}
