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

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is not installed: cargo install cargo-fuzz" >&2
    exit 2
fi
if rustup run nightly rustc --version >/dev/null 2>&1; then
    FUZZ=(cargo +nightly fuzz)
else
    export RUSTC_BOOTSTRAP=1
    FUZZ=(cargo fuzz)
fi

if [ $# -gt 0 ]; then
    TARGETS=("$@")
else
    mapfile -t TARGETS < <("${FUZZ[@]}" list)
fi

python3 seed.py corpus >/dev/null
mkdir -p logs
rm -f logs/*.status
# One build for all targets; each run below only links to it.
"${FUZZ[@]}" build -O --debug-assertions >/dev/null

# Runs one target; prints its line and leaves "ok" or "CRASH" in logs/<t>.status.
run_one() {
    local t=$1 start status runs
    mkdir -p "corpus/$t"
    start=$(date +%s)
    if "${FUZZ[@]}" run -O --debug-assertions "$t" "corpus/$t" -- \
        -max_total_time="$SECS" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
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
