#!/usr/bin/env bash
# Benchmarks the provider side by side with picoserve and nginx; prints one table of
# ratios. Installs nginx and wrk (Debian packages) when missing, builds in release, and
# runs everything on loopback. See BENCHMARKS.md.
#
# Usage: scripts/bench.sh [--record] [bench-run options…]
#   --record          also write the table into BENCHMARKS.md (between its markers)
#   anything else     passed to bench-run (e.g. --duration 5, --only throughput,idle,
#                     --rounds 3, --server-cpu '' for no pinning); see `bench-run --help`
# Safe to run again: every run uses fresh servers, fresh ports and a fresh work dir.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

record=()
pass=()
for a in "$@"; do
  case "$a" in
    --record) record=(--record "$ROOT/BENCHMARKS.md") ;;
    *) pass+=("$a") ;;
  esac
done

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

find_nginx() { command -v nginx 2>/dev/null || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true; }

need=()
[ -n "$(find_nginx)" ] || need+=(nginx)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v taskset >/dev/null 2>&1 || need+=(util-linux)
if [ ${#need[@]} -gt 0 ]; then
  echo "bench: installing ${need[*]}" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  # Debian starts the packaged nginx service; the bench runs its own instances only.
  if [[ " ${need[*]} " == *" nginx "* ]]; then
    as_root service nginx stop >/dev/null 2>&1 || true
  fi
fi
NGINX=$(find_nginx)
[ -n "$NGINX" ] || { echo "bench: nginx not found" >&2; exit 1; }

echo "bench: building provider and bench binaries (release)" >&2
cargo build --release --quiet -p provider -p portico-bench
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET/release

# 500 idle connections plus the servers' own descriptors.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

exec "$BIN/bench-run" \
  --provider "$BIN/provider" \
  --pico "$BIN/pico-server" \
  --nginx "$NGINX" \
  --wrk "$(command -v wrk)" \
  --out "$TARGET/bench" \
  --command "scripts/bench.sh${*:+ $*}" \
  ${record[@]+"${record[@]}"} \
  ${pass[@]+"${pass[@]}"}
