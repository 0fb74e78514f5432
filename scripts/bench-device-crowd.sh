#!/usr/bin/env bash
# The crowd benchmark (provider/benches/crowd.rs: browsers arriving at the same instant,
# six keep-alive connections each) against the device stack: `provider --stack device`
# on a TAP inside a network namespace this script creates and removes, release builds.
#
#   scripts/bench-device-crowd.sh [PROFILE [RUNS [provider flags…]]]
#   CROWD=100 scripts/bench-device-crowd.sh esp32s3 3 --link-kbps 20000 --link-delay-ms 3 --link-loss 1
#
# Needs root (or passwordless sudo) for `ip netns`. Prints one line per run.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${1:-esp32s3}
runs=${2:-3}
shift $(($# < 2 ? $# : 2))
if [ "$(id -u)" = 0 ]; then SUDO=(); else SUDO=(sudo -n); fi
NS=portico-crowd-$$
TAP=portico0
DEVICE=10.42.0.2

cargo build -q --release -p provider
cargo build -q --release -p provider --bench crowd
CROWD_BIN=$(cargo bench -p provider --bench crowd --no-run 2>&1 |
  sed -n 's/.*Executable .*(\(.*\))$/\1/p' | tail -1)

"${SUDO[@]}" ip netns add "$NS"
PID=
cleanup() {
  [ -n "$PID" ] && "${SUDO[@]}" kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  "${SUDO[@]}" ip netns del "$NS" 2>/dev/null
}
trap cleanup EXIT INT TERM
in_ns() { "${SUDO[@]}" ip netns exec "$NS" "$@"; }
in_ns ip link set lo up
in_ns scripts/device-tap.sh up "$TAP" 10.42.0.1/24 >/dev/null

for run in $(seq "$runs"); do
  "${SUDO[@]}" ip netns exec "$NS" target/release/provider --stack device --tap "$TAP" \
    --profile "$profile" "$@" >/dev/null 2>&1 &
  PID=$!
  for _ in $(seq 50); do
    in_ns bash -c "exec 3<>/dev/tcp/$DEVICE/80" 2>/dev/null && break
    sleep 0.2
  done
  echo "run $run ($profile $*): $(in_ns env PORTICO_TARGET=$DEVICE:80 CROWD="${CROWD:-100}" "$CROWD_BIN" | tail -1)"
  "${SUDO[@]}" kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
done
