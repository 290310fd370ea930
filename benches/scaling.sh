#!/usr/bin/env bash
# Detection scaling: tapwatch replay throughput with growing random subsets
# of the ET Open rules both engines load (as benches/compare.sh writes them
# to $WORK/etopen.rules), on one capture.
#
#   benches/scaling.sh [--work DIR] [--capture FILE] [--runs 3] [--counts 5000,15000,all]
#
# Subsets are drawn with a fixed seed, so runs are comparable. Prints, per
# subset, the median packet-processing time and packets/s over the runs,
# then the drop from the first subset to the last.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
WORK=${TMPDIR:-/tmp}/tapwatch-compare
CAP=""
RUNS=3
COUNTS=5000,15000,all
while [ $# -gt 0 ]; do
    case "$1" in
        --work) WORK=$2; shift 2 ;;
        --capture) CAP=$2; shift 2 ;;
        --runs) RUNS=$2; shift 2 ;;
        --counts) COUNTS=$2; shift 2 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
RULES="$WORK/etopen.rules"
[ -f "$RULES" ] || { echo "$RULES not found: run benches/compare.sh --sets etopen first" >&2; exit 1; }
[ -n "$CAP" ] || CAP="$WORK/mirror-1G.pcap"
[ -f "$CAP" ] || { echo "capture $CAP not found" >&2; exit 1; }
cargo build --release --quiet -p tapwatch
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
TW="$TARGET/release/tapwatch"

python3 - "$TW" "$RULES" "$CAP" "$RUNS" "$COUNTS" "$WORK" <<'EOF'
import random, re, statistics, subprocess, sys
tw, rules, cap, runs, counts, work = sys.argv[1:]
lines = [l for l in open(rules, encoding="utf-8", errors="replace") if re.match(r"^\s*(alert|drop|pass|reject)\b", l)]
order = list(range(len(lines)))
random.Random(9).shuffle(order)
results = []
for c in counts.split(","):
    n = len(lines) if c == "all" else min(int(c), len(lines))
    path = f"{work}/scaling-{n}.rules"
    with open(path, "w") as f:
        f.writelines(lines[i] for i in sorted(order[:n]))
    times, pps = [], []
    for _ in range(int(runs)):
        out = subprocess.run([tw, "replay", "-r", cap, "-S", path, "-l", work, "--eve", "scaling-eve.json"],
                             capture_output=True, text=True).stderr
        m = re.search(r"time:\s+([\d.]+)s packet processing, (\d+) packets/s", out)
        if not m:
            sys.exit(f"no timing in tapwatch output:\n{out}")
        times.append(float(m.group(1)))
        pps.append(int(m.group(2)))
    results.append((n, statistics.median(times), statistics.median(pps)))
    print(f"{n:>6} rules: {statistics.median(times):.3f} s packet processing, {statistics.median(pps):,.0f} packets/s (runs: {', '.join(f'{t:.3f}' for t in times)})")
first, last = results[0], results[-1]
print(f"drop from {first[0]} to {last[0]} rules: {100 * (1 - last[2] / first[2]):.0f}%")
EOF
