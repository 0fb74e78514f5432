#!/usr/bin/env bash
# Device checks: the port builds for the MCU target, the deterministic simulation passes,
# and the ESP32-C3 firmware builds in release within its flash budget.
#
# Idempotent and safe on a fresh machine (installs the rustup target it needs). Host
# crates use whatever CARGO_TARGET_DIR the caller set; the firmware, its own workspace,
# always builds in firmware/target.
set -euo pipefail
cd "$(dirname "$0")/.."

# Both images must fit a 1 MiB app partition: esp-idf's default single-app table gives
# the factory app 1 MiB, and its two-OTA table on 4 MB flash gives each slot 1 MiB.
# (The plain image had a 640 KiB budget of our own; the shared-network checks and the
# login page took it past that, and 1 MiB is what a board actually offers.)
FLASH_BUDGET=$((1024 * 1024))
# The image with TLS (`--features tls`): the same partition.
FLASH_BUDGET_TLS=$((1024 * 1024))
TARGET=riscv32imc-unknown-none-elf
start=$(date +%s)
step() { echo; echo "== $* ($(( $(date +%s) - start ))s)"; }

step "rustup target $TARGET"
rustup target add "$TARGET" >/dev/null
rustup target list --installed | grep -qx "$TARGET"

step "device port builds for $TARGET (no_std)"
cargo build -p portico-embassy --features ws -p portico-app --features portico-app/embassy-ws --target "$TARGET"

step "simulation tests (seeded, virtual time)"
cargo test -p portico-sim

step "firmware: the dashboard it embeds"
if [ ! -f web/dist/index.html ]; then
    if command -v npm >/dev/null 2>&1; then
        echo "web/dist missing: building the dashboard so the firmware embeds it"
        (cd web && npm ci --no-audit --no-fund && npm run build)
    else
        echo "warning: web/dist missing and no npm: the firmware embeds a placeholder page"
    fi
fi
# The image espflash would write (app partition content) for the ELF `$1`, in bytes.
image_size() {
    if command -v espflash >/dev/null 2>&1; then
        local bin
        bin=$(mktemp --suffix=.bin)
        espflash save-image --chip esp32c3 "$1" "$bin" >/dev/null
        stat -c %s "$bin"
        rm -f "$bin"
        return
    fi
    # Without espflash: the app image is every loadable ELF segment that carries bytes
    # (code and read-only data mapped from flash, plus the initial contents of IRAM and
    # DRAM copied at boot), each behind an 8-byte segment header and padded to 4 bytes,
    # plus the 24-byte image header, the checksum block (padding to 16) and the 32-byte
    # SHA-256 that esp-idf's image format appends. espflash may split or merge segments
    # differently; the difference is a few dozen bytes.
    local size=24
    while read -r kind _off vaddr _paddr filesz _rest; do
        [ "$kind" = LOAD ] || continue
        fs=$((filesz))
        [ "$fs" -gt 0 ] || continue
        size=$((size + 8 + (fs + 3) / 4 * 4))
    done < <(readelf -lW "$1")
    echo $(( (size + 1 + 15) / 16 * 16 + 32 ))
}

# Builds the firmware with `$3` as its upstream URL and cargo arguments `${@:4}`, and
# checks its image against `$2` bytes; `$1` names it.
firmware() {
    local name=$1 budget=$2 url=$3
    shift 3
    step "firmware: esp32c3, release, $name"
    # A TEST-NET address (RFC 5737): the build only needs a URL, never a server.
    (cd firmware && env -u CARGO_TARGET_DIR PORTICO_UPSTREAM="$url" cargo build --release "$@")
    local elf=firmware/target/$TARGET/release/portico-firmware
    local size how="loadable ELF segments (espflash not installed)"
    size=$(image_size "$elf")
    if command -v espflash >/dev/null 2>&1; then how="espflash save-image"; fi
    printf 'firmware flash image (%s): %d bytes (%d KiB) of %d KiB budget, %d bytes to spare [%s]\n' \
        "$name" "$size" $((size / 1024)) $((budget / 1024)) $((budget - size)) "$how"
    while read -r kind _off vaddr _paddr filesz _rest; do
        [ "$kind" = LOAD ] && [ "$((filesz))" -gt 0 ] && printf '  segment at %s: %d bytes\n' "$vaddr" "$((filesz))"
    done < <(readelf -lW "$elf")
    if [ "$size" -gt "$budget" ]; then
        echo "FAIL: firmware ($name) exceeds its flash budget" >&2
        exit 1
    fi
}

# With an upstream URL the WebSocket client (and DNS) is linked in: the largest plain
# image.
firmware "dashboard, API, Wi-Fi, upstream WebSocket link, DNS" "$FLASH_BUDGET" \
    ws://192.0.2.1:8080/device

# With TLS (`wss://`): embedded-tls and its crypto, in the same 1 MiB partition. The CA is made here: the build needs one
# (without a CA the link refuses `wss://`), never its key.
if ! command -v openssl >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq openssl >/dev/null
fi
ca_dir=$(mktemp -d)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$ca_dir/key.pem" -out "$ca_dir/ca.pem" -days 30 -subj "/CN=portico build CA" \
    >/dev/null 2>&1
# Also the login (`auth`), with a password given at build time: `build.rs` hashes it, and
# the image must not hold its text.
password="portico-build-check-$RANDOM$RANDOM"
PORTICO_PASSWORD="$password" PORTICO_UPSTREAM_CA="$ca_dir/ca.pem" \
    firmware "the same with TLS for wss:// and a login" "$FLASH_BUDGET_TLS" \
    wss://192.0.2.1:8443/device --features tls,auth
rm -rf "$ca_dir"
if grep -q "$password" "firmware/target/$TARGET/release/portico-firmware"; then
    echo "FAIL: the firmware image holds PORTICO_PASSWORD's text" >&2
    exit 1
fi
echo "PORTICO_PASSWORD: only its hash is in the image"

# The settings example (examples/settings) as ESP32-C3 firmware: the same application as
# on the PC, its settings in the flash's nvs partition (firmware/examples/settings.rs).
step "firmware: esp32c3, release, the settings example"
(cd firmware && env -u CARGO_TARGET_DIR cargo build --release --example settings)
settings_elf=firmware/target/$TARGET/release/examples/settings
settings_size=$(image_size "$settings_elf")
printf 'firmware flash image (settings example): %d bytes (%d KiB) of %d KiB budget\n' \
    "$settings_size" $((settings_size / 1024)) $((FLASH_BUDGET / 1024))
if [ "$settings_size" -gt "$FLASH_BUDGET" ]; then
    echo "FAIL: the settings example exceeds its flash budget" >&2
    exit 1
fi

step "done in $(( $(date +%s) - start ))s"
