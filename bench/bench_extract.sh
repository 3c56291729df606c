#!/usr/bin/env bash
# Extraction benchmark: flowpic-extract --flows against the dpkt and scapy equivalents
# (bench/extract_dpkt.py, bench/extract_scapy.py, run with Debian's /usr/bin/python3) on
# the same >= 1 M-packet capture, in one run.  The capture is SYNTHETIC (flowpic-synth
# --mix), generated once and cached under $BENCH_OUT (default out/bench).
# Usage: bench/bench_extract.sh BIN_DIR      (progress on stderr, markdown table on stdout)
# Environment: BENCH_OUT, BENCH_FLOWS_PER_CLASS (default 5), SCAPY_LIMIT (default 100000).
set -euo pipefail

BIN=${1:?usage: bench_extract.sh BIN_DIR}
OUT=${BENCH_OUT:-out/bench}
N=${BENCH_FLOWS_PER_CLASS:-5}
SCAPY_LIMIT=${SCAPY_LIMIT:-100000}
PY=/usr/bin/python3
HERE=$(cd "$(dirname "$0")" && pwd)
MIN_PACKETS=1000000
mkdir -p "$OUT"

# --- the capture: flowpic-synth --mix, regenerated with more flows until >= 1 M packets
CAPTURE=
while :; do
    CAPTURE="$OUT/mix-seed1-n$N.pcap"
    if [ ! -s "$CAPTURE" ] || [ ! -s "$CAPTURE.json" ]; then
        echo "bench_extract: generating $CAPTURE (synthetic, $N flows per class)" >&2
        "$BIN/flowpic-synth" --out "$OUT/synth-n$N" --flows-per-class "$N" --seed 1 \
            --mix "$CAPTURE" --json -q > "$CAPTURE.json"
        rm -rf "$OUT/synth-n$N"  # only the mix is needed
    fi
    PACKETS=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["mix_packets"])' "$CAPTURE.json")
    [ "$PACKETS" -ge "$MIN_PACKETS" ] && break
    N=$((N * 2))
done
SIZE=$(stat -c %s "$CAPTURE")
echo "bench_extract: $CAPTURE: $PACKETS packets, $((SIZE / 1000000)) MB" >&2

RESULTS=$(mktemp)
trap 'rm -f "$RESULTS"' EXIT

# --- flowpic-extract: best of 3 (its --json gives packets and seconds)
if [ -x "$BIN/flowpic-extract" ]; then
    for i in 1 2 3; do
        echo "bench_extract: flowpic-extract run $i/3" >&2
        "$BIN/flowpic-extract" "$CAPTURE" --json -q   # counts only: no output file
    done | $PY -c '
import json, sys
size = int(sys.argv[1])
runs = [json.loads(l) for l in sys.stdin if l.strip().startswith("{")]
best = min(runs, key=lambda r: r["seconds"])
s = best["seconds"]
print(json.dumps({"tool": "flowpic-extract --flows (best of 3)", "packets": best["packets"], "seconds": s,
                  "packets_per_s": best["packets"] / s, "mb_per_s": size / 1e6 / s,
                  "flows": best.get("flows")}))' "$SIZE" >> "$RESULTS"
else
    echo "bench_extract: $BIN/flowpic-extract not built; its row is missing" >&2
fi

# --- the Python baselines, same file, same run
echo "bench_extract: dpkt (all $PACKETS packets; slow)" >&2
$PY "$HERE/extract_dpkt.py" "$CAPTURE" >> "$RESULTS"
echo "bench_extract: scapy (first $SCAPY_LIMIT packets)" >&2
$PY "$HERE/extract_scapy.py" "$CAPTURE" --limit "$SCAPY_LIMIT" | \
    $PY -c 'import json,sys; r=json.loads(sys.stdin.read()); r["tool"] += " (first %d packets)" % r["packets"]; print(json.dumps(r))' \
    >> "$RESULTS"

# --- the table
$PY - "$RESULTS" "$CAPTURE" "$PACKETS" "$SIZE" <<'PYEOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
capture, packets, size = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ref = next((r for r in rows if r["tool"].startswith("flowpic")), None)
def rate(v):
    return "%.2f M" % (v / 1e6) if v >= 1e6 else "%.1f k" % (v / 1e3)
print("### Packet extraction (bidirectional flow table, per-direction counts)")
print()
print("Capture: `%s`, %d packets, %.1f MB (synthetic, flowpic-synth --mix); one core." % (capture, packets, size / 1e6))
print()
print("| tool | packets | packets/s | MB/s | flowpic speed-up |")
print("|---|---:|---:|---:|---:|")
for r in rows:
    ratio = "%.1f×" % (ref["packets_per_s"] / r["packets_per_s"]) if ref and r["packets_per_s"] > 0 else "n/a"
    print("| %s | %d | %s | %.1f | %s |" % (r["tool"], r["packets"], rate(r["packets_per_s"]), r["mb_per_s"], ratio))
if ref is None:
    print()
    print("flowpic-extract was not built: no reference row.")
PYEOF
