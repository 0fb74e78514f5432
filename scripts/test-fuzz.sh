#!/usr/bin/env bash
# Fuzzes every target in fuzz/ for a bounded time and replays the kept regressions.
#
#   scripts/test-fuzz.sh                  # every target, ≈30 s each, < 5 min in all
#   scripts/test-fuzz.sh serve ws_frame   # only these targets
#   FUZZ_SECONDS=600 FUZZ_BUDGET=0 scripts/test-fuzz.sh http_head   # a long run
#
# Environment:
#   FUZZ_SECONDS    fuzzing time per target, seconds (default 30)
#   FUZZ_BUDGET     wall-clock budget for the whole script, seconds, install and build
#                   included (default 270; 0 = none). Targets share what is left, so a
#                   slow first build shortens the runs instead of overrunning.
#   FUZZ_TOOLCHAIN  the nightly toolchain to fuzz with (default nightly)
#   FUZZ_SANITIZER  none (default) or address. The code under test forbids `unsafe`;
#                   overflow checks and debug assertions are on either way. ASan builds
#                   the standard library too and takes minutes longer.
#
# First the plain tests of fuzz/harness run on the default toolchain: every seed and
# every kept regression replayed, the serve loop's statuses, and a hostile WebSocket
# server against the real client. Then the fuzzing, which needs nightly
# (`cargo +nightly`); without it the script prints SKIPPED for the fuzzing, never
# silently, and the plain tests still decide the exit status.
# cargo-fuzz is installed (pinned) when missing. Scratch corpora go to fuzz/.work/ and
# are reset on every run; the committed seeds in fuzz/corpus/ are never written to.
# Exit status: 0 when every target ran without a crash and every regression passes.
set -uo pipefail
cd "$(dirname "$0")/.."

CARGO_FUZZ_VERSION=0.13.1
SECONDS_PER_TARGET=${FUZZ_SECONDS:-30}
BUDGET=${FUZZ_BUDGET:-270}
SANITIZER=${FUZZ_SANITIZER:-none}
TOOLCHAIN=${FUZZ_TOOLCHAIN:-nightly}
ALL_TARGETS=(http_head chunked router assets serve ws_frame ws_handshake ws_server cookie authorization query form json)
if [ $# -gt 0 ]; then TARGETS=("$@"); else TARGETS=("${ALL_TARGETS[@]}"); fi
WORK=fuzz/.work
start=$SECONDS

say() { printf 'test-fuzz: %s\n' "$*"; }
# Counts a failure, says what failed, and quotes the first lines of its log that say why.
failed() { # what, log, pattern, lines
    failures=$((failures + 1))
    say "FAILED: $1"
    grep -E "$3" "$2" | head -"$4" | sed 's/^/    /'
}

failures=0
mkdir -p "$WORK/logs"

say "plain tests: seed and regression replay, serve statuses, WebSocket peer attacks"
if cargo test --no-fail-fast --manifest-path fuzz/Cargo.toml -p portico-fuzz-harness >"$WORK/logs/tests.log" 2>&1; then
    plain="passed"
else
    plain="FAILED"
    failed "plain tests (log: $WORK/logs/tests.log):" "$WORK/logs/tests.log" \
        "^test .*FAILED|regression\(s\) fail|seed\(s\) fail|^[a-z_]+: .*fuzz/|^assertion|^  left|^ right" 16
fi
grep -E "^test result" "$WORK/logs/tests.log" | sed 's/^/    /'

# The harness is its own workspace, so the main clippy step does not see it.
say "clippy on the fuzz harness"
if ! cargo clippy --manifest-path fuzz/Cargo.toml -p portico-fuzz-harness --all-targets \
    -- -D warnings >"$WORK/logs/clippy.log" 2>&1; then
    failed "clippy on the fuzz harness (log: $WORK/logs/clippy.log):" "$WORK/logs/clippy.log" \
        "^(warning|error)" 8
fi

if ! cargo +"$TOOLCHAIN" --version >/dev/null 2>&1; then
    say "SKIPPED fuzzing: no $TOOLCHAIN toolchain (install it with: rustup toolchain install nightly)"
    [ $failures -eq 0 ] && say "passed (plain tests only)" || say "FAILED: plain tests"
    [ $failures -eq 0 ]
    exit $?
fi

if ! cargo +"$TOOLCHAIN" fuzz --version >/dev/null 2>&1; then
    say "installing cargo-fuzz $CARGO_FUZZ_VERSION"
    if ! cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --quiet; then
        say "FAILED: could not install cargo-fuzz"
        exit 1
    fi
fi
installed=$(cargo +"$TOOLCHAIN" fuzz --version 2>/dev/null)
case "$installed" in
    *"$CARGO_FUZZ_VERSION"*) ;;
    *) say "note: using $installed (pinned: $CARGO_FUZZ_VERSION)" ;;
esac

say "building the fuzz targets (sanitizer: $SANITIZER)"
if ! cargo +"$TOOLCHAIN" fuzz build -s "$SANITIZER" >"$WORK/logs/build.log" 2>&1; then
    tail -30 "$WORK/logs/build.log"
    say "FAILED: build"
    exit 1
fi

summary=()
remaining=${#TARGETS[@]}
for t in "${TARGETS[@]}"; do
    if [ ! -f "fuzz/fuzz_targets/$t.rs" ]; then
        say "FAILED: no target named $t"
        failures=$((failures + 1))
        remaining=$((remaining - 1))
        continue
    fi
    log="$WORK/logs/$t.log"

    # 1. Regressions: every kept crash input must pass now.
    regressions=()
    if [ -d "fuzz/regressions/$t" ]; then
        while IFS= read -r f; do regressions+=("$f"); done \
            < <(find "fuzz/regressions/$t" -type f ! -name '*.md' | sort)
    fi
    reg_status="-"
    if [ ${#regressions[@]} -gt 0 ]; then
        if cargo +"$TOOLCHAIN" fuzz run -s "$SANITIZER" "$t" "${regressions[@]}" -- -runs=1 \
            >"$WORK/logs/$t.regressions.log" 2>&1; then
            reg_status="${#regressions[@]} pass"
        else
            reg_status="FAIL"
            failed "$t regressions (fuzz/regressions/$t):" "$WORK/logs/$t.regressions.log" \
                "panicked at|^  left|^ right|assertion" 6
        fi
    fi

    # 2. Fuzz for a bounded time from the seeds, into a fresh scratch corpus.
    time_left=$SECONDS_PER_TARGET
    if [ "$BUDGET" -gt 0 ]; then
        share=$(((BUDGET - (SECONDS - start) - 5 * remaining) / remaining))
        [ "$share" -lt 5 ] && share=5
        [ "$share" -lt "$time_left" ] && time_left=$share
    fi
    dict=()
    case "$t" in
        http_head | serve | assets) dict=(-dict=fuzz/dicts/http.dict) ;;
        ws_handshake) dict=(-dict=fuzz/dicts/ws.dict) ;;
    esac
    rm -rf "$WORK/corpus/$t"
    mkdir -p "$WORK/corpus/$t"
    cargo +"$TOOLCHAIN" fuzz run -s "$SANITIZER" "$t" "$WORK/corpus/$t" "fuzz/corpus/$t" -- \
        -max_total_time="$time_left" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
        -print_final_stats=1 "${dict[@]}" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
    if [ $rc -eq 0 ]; then
        result="ok"
    else
        result="CRASH"
        failed "$t (exit $rc), log: $log" "$log" \
            "panicked at|^  left|^ right|Test unit written|SUMMARY" 8
    fi
    summary+=("$(printf '%-13s %-6s %4ss  execs %-10s %-18s regressions %s' \
        "$t" "$result" "$time_left" "${execs:-?}" "${cov:-cov ?}" "$reg_status")")
    remaining=$((remaining - 1))
done

say "summary ($((SECONDS - start)) s, sanitizer $SANITIZER): plain tests $plain"
for line in "${summary[@]}"; do printf '    %s\n' "$line"; done
if [ $failures -gt 0 ]; then
    say "FAILED: $failures problem(s); crash inputs are in fuzz/artifacts/<target>/"
    exit 1
fi
say "passed"
