#!/usr/bin/env bash
# Runs every test of the project. Installs what it needs on a fresh machine first.
# Usage: ./test.sh            (everything)
#        PORTICO_QUICK=1 ./test.sh   (skip browser, conformance and device steps)
set -uo pipefail
cd "$(dirname "$0")"
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
OUT=test-output
mkdir -p "$OUT"

passed=0; failed=0; failures=()
step() {
  local name=$1; shift
  echo
  echo "=== $name"
  local t0=$SECONDS
  if "$@"; then
    passed=$((passed + 1)); echo "--- ok: $name ($((SECONDS - t0)) s)"
  else
    failed=$((failed + 1)); failures+=("$name"); echo "--- FAILED: $name ($((SECONDS - t0)) s)"
  fi
}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

install_prereqs() {
  rustup target add riscv32imc-unknown-none-elf >/dev/null
  rustup component add rustfmt clippy >/dev/null 2>&1 || true
  local need=()
  command -v node >/dev/null || need+=(nodejs npm)
  command -v chromium >/dev/null || need+=(chromium)
  python3 -m venv --help >/dev/null 2>&1 || need+=(python3-venv)
  if [ ${#need[@]} -gt 0 ]; then
    as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  fi
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
}

step "install prerequisites" install_prereqs
step "cargo fmt --check" cargo fmt --all --check
step "layering: no crate depends on its own layer or a higher one" scripts/check-layers.py
step "cargo clippy -D warnings" cargo clippy --workspace --all-targets -- -D warnings
# The API docs build without a warning (broken links, missing docs); every library crate
# packages as it would be published (its README is its crate doc, run by `cargo test`).
step "cargo doc -D warnings" env RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace
step "cargo package (library crates)" cargo package --no-verify --allow-dirty \
  -p portico -p portico-ws -p portico-embassy -p portico-app -p portico-assets -p portico-tokio
step "core and application build no_std for riscv32imc-unknown-none-elf" \
  cargo build -p portico --no-default-features -p portico-app -p settings --target riscv32imc-unknown-none-elf
step "cargo test (workspace)" cargo test --workspace
step "web unit tests (vitest)" bash -c 'cd web && npm test'
if [ -z "${PORTICO_QUICK:-}" ]; then
  step "dashboard e2e in Chromium against the real provider" bash -c \
    'cargo build -q -p provider && cd web && PROVIDER_BIN="$PWD/../target/debug/provider" npm run e2e'
  step "settings example in two Chromium browsers (live changes, field errors, restart)" bash -c \
    'cargo build -q -p settings && cd web && SETTINGS_BIN="$PWD/../target/debug/settings" node e2e/settings.mjs'
  [ -x scripts/test-ws.sh ] && step "WebSocket client: live server and Autobahn conformance" scripts/test-ws.sh
  [ -x scripts/test-device.sh ] && step "device port: simulation and ESP32-C3 firmware build" scripts/test-device.sh
  [ -x scripts/test-device-stack.sh ] && step "device stack over a TAP in a network namespace: Chromium and the behavioural suite" scripts/test-device-stack.sh
  [ -x scripts/test-fuzz.sh ] && step "fuzz targets (bounded)" scripts/test-fuzz.sh
fi

echo
if [ $failed -gt 0 ]; then
  echo "failed steps:"; printf '  - %s\n' "${failures[@]}"
fi
echo "steps: $passed passed, $failed failed"
[ $failed -eq 0 ]
