#!/usr/bin/env bash
# Tests of the portico-ws WebSocket client and server endpoint: unit and loopback tests,
# tests against an independent Python server, and the Autobahn conformance runs (client:
# cases 1-10, and 12-13 for permessage-deflate at five message shapes; server: cases
# 1-10; both via kosoku).
#
# Idempotent and self-contained: creates a Python venv with pinned packages under the
# cargo target directory on first use. Does not set CARGO_TARGET_DIR: the caller does.
# Exits non-zero if any step fails or any Autobahn case is worse than the committed
# baseline (crates/portico-ws/autobahn/expected.json).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

WEBSOCKETS_VERSION="17.4"
KOSOKU_VERSION="0.1.0"

TARGET_DIR="$(cargo metadata --format-version 1 --no-deps 2>/dev/null |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')" || TARGET_DIR="$ROOT/target"
VENV="$TARGET_DIR/ws-venv"
PY="$VENV/bin/python"

declare -a SUMMARY=()
FAILED=0
step() { # name, then the command
  local name="$1"; shift
  local t0=$SECONDS
  echo "==> $name"
  if "$@"; then
    SUMMARY+=("PASS  $name ($((SECONDS - t0)) s)")
  else
    SUMMARY+=("FAIL  $name ($((SECONDS - t0)) s)")
    FAILED=1
  fi
}

setup_venv() {
  local stamp="$VENV/.portico-ws-$WEBSOCKETS_VERSION-$KOSOKU_VERSION"
  if [[ -x "$PY" && -f "$stamp" ]]; then
    return 0
  fi
  mkdir -p "$TARGET_DIR"
  python3 -m venv "$VENV" &&
    "$PY" -m pip install --quiet --disable-pip-version-check \
      "websockets==$WEBSOCKETS_VERSION" "kosoku==$KOSOKU_VERSION" &&
    touch "$stamp"
}

autobahn() {
  local client="$TARGET_DIR/debug/examples/autobahn_client"
  cargo build --quiet -p portico-ws --example autobahn_client || return 1
  timeout 240 "$PY" crates/portico-ws/autobahn/run.py "$client" \
    crates/portico-ws/autobahn/expected.json --out "$TARGET_DIR/autobahn-results.json"
}

# The server endpoint (portico_ws::server) under Autobahn's fuzzing client: cases 1-10,
# every one must pass (~16 s with a debug build).
autobahn_server() {
  local server="$TARGET_DIR/debug/examples/autobahn_server"
  cargo build --quiet -p portico-ws --example autobahn_server || return 1
  timeout 240 "$PY" crates/portico-ws/autobahn/run_server.py "$server" \
    --out "$TARGET_DIR/autobahn-server-results.json"
}

step "python venv (websockets $WEBSOCKETS_VERSION, kosoku $KOSOKU_VERSION)" setup_venv
step "cargo test -p portico-ws" timeout 600 cargo test -p portico-ws
step "python-server tests" env WS_PYTHON="$PY" timeout 300 \
  cargo test -p portico-ws --features python-tests --test python_server
step "autobahn cases 1-10, 12-13 (permessage-deflate) vs baseline" autobahn
step "autobahn cases 1-10 against the server endpoint (fuzzing client)" autobahn_server
no_std_builds() {
  local f
  for f in "" embassy embassy-dns embassy,deflate; do
    cargo build --quiet -p portico-ws --no-default-features ${f:+--features "$f"} \
      --target riscv32imc-unknown-none-elf || return 1
  done
}
step "no_std builds for riscv32imc (core, embassy, embassy-dns, embassy+deflate)" no_std_builds
step "device client in the simulation (portico-sim ws_link)" timeout 300 \
  cargo test -p portico-sim --test ws_link

echo
echo "portico-ws summary:"
printf '  %s\n' "${SUMMARY[@]}"
exit $FAILED
