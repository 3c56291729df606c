#!/usr/bin/env bash
# Binning benchmark: the reference and optimised CPU binning (flowpic-bench binning: sparse
# and dense, one window and a batch of 128) against numpy.histogram2d as the FlowPic
# authors call it (bench/binning_numpy.py with Debian's /usr/bin/python3), on the same
# random 3,000-packet, 60 s window, in one run.  numpy has no batch form (the authors
# loop over windows), so every row's speed-up is against numpy's time per window.
# Usage: bench/bench_binning.sh BIN_DIR      (progress on stderr, markdown table on stdout)
# Environment: BENCH_OUT (default out/bench), BENCH_MIN_TIME (seconds per figure, default 0.5).
set -euo pipefail

BIN=${1:?usage: bench_binning.sh BIN_DIR}
OUT=${BENCH_OUT:-out/bench}
MIN_TIME=${BENCH_MIN_TIME:-0.5}
PY=/usr/bin/python3
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
WINDOW="$OUT/binning-window.txt"
FLOWPIC="$OUT/binning-flowpic.json"
NUMPY="$OUT/binning-numpy.jsonl"

"$BIN/flowpic-bench" binning --dump-window "$WINDOW"
echo "bench_binning: flowpic-bench binning (reference and optimised, batch 1 and 128)" >&2
"$BIN/flowpic-bench" binning --json --min-time "$MIN_TIME" > "$FLOWPIC"
# The batch rows again on one thread: on a small shared machine a second OpenMP thread
# can cost more (waiting for a busy core at the barrier) than it brings.
echo "bench_binning: the same on one thread (OMP_NUM_THREADS=1)" >&2
OMP_NUM_THREADS=1 "$BIN/flowpic-bench" binning --json --min-time "$MIN_TIME" > "$FLOWPIC.1"
echo "bench_binning: numpy.histogram2d on the same window" >&2
$PY "$HERE/binning_numpy.py" "$WINDOW" --resolutions 1500,64 --min-time "$MIN_TIME" > "$NUMPY"

$PY - "$FLOWPIC" "$NUMPY" "$FLOWPIC.1" <<'PYEOF'
import json, sys
fp = json.load(open(sys.argv[1]))
numpy = {r["resolution"]: r for r in map(json.loads, open(sys.argv[2])) if r}
one = json.load(open(sys.argv[3]))
for r in fp["results"]:
    r["threads"] = fp["threads"] if r["batch"] > 1 else 1
if fp["threads"] > 1:  # batch rows on one thread too (batch-1 rows are one thread already)
    fp["results"] += [dict(r, threads=1) for r in one["results"] if r["batch"] > 1]
def dur(s):
    return "%.1f ms" % (s * 1e3) if s >= 1e-3 else "%.2f µs" % (s * 1e6)
def rate(v):
    return "%.2f M" % (v / 1e6) if v >= 1e6 else "%.1f k" % (v / 1e3) if v >= 1e3 else "%.0f" % v
print("### Binning one window (%d packets, %d s; %s)" % (fp["packets"], fp["window_s"], fp["options"]))
print()
print("Random window, sizes drawn like real traffic (~45%% ACK-sized, ~40%% 1400-1500 B); numpy %s "
      "histogram2d as the FlowPic authors call it.  Medians of many runs." % numpy[min(numpy)]["numpy"])
print()
print("| method | resolution | batch | threads | time per window | windows/s | speed-up vs numpy |")
print("|---|---:|---:|---:|---:|---:|---:|")
rows = sorted(fp["results"], key=lambda r: (-r["resolution"], r["batch"], -r["threads"]))
for n in sorted(numpy, reverse=True):
    r = numpy[n]
    print("| numpy.histogram2d | %d² | 1 | 1 | %s | %s | 1× |" % (n, dur(r["s_per_window"]), rate(r["windows_per_s"])))
    for r in (x for x in rows if x["resolution"] == n):
        print("| flowpic %s | %d² | %d | %d | %s | %s | %.0f× |" % (r["method"], n, r["batch"], r["threads"], dur(r["s_per_window"]),
              rate(r["windows_per_s"]), numpy[n]["s_per_window"] / r["s_per_window"]))
PYEOF
