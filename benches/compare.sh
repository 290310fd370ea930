#!/usr/bin/env bash
# tapwatch vs Suricata, side by side on one generated mirror capture.
#
#   benches/compare.sh [--size 1G] [--pairs 3] [--work DIR] [--out FILE]
#                      [--sets none,bundled,etopen,truncated]
#
# Writes a deterministic VXLAN mirror capture (mirrorgen workload: HTTP,
# TLS, PostgreSQL, DNS, ICMP from three mirror sessions, 0.5% attack
# payloads) and a copy truncated to 128 bytes per packet, checks that
# Suricata parses the protocols in it, then runs `tapwatch replay` and
# `suricata -r --runmode single` alternately (A B A B ...) per rule set:
#   none       no rules
#   bundled    etc/tapwatch.rules
#   etopen     ET Open (../shared/rulesets/et-open) restricted to the rules
#              both engines load
#   truncated  ET Open (same subset) on the 128-byte-truncated capture
# Suricata runs with its stock suricata.yaml plus PostgreSQL parsing (off in
# the stock file; tapwatch parses it), so both engines parse the same
# protocols.
# and reports medians of wall time, packet-processing time (wall minus rule
# loading), packets/s, Gbit/s, user+sys CPU and peak RSS, the alert counts
# of both, and the tapwatch/Suricata ratio of each pair. Also the floor:
# `mirrorgen walk`, which only steps through the pcap records.
#
# Suricata's rule-loading time is measured by running it with the same rules
# on the first 100 packets of the capture (startup, loading and shutdown);
# tapwatch reports its own loading and processing times.
#
# Needs: suricata 7 (../shared/tools/install-suricata.sh), python3, GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SIZE=1G
PAIRS=3
WORK=${TMPDIR:-/tmp}/tapwatch-compare
OUT=""
SETS=none,bundled,etopen,truncated
ET="$ROOT/../shared/rulesets/et-open"
while [ $# -gt 0 ]; do
    case "$1" in
        --size) SIZE=$2; shift 2 ;;
        --pairs) PAIRS=$2; shift 2 ;;
        --work) WORK=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --sets) SETS=$2; shift 2 ;;
        --et) ET=$2; shift 2 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
command -v suricata >/dev/null || { echo "suricata not found: run ../shared/tools/install-suricata.sh" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "GNU time (/usr/bin/time) not found: apt-get install time" >&2; exit 1; }
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)

cargo build --release --quiet -p tapwatch -p tapwatch-gen
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
TW="$TARGET/release/tapwatch"
GEN="$TARGET/release/mirrorgen"

CAP="$WORK/mirror-$SIZE.pcap"
TRUNC="$WORK/mirror-$SIZE-t128.pcap"
[ -s "$CAP" ] || "$GEN" workload --size "$SIZE" --attacks 5 "$CAP"
[ -s "$TRUNC" ] || "$GEN" workload --size "$SIZE" --attacks 5 --truncate 128 "$TRUNC"

# Rule sets.
: > "$WORK/none.rules"
cp etc/tapwatch.rules "$WORK/bundled.rules"
if [[ ",$SETS," == *,etopen,* || ",$SETS," == *,truncated,* ]]; then
    cat "$ET"/*.rules > "$WORK/et-all.rules"
    "$TW" rules check "$WORK/et-all.rules" --json > "$WORK/et-tapwatch.json" || true
    suricata -T -S "$WORK/et-all.rules" -l "$WORK" > "$WORK/et-suricata.txt" 2>&1 || true
    python3 - "$WORK" <<'EOF'
import json, re, sys
work = sys.argv[1]
bad = set()
for e in json.load(open(f"{work}/et-tapwatch.json"))["errors"]:
    bad.add(e["line"])
tw = len(bad)
for l in open(f"{work}/et-suricata.txt", errors="replace"):
    m = re.search(r'error parsing signature .* at line (\d+)', l)
    if m:
        bad.add(int(m.group(1)))
lines = open(f"{work}/et-all.rules", errors="replace").read().split("\n")
keep = [l for i, l in enumerate(lines, 1) if i not in bad]
open(f"{work}/etopen.rules", "w").write("\n".join(keep))
enabled = sum(1 for l in keep if re.match(r'^(alert|drop|pass|reject)\s', l))
print(f"ET Open common subset: {enabled} enabled rules "
      f"(tapwatch skips {tw}, Suricata fails {len(bad) - tw} more)")
EOF
fi

# head_pcap SRC DST: the first 100 records of SRC (for timing startup and
# rule loading without traffic).
head_pcap() {
    python3 - "$1" "$2" 100 <<'PY'
import struct, sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(src, "rb") as f, open(dst, "wb") as o:
    hdr = f.read(24); o.write(hdr)
    end = "<" if hdr[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    for _ in range(n):
        rh = f.read(16)
        if len(rh) < 16: break
        caplen = struct.unpack(end + "IIII", rh)[2]
        o.write(rh + f.read(caplen))
PY
}

# run_one ENGINE RULES PCAP OUTDIR -> prints "wall user sys maxrss_kib"
run_one() {
    local engine=$1 rules=$2 pcap=$3 out=$4
    rm -rf "$out"; mkdir -p "$out"
    if [ "$engine" = tapwatch ]; then
        /usr/bin/time -f "%e %U %S %M" -o "$out/time" "$TW" replay -r "$pcap" -S "$rules" -l "$out" > "$out/summary.txt" 2>&1
    else
        /usr/bin/time -f "%e %U %S %M" -o "$out/time" suricata --runmode single -k none --set app-layer.protocols.pgsql.enabled=yes -r "$pcap" -S "$rules" -l "$out" > "$out/summary.txt" 2>&1
    fi
    tail -1 "$out/time"
}

RES="$WORK/results.tsv"
: > "$RES"
echo "== floor"
"$GEN" walk "$CAP" > /dev/null  # warm the page cache
FLOOR=$("$GEN" walk "$CAP")
echo "$FLOOR"
echo -e "floor\t$FLOOR" >> "$RES"

IFS=, read -ra SETLIST <<< "$SETS"
for set in "${SETLIST[@]}"; do
    case $set in
        none) rules="$WORK/none.rules"; pcap=$CAP ;;
        bundled) rules="$WORK/bundled.rules"; pcap=$CAP ;;
        etopen) rules="$WORK/etopen.rules"; pcap=$CAP ;;
        truncated) rules="$WORK/etopen.rules"; pcap=$TRUNC ;;
        *) echo "unknown set $set" >&2; exit 2 ;;
    esac
    echo "== $set"
    # Suricata's startup + rule loading, on a 100-packet capture.
    head_pcap "$pcap" "$WORK/head.pcap"
    sload=$(run_one suricata "$rules" "$WORK/head.pcap" "$WORK/sload-$set" | awk '{print $1}')
    for i in $(seq 1 "$PAIRS"); do
        if [ "$set" = none ]; then
            # The floor again right before each no-rules run: this machine's
            # speed drifts, and the two should see the same moment.
            fl=$("$GEN" walk "$CAP")
            echo -e "floor\t$i\t$fl" >> "$RES"
        fi
        t=$(run_one tapwatch "$rules" "$pcap" "$WORK/tw-$set-$i")
        s=$(run_one suricata "$rules" "$pcap" "$WORK/su-$set-$i")
        echo -e "$set\t$i\ttapwatch\t$t\t$WORK/tw-$set-$i" >> "$RES"
        echo -e "$set\t$i\tsuricata\t$s\t$WORK/su-$set-$i\t$sload" >> "$RES"
        echo "  pair $i: tapwatch [$t]  suricata [$s]"
    done
done

python3 - "$RES" "$CAP" "$TRUNC" "$SIZE" "$PAIRS" "${OUT:-}" <<'EOF'
import collections, datetime, json, os, platform, re, statistics, subprocess, sys
res, cap, trunc, size, pairs, out = sys.argv[1:7]

def alerts(d):
    c = collections.Counter()
    try:
        for l in open(os.path.join(d, "eve.json"), errors="replace"):
            if '"event_type":"alert"' in l:
                r = json.loads(l)
                c[r["alert"]["signature_id"]] += 1
    except FileNotFoundError:
        pass
    return c

def suricata_stats(d):
    """Packets and app-layer flow counts from Suricata's last stats record."""
    last = None
    for l in open(os.path.join(d, "eve.json"), errors="replace"):
        if '"event_type":"stats"' in l:
            last = l
    if not last:
        return 0, {}
    s = json.loads(last)["stats"]
    flows = s.get("app_layer", {}).get("flow", {})
    return s.get("decoder", {}).get("pkts", 0), {k: flows.get(k, 0) for k in ("http", "tls", "pgsql", "dns_udp", "dns_tcp")}

rows = collections.defaultdict(lambda: {"tapwatch": [], "suricata": []})
floor = ""
pair_floors = {}
for line in open(res):
    f = line.rstrip("\n").split("\t")
    if f[0] == "floor":
        if len(f) == 2:
            floor = f[1]
        else:
            pair_floors[int(f[1])] = float(re.search(r"([\d.]+) packets/s", f[2]).group(1))
        continue
    setname, i, engine, t, d = f[:5]
    wall, user, sys_, rss = t.split()
    r = {"wall": float(wall), "cpu": float(user) + float(sys_), "rss": int(rss) * 1024, "dir": d}
    summary = open(os.path.join(d, "summary.txt"), errors="replace").read()
    if engine == "tapwatch":
        m = re.search(r"input:\s+\d+ file\(s\), (\d+) packets, (\d+) bytes", summary)
        r["packets"], r["bytes"] = int(m.group(1)), int(m.group(2))
        m = re.search(r"time:\s+([\d.]+)s packet processing", summary)
        r["proc"] = float(m.group(1))
        m = re.search(r"loaded, \d+ failed in ([\d.]+)s", summary)
        r["load"] = float(m.group(1)) if m else 0.0
    else:
        sload = float(f[5])
        r["packets"], r["apps"] = suricata_stats(d)
        # Suricata's own figure when it logged one: "time elapsed" runs from
        # "engine started" (rules loaded) to the end of processing.
        m = None
        try:
            m = re.search(r"time elapsed ([\d.]+)s", open(os.path.join(d, "suricata.log"), errors="replace").read())
        except FileNotFoundError:
            pass
        if m:
            r["proc"] = max(float(m.group(1)), 1e-3)
            r["load"] = max(r["wall"] - r["proc"], 0.0)
        else:
            r["load"] = sload
            r["proc"] = max(r["wall"] - sload, 1e-3)
    if setname == "none" and engine == "tapwatch" and int(i) in pair_floors:
        r["floor"] = pair_floors[int(i)]
    r["alerts"] = alerts(d)
    rows[setname][engine].append(r)

cap_bytes = {"": 0}
def med(xs):
    return statistics.median(xs) if xs else float("nan")

lines = []
w = lines.append
w(f"# tapwatch vs Suricata: replay throughput on a generated mirror capture")
w("")
w(f"Measured {datetime.date.today().isoformat()} with `benches/compare.sh --size {size} --pairs {pairs}` on "
  f"{platform.node()}: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
  f"{round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30)} GiB, Linux {platform.release()}.")
sv = subprocess.run(["suricata", "-V"], capture_output=True, text=True).stdout.strip()
w(f"Suricata: {sv}, `--runmode single -k none --set app-layer.protocols.pgsql.enabled=yes`, stock suricata.yaml (Hyperscan when built with it). "
  "tapwatch: `tapwatch replay` with its defaults (workers = cores, reader on its own thread).")
w("")
w(f"Capture: `mirrorgen workload --size {size} --attacks 5` ({os.path.getsize(cap)/1e6:.0f} MB) and the same with "
  f"`--truncate 128` ({os.path.getsize(trunc)/1e6:.0f} MB).")
w(f"Floor (`mirrorgen walk`, page cache): {floor}")
w("")
w("Packet processing: each engine's own figure. tapwatch reports its loading and processing times; Suricata logs "
  "`time elapsed` from `engine started` (rules loaded) to the end (where missing: its wall time minus its wall time "
  "on the first 100 packets with the same rules). Medians of the pairs; ratio = tapwatch/Suricata throughput, per pair.")
w("")
w("| set | engine | wall s | load s | processing s | packets/s | Gbit/s | user+sys s | peak RSS MB | alerts | ratio per pair |")
w("|---|---|---|---|---|---|---|---|---|---|---|")
notes = []
for setname, e in rows.items():
    t, s = e["tapwatch"], e["suricata"]
    ratios = [ (b["proc"] / a["proc"]) for a, b in zip(t, s)]
    for engine, rs in (("tapwatch", t), ("suricata", s)):
        if not rs:
            continue
        pk = rs[0]["packets"] or t[0]["packets"]
        byt = t[0]["bytes"]
        proc = med([r["proc"] for r in rs])
        al = sum(rs[0]["alerts"].values())
        ratio = ", ".join(f"{x:.2f}" for x in ratios) if engine == "tapwatch" else ""
        w(f"| {setname} | {engine} | {med([r['wall'] for r in rs]):.2f} | {med([r['load'] for r in rs]):.2f} | {proc:.2f} | "
          f"{pk/proc:,.0f} | {byt*8/proc/1e9:.2f} | {med([r['cpu'] for r in rs]):.2f} | {med([r['rss'] for r in rs])/1e6:.0f} | {al} | {ratio} |")
    if t and s:
        ta, sa = t[0]["alerts"], s[0]["alerts"]
        diff = {sid: (ta.get(sid, 0), sa.get(sid, 0)) for sid in set(ta) | set(sa) if ta.get(sid, 0) != sa.get(sid, 0)}
        if diff:
            notes.append(f"- {setname}: alert counts differ for {len(diff)} sids (sid: tapwatch, Suricata): "
                         + ", ".join(f"{k}: {v[0]}, {v[1]}" for k, v in sorted(diff.items())[:20]))
        else:
            notes.append(f"- {setname}: the same alerts per sid ({sum(ta.values())}).")
        if s[0].get("apps"):
            notes.append(f"  Suricata's app-layer flows: {s[0]['apps']}")
tn = rows.get("none", {}).get("tapwatch", [])
fl = [(r["packets"] / r["proc"]) / r["floor"] for r in tn if r.get("floor")]
if fl:
    w("")
    w("Floor ratio (tapwatch with no rules, packets/s, over the walk run just before it), per pair: "
      + ", ".join(f"{x:.1%}" for x in fl) + f"; median {med(fl):.1%}. Walks: "
      + ", ".join(f"{r['floor']:,.0f}" for r in tn if r.get("floor")) + " packets/s.")
w("")
w("Alerts:")
w("")
lines.extend(notes)
text = "\n".join(lines) + "\n"
print(text)
if out:
    open(out, "w").write(text)
EOF
