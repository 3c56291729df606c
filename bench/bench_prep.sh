#!/usr/bin/env bash
# Preparation benchmark: flowpic-prep end to end (read captures, flow table, windows,
# dataset file) on (a) SYNTHETIC captures (flowpic-synth --flows-per-class 10 --seed 1,
# generated once and cached under $BENCH_OUT) labelled by directory, and (b) the nDPI test
# captures at ../shared/data/ndpi/pcap when present (one fixed label: only a speed figure;
# 15 s windows, --keep-going past captures libpcap cannot read).  Wall time, windows/s,
# packets/s (packets kept in windows) and peak RSS (GNU time's %M).
# Usage: bench/bench_prep.sh BIN_DIR      (progress on stderr, markdown table on stdout)
# Environment: BENCH_OUT (default out/bench), NDPI_PCAPS (default ../shared/data/ndpi/pcap).
set -euo pipefail

BIN=${1:?usage: bench_prep.sh BIN_DIR}
OUT=${BENCH_OUT:-out/bench}
NDPI=${NDPI_PCAPS:-../shared/data/ndpi/pcap}
PY=/usr/bin/python3
mkdir -p "$OUT"
RESULTS=$(mktemp)
TMP=$(mktemp -d)
trap 'rm -rf "$RESULTS" "$TMP"' EXIT

# Peak RSS: GNU time when installed (Debian package `time`), else Python's getrusage of
# the finished child.
if [ -x /usr/bin/time ] && /usr/bin/time -f %M true >/dev/null 2>&1; then
    measure() { /usr/bin/time -f %M -o "$TMP/rss" "$@"; }
else
    measure() {
        $PY -c 'import resource, subprocess, sys
rc = subprocess.call(sys.argv[2:])
open(sys.argv[1], "w").write("%d\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(rc)' "$TMP/rss" "$@"
    }
fi

# id (file names), display name, input, flowpic-prep flags
run_prep() {
    local id=$1 name=$2 input=$3; shift 3
    local files bytes
    files=$(find "$input" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) | wc -l)
    bytes=$(find "$input" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) -printf '%s\n' | awk '{s+=$1} END {print s+0}')
    echo "bench_prep: $name: flowpic-prep $input ($files captures)" >&2
    local start end
    start=$(date +%s.%N)
    measure "$BIN/flowpic-prep" "$input" -o "$TMP/$id.fpd" --json -q "$@" > "$TMP/$id.json"
    end=$(date +%s.%N)
    $PY - "$TMP/$id.json" "$name" "$start" "$end" "$(tail -n1 "$TMP/rss")" "$files" "$bytes" "$TMP/$id.fpd" <<'PYEOF' >> "$RESULTS"
import json, os, sys
r = json.load(open(sys.argv[1]))
wall = float(sys.argv[4]) - float(sys.argv[3])
print(json.dumps({"name": sys.argv[2], "captures": int(sys.argv[6]), "bytes": int(sys.argv[7]), "windows": r["windows"],
                  "packets": r["packets"], "wall_s": wall, "rss_kb": int(sys.argv[5]),
                  "dataset_bytes": os.path.getsize(sys.argv[8])}))
PYEOF
}

SYNTH="$OUT/synth-prep"
if [ ! -s "$SYNTH/.done" ]; then
    echo "bench_prep: generating $SYNTH (synthetic, 10 flows per class, seed 1)" >&2
    rm -rf "$SYNTH"
    "$BIN/flowpic-synth" --out "$SYNTH" --flows-per-class 10 --seed 1 -q >&2
    date -u > "$SYNTH/.done"
fi
run_prep synth "synthetic (flowpic-synth, 10 flows/class)" "$SYNTH" --label-from-dir
if [ -d "$NDPI" ]; then
    run_prep ndpi "nDPI test captures" "$NDPI" --label any --window 15 --keep-going
else
    echo "bench_prep: $NDPI not found: no nDPI row" >&2
fi

$PY - "$RESULTS" <<'PYEOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def rate(v):
    return "%.2f M" % (v / 1e6) if v >= 1e6 else "%.1f k" % (v / 1e3) if v >= 1e3 else "%.0f" % v
print("### flowpic-prep end to end (captures -> dataset file), one process")
print()
print("| input | captures | MB read | windows | packets in windows | wall | windows/s | packets/s | peak RSS | dataset file |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    w = max(r["wall_s"], 1e-9)
    print("| %s | %d | %.1f | %d | %d | %.2f s | %s | %s | %.0f MB | %.1f MB |" % (
        r["name"], r["captures"], r["bytes"] / 1e6, r["windows"], r["packets"], r["wall_s"],
        rate(r["windows"] / w), rate(r["packets"] / w), r["rss_kb"] / 1024, r["dataset_bytes"] / 1e6))
PYEOF
