#!/usr/bin/env bash
# Device checks: the port builds for the MCU target, the deterministic simulation passes,
# and the ESP32-C3 firmware builds in release within its flash budget.
#
# Idempotent and safe on a fresh machine (installs the rustup target it needs). Host
# crates use whatever CARGO_TARGET_DIR the caller set; the firmware, its own workspace,
# always builds in firmware/target.
set -euo pipefail
cd "$(dirname "$0")/.."

FLASH_BUDGET=$((640 * 1024))
TARGET=riscv32imc-unknown-none-elf
start=$(date +%s)
step() { echo; echo "== $* ($(( $(date +%s) - start ))s)"; }

step "rustup target $TARGET"
rustup target add "$TARGET" >/dev/null
rustup target list --installed | grep -qx "$TARGET"

step "device port builds for $TARGET (no_std)"
cargo build -p portico-embassy --features app --target "$TARGET"

step "simulation tests (seeded, virtual time)"
cargo test -p portico-sim

step "firmware: esp32c3, release"
if [ ! -f web/dist/index.html ]; then
    if command -v npm >/dev/null 2>&1; then
        echo "web/dist missing: building the dashboard so the firmware embeds it"
        (cd web && npm ci --no-audit --no-fund && npm run build)
    else
        echo "warning: web/dist missing and no npm: the firmware embeds a placeholder page"
    fi
fi
# With an upstream URL the WebSocket client (and DNS) is linked in: the largest image.
# A TEST-NET address (RFC 5737): the build only needs a URL, never a server.
(cd firmware && env -u CARGO_TARGET_DIR PORTICO_UPSTREAM=ws://192.0.2.1:8080/device \
    cargo build --release)
elf=firmware/target/$TARGET/release/portico-firmware

step "flash size"
if command -v espflash >/dev/null 2>&1; then
    # The exact image espflash would write (app partition content).
    bin=$(mktemp --suffix=.bin)
    espflash save-image --chip esp32c3 "$elf" "$bin" >/dev/null
    size=$(stat -c %s "$bin")
    how="espflash save-image"
    rm -f "$bin"
else
    # Without espflash: the app image is every loadable ELF segment that carries bytes
    # (code and read-only data mapped from flash, plus the initial contents of IRAM and
    # DRAM copied at boot), each behind an 8-byte segment header and padded to 4 bytes,
    # plus the 24-byte image header, the checksum block (padding to 16) and the 32-byte
    # SHA-256 that esp-idf's image format appends. espflash may split or merge segments
    # differently; the difference is a few dozen bytes.
    size=24
    while read -r kind _off vaddr _paddr filesz _rest; do
        [ "$kind" = LOAD ] || continue
        fs=$((filesz))
        [ "$fs" -gt 0 ] || continue
        size=$((size + 8 + (fs + 3) / 4 * 4))
    done < <(readelf -lW "$elf")
    size=$(( (size + 1 + 15) / 16 * 16 + 32 ))
    how="loadable ELF segments (espflash not installed)"
fi
printf 'firmware flash image (dashboard, API, Wi-Fi, upstream WebSocket link, DNS): %d bytes (%d KiB) of %d KiB budget, %d bytes to spare [%s]\n' \
    "$size" $((size / 1024)) $((FLASH_BUDGET / 1024)) $((FLASH_BUDGET - size)) "$how"
while read -r kind _off vaddr _paddr filesz _rest; do
    [ "$kind" = LOAD ] && [ "$((filesz))" -gt 0 ] && printf '  segment at %s: %d bytes\n' "$vaddr" "$((filesz))"
done < <(readelf -lW "$elf")
if [ "$size" -gt "$FLASH_BUDGET" ]; then
    echo "FAIL: firmware exceeds the flash budget" >&2
    exit 1
fi

step "done in $(( $(date +%s) - start ))s"
