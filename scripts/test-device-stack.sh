#!/usr/bin/env bash
# The device stack (`provider --stack device`: the device port and the application on
# embassy-net over a TAP) against real clients: the dashboard in Chromium and the
# behavioural suite (provider/tests/behaviour.rs, the same one `cargo test` runs against
# the host stack), for both profiles, plus one run over an emulated Wi-Fi link.
#
# Everything runs inside a network namespace this script creates (a TAP in it, the
# provider, Chromium and the clients), so no traffic leaves it; the namespace is removed
# at the end, also on failure. Prints SKIPPED (and succeeds) where /dev/net/tun or
# network namespaces are missing, or when neither root nor passwordless sudo is at hand.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-test-output}
mkdir -p "$OUT"

skip() { echo "SKIPPED: $*"; exit 0; }
[ -c /dev/net/tun ] || skip "/dev/net/tun is missing (no TUN/TAP support)"
command -v ip >/dev/null || skip "the ip command (iproute2) is missing"
if [ "$(id -u)" = 0 ]; then SUDO=(); else
  sudo -n true 2>/dev/null || skip "not root and no passwordless sudo (needed for ip netns)"
  SUDO=(sudo -n)
fi
as_root() { "${SUDO[@]}" "$@"; }

NS=portico-dev-$$
DEVICE=10.42.0.2
TAP=portico0
as_root ip netns add "$NS" 2>/dev/null || skip "cannot create a network namespace (ip netns add)"
PID=
stop_provider() {
  if [ -n "$PID" ]; then as_root kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; PID=; fi
}
cleanup() { stop_provider; as_root ip netns del "$NS" 2>/dev/null; }
trap cleanup EXIT INT TERM
in_ns() { as_root ip netns exec "$NS" "$@"; }

in_ns ip link set lo up
in_ns scripts/device-tap.sh up "$TAP" 10.42.0.1/24 >/dev/null || { echo "cannot create the TAP"; exit 1; }
# A TAP nobody holds has no carrier: ignoring its route then makes a stopped device
# unreachable at once, as a host whose server stopped refuses at once (the dashboard
# test stops the provider and expects "offline" within its deadline), instead of
# leaving every packet unanswered.
in_ns sysctl -qw "net.ipv4.conf.$TAP.ignore_routes_with_linkdown=1"

# Built outside the namespace (the build may need the network); run inside it.
cargo build -q -p provider || exit 1
BEHAVIOUR=$(cargo test -p provider --test behaviour --no-run 2>&1 |
  sed -n 's/.*Executable .*(\(.*\))$/\1/p' | tail -1)
BEHAVIOUR=$(realpath "$BEHAVIOUR" 2>/dev/null)
[ -x "$BEHAVIOUR" ] || { echo "behaviour test binary not found"; exit 1; }
PROVIDER=$PWD/target/debug/provider

# Tests known to fail on the device stack are listed here, with the reason, and not run
# (none today: the crowd, the forty drippers and the ten browsers pass on both profiles
# and over the emulated Wi-Fi link since SYNs wait in the driver's backlog; see
# BENCHMARKS.md, "The device stack over a TAP").
KNOWN_FAILING=(${KNOWN_FAILING-})
KNOWN_FAILING_C3=(${KNOWN_FAILING_C3-})
KNOWN_FAILING_WIFI=(${KNOWN_FAILING_WIFI-})
# The dashboard test's checks skipped on the device stack: (f) stops the provider and
# waits 30 s for "offline", but a stopped device answers nothing (no reset), and the
# dashboard says "offline" only after 42 s (stale-stream watchdog, EventSource retries,
# API timeout: BENCHMARKS.md); on esp32c3 also (a), ten dashboards at once: ten event
# streams do not fit its 8 connections.
E2E_SKIP=${E2E_SKIP_OVERRIDE:-f}
E2E_SKIP_C3=${E2E_SKIP_OVERRIDE:-a,f}
SKIPS=()
for t in "${KNOWN_FAILING[@]}"; do SKIPS+=(--skip "$t"); done

# Starts the device stack with the given flags and waits for /api/status (200, or 401
# when it was started with a password).
start_provider() {
  local log=$1; shift
  # Not through `in_ns`: a function in the background is a subshell, and $! would be
  # the subshell's id, not the provider's.
  "${SUDO[@]}" ip netns exec "$NS" "$PROVIDER" --stack device --tap "$TAP" "$@" >"$log" 2>&1 &
  PID=$!
  for _ in $(seq 50); do
    if in_ns bash -c "exec 3<>/dev/tcp/$DEVICE/80 && printf 'GET /api/status HTTP/1.1\r\nHost: $DEVICE\r\nConnection: close\r\n\r\n' >&3 && head -c 12 <&3 | grep -qE ' (200|401)'" 2>/dev/null; then
      return 0
    fi
    sleep 0.2
  done
  echo "the device stack did not answer: $(cat "$log")"
  stop_provider
  return 1
}

failed=0
PROFILE_SKIPS=()
run() {
  local name=$1; shift
  echo "--- $name"
  if "$@"; then echo "--- ok: $name"; else echo "--- FAILED: $name"; failed=$((failed + 1)); fi
}

suite() {
  local name=$1 crowd=$2; shift 2
  start_provider "$OUT/device-$name.log" "$@" || return 1
  in_ns env PORTICO_TARGET="$DEVICE:80" PORTICO_CROWD="$crowd" "$BEHAVIOUR" \
    --test-threads 1 --nocapture "${SKIPS[@]}" "${PROFILE_SKIPS[@]}"
  local rc=$?
  stop_provider
  return $rc
}

e2e() {
  local profile=$1
  local skip=$E2E_SKIP
  [ "$profile" = esp32c3 ] && skip=$E2E_SKIP_C3
  (cd web && in_ns env PROVIDER_BIN="$PROVIDER --stack device --tap $TAP --profile $profile" \
    PROVIDER_HOST="$DEVICE" E2E_SKIP="$skip" \
    E2E_SKIP_WHY="not yet on the device stack: see scripts/test-device-stack.sh" node e2e/run.mjs)
}

echo "not run (known to fail on the device stack): ${KNOWN_FAILING[*]:-none}, on esp32c3 also ${KNOWN_FAILING_C3[*]:-none}, over Wi-Fi also ${KNOWN_FAILING_WIFI[*]:-none}; dashboard checks skipped: $E2E_SKIP (esp32c3: $E2E_SKIP_C3)"
for profile in esp32s3 esp32c3; do
  crowd=50; [ "$profile" = esp32c3 ] && crowd=20
  run "dashboard in Chromium on the device stack ($profile)" e2e "$profile"
  PROFILE_SKIPS=()
  [ "$profile" = esp32c3 ] && for t in "${KNOWN_FAILING_C3[@]}"; do PROFILE_SKIPS+=(--skip "$t"); done
  run "behavioural suite on the device stack ($profile, crowd $crowd)" \
    suite "$profile" "$crowd" --profile "$profile"
done
# The device's mDNS name and its login (issue 17): portico.local resolves to the device
# from its network, both as a one-shot resolver and as an mDNS querier asks, is served,
# and with --password-file the API needs the login, as on the firmware with a password,
# and repeated wrong passwords get 429; another site's POST gets 403; paths above the
# root 400; If-None-Match with either representation's ETag 304 naming it; a malformed
# head gets the core's 400 with the security headers.
name_and_login() {
  local pw; pw=$(mktemp); echo "portico device stack $RANDOM" > "$pw"
  start_provider "$OUT/device-mdns.log" --profile esp32c3 --password-file "$pw" || return 1
  in_ns python3 scripts/check-device.py "$DEVICE" 10.42.0.1 portico.local "$(head -1 "$pw")"
  local rc=$?
  stop_provider
  rm -f "$pw"
  return $rc
}
run "mDNS name and login: portico.local answered and served, API behind the password (esp32c3)" \
  name_and_login

# The device's own upstream link over TLS (issue 19): provider/tests/device_link.rs starts
# a TLS WebSocket echo server on this side of the TAP and the device stack with
# --upstream wss://… --upstream-ca: connected and echoing with the CA alone (esp32s3) and
# second in a bundle (esp32c3), each block's region reported, another CA refused.
DEVICE_LINK=$(cargo test -p provider --test device_link --no-run 2>&1 |
  sed -n 's/.*Executable .*(\(.*\))$/\1/p' | tail -1)
DEVICE_LINK=$(realpath "$DEVICE_LINK" 2>/dev/null)
device_link() {
  [ -x "$DEVICE_LINK" ] || { echo "device_link test binary not found"; return 1; }
  in_ns env PORTICO_DEVICE_TAP="$TAP" PORTICO_DEVICE_ADDR="$DEVICE" \
    PORTICO_UPSTREAM_ADDR=10.42.0.1 "$DEVICE_LINK" --nocapture
}
run "upstream link: wss:// from the device stack, CA alone and in a bundle, another CA refused" \
  device_link

PROFILE_SKIPS=()
for t in "${KNOWN_FAILING_WIFI[@]}"; do PROFILE_SKIPS+=(--skip "$t"); done
# A Wi-Fi-like link: ~20 Mbit/s, 3 ms each way, 1 % loss in each direction.
run "behavioural suite over an emulated Wi-Fi link (esp32s3)" \
  suite wifi 50 --profile esp32s3 --link-kbps 20000 --link-delay-ms 3 --link-loss 1

echo "device stack: $failed failed"
[ "$failed" = 0 ]
