#!/usr/bin/env bash
# Run every fuzz target for SECONDS each; exit non-zero on the first crash.
#
#   fuzz/run-all.sh SECONDS [TARGET...]
#
# Seeds come from the bundled sample capture and ruleset (fuzz/seed.py)
# into fuzz/corpus/<target>; what libFuzzer finds is kept there between
# runs. A crash leaves its input in fuzz/artifacts/<target>/ and the log in
# fuzz/logs/<target>.log; reproduce it with
#   cargo +nightly fuzz run <target> fuzz/artifacts/<target>/crash-...
# Uses the nightly toolchain when installed, otherwise the stable one with
# RUSTC_BOOTSTRAP=1 (cargo-fuzz needs nightly-only sanitizer flags).
# FUZZ_JOBS=N runs N targets at a time (default 1).
set -euo pipefail
cd "$(dirname "$0")"
SECS=${1:?usage: run-all.sh SECONDS [TARGET...]}
shift

# FUZZ_DIRECT=1 (or no cargo-fuzz installed): build the targets with plain
# cargo and the coverage flags cargo-fuzz would pass (no sanitizer: the
# code under test is safe Rust, so a panic is what there is to find) and
# run the binaries directly. CI uses this: it needs nothing installed.
DIRECT=${FUZZ_DIRECT:-}
if [ -z "$DIRECT" ] && ! cargo fuzz --version >/dev/null 2>&1; then
    DIRECT=1
fi
if rustup run nightly rustc --version >/dev/null 2>&1; then
    FUZZ=(cargo +nightly fuzz)
    CARGO=(cargo +nightly)
else
    export RUSTC_BOOTSTRAP=1
    FUZZ=(cargo fuzz)
    CARGO=(cargo)
fi
TRIPLE=$(rustc -vV | sed -n 's/^host: //p')

if [ $# -gt 0 ]; then
    TARGETS=("$@")
else
    mapfile -t TARGETS < <(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^tapwatch-fuzz$')
fi

python3 seed.py corpus >/dev/null
mkdir -p logs
rm -f logs/*.status
# One build for all targets; each run below only links to it.
if [ -n "$DIRECT" ]; then
    # --target keeps the flags off build scripts and proc macros.
    RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Cforce-frame-pointers" \
        "${CARGO[@]}" build --release --bins --target "$TRIPLE" --quiet
else
    "${FUZZ[@]}" build -O --debug-assertions >/dev/null
fi

# Runs one target; prints its line and leaves "ok" or "CRASH" in logs/<t>.status.
run_one() {
    local t=$1 start status runs
    mkdir -p "corpus/$t"
    start=$(date +%s)
    local run=("${FUZZ[@]}" run -O --debug-assertions "$t" "corpus/$t" --)
    if [ -n "$DIRECT" ]; then
        run=("target/$TRIPLE/release/$t" "corpus/$t")
    fi
    if "${run[@]}" -max_total_time="$SECS" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        >"logs/$t.log" 2>&1; then
        status=ok
    else
        status=CRASH
    fi
    echo "$status" >"logs/$t.status"
    runs=$(grep -E '^stat::number_of_executed_units' "logs/$t.log" | awk '{print $2}' || true)
    printf '%-16s %-5s %4ss %10s execs  corpus %s\n' "$t" "$status" "$(( $(date +%s) - start ))" \
        "${runs:-?}" "$(find "corpus/$t" -type f | wc -l)"
    if [ "$status" = CRASH ]; then
        grep -E 'panicked|ERROR: libFuzzer|SUMMARY|Test unit written' "logs/$t.log" | head -8 || true
    fi
}

JOBS=${FUZZ_JOBS:-1}
for t in "${TARGETS[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do
        wait -n || true
    done
    run_one "$t" &
done
wait

failed=()
for t in "${TARGETS[@]}"; do
    [ "$(cat "logs/$t.status" 2>/dev/null)" = ok ] || failed+=("$t")
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz targets that crashed: ${failed[*]}" >&2
    exit 1
fi
