#!/usr/bin/env bash
# Benchmarks Portico's device stack (`provider --stack device`) against picoserve on
# embassy-net (`pico-device`) over the same TAP, with the same profile's sockets and
# buffers: page loads per second, newcomer success, the crowd's failed requests and
# page-load times, RSS. Prints one table (Markdown) of medians and Portico ÷ picoserve
# ratios; see BENCHMARKS.md ("Device stack over TAP").
#
# Usage: scripts/bench-device.sh [--quickack] [device-bench options…]
#   --quickack   the clients acknowledge every segment at once (route option `quickack`)
#                instead of delaying ACKs as Linux does by default; shows what a server
#                that waits for ACKs loses to delayed ACKs
#   anything else goes to device-bench, e.g. --profile esp32c3, --rounds 5,
#   --duration 20, --link-loss 1, --markdown FILE (`target/release/device-bench --help`)
#
# Everything runs inside a network namespace this script creates (a TAP in it, the
# servers and the clients), so no traffic leaves it; the namespace is removed at the end,
# also on failure. Needs /dev/net/tun, ip netns, and root or passwordless sudo. Builds
# in release. Not part of ./test.sh: a benchmark, not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

quickack=
pass=()
for a in "$@"; do
  case "$a" in
    --quickack) quickack=1 ;;
    *) pass+=("$a") ;;
  esac
done

[ -c /dev/net/tun ] || { echo "bench-device: /dev/net/tun is missing" >&2; exit 1; }
command -v ip >/dev/null || { echo "bench-device: the ip command (iproute2) is missing" >&2; exit 1; }
if [ "$(id -u)" = 0 ]; then SUDO=(); else SUDO=(sudo -n); fi
as_root() { "${SUDO[@]}" "$@"; }

echo "bench-device: building provider, pico-device and device-bench (release)" >&2
cargo build --release --quiet -p provider -p portico-bench --bin provider --bin pico-device --bin device-bench
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET/release

NS=portico-bench-$$
TAP=portico0
SOURCES=64
as_root ip netns add "$NS"
trap 'as_root ip netns del "$NS" 2>/dev/null || true' EXIT INT TERM
in_ns() { as_root ip netns exec "$NS" "$@"; }
in_ns ip link set lo up
in_ns scripts/device-tap.sh up "$TAP" 10.42.0.1/24 >/dev/null
# One address per browser (10.42.0.10 …), as phones on one Wi-Fi each have their own.
for i in $(seq 0 $((SOURCES - 1))); do
  in_ns ip addr add "10.42.0.$((10 + i))/24" dev "$TAP"
done
if [ -n "$quickack" ]; then
  in_ns ip route replace 10.42.0.0/24 dev "$TAP" src 10.42.0.1 quickack 1
fi

in_ns "$BIN/device-bench" \
  --provider "$BIN/provider" \
  --pico "$BIN/pico-device" \
  --tap "$TAP" \
  --device-addr 10.42.0.2/24 \
  --first-source 10.42.0.10 \
  --source-count "$SOURCES" \
  --out "$TARGET/bench-device" \
  --command "scripts/bench-device.sh${*:+ $*}" \
  ${pass[@]+"${pass[@]}"}
