#!/usr/bin/env bash
# Time-series input benchmark: the UCDavis-QUIC per-flow text files (5,175 files, 1.2 GB,
# 34 M packets) through (a) flowpic-extract (read and parse only: --json counts) and
# (b) flowpic-prep --label-from-dir --flows bi --window 15 --min-span 0 (read, window,
# write the dataset).  Files/s, packets/s, MB/s of input and peak RSS (GNU time's %M).
# Needs the extracted tree (the archives of ../shared/data/ucdavis-quic unpacked, one
# directory per class); skips with a message when it is absent.
# Usage: bench/bench_timeseries.sh BIN_DIR   (progress on stderr, markdown table on stdout)
# Environment: UCDAVIS_DIR (default: the first of ../out/ucdavis, out/ucdavis that exists).
set -euo pipefail

BIN=${1:?usage: bench_timeseries.sh BIN_DIR}
PY=/usr/bin/python3
DATA=${UCDAVIS_DIR:-}
if [ -z "$DATA" ]; then
    for d in ../out/ucdavis out/ucdavis; do
        if [ -d "$d/Youtube" ]; then DATA=$d; break; fi
    done
fi
echo "### Time-series input (UCDavis-QUIC text files)"
echo
if [ -z "$DATA" ] || [ ! -d "$DATA/Youtube" ]; then
    echo "bench_timeseries: no UCDavis-QUIC tree (set UCDAVIS_DIR, or extract the archives to ../out/ucdavis); skipped" >&2
    echo "Skipped: no extracted UCDavis-QUIC tree (UCDAVIS_DIR, ../out/ucdavis or out/ucdavis)."
    exit 0
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# The class directories are "Google Doc" ...: a view with names without spaces, so the
# run does not depend on whether --label-from-dir takes class names with spaces.
mkdir -p "$TMP/view"
for d in "$DATA"/*/; do
    name=$(basename "$d")
    ln -s "$(cd "$d" && pwd)" "$TMP/view/${name// /}"
done
files=$(find -L "$TMP/view" -type f -name '*.txt' | wc -l)
bytes=$(find -L "$TMP/view" -type f -name '*.txt' -printf '%s\n' | awk '{s+=$1} END {print s+0}')

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

row() {  # name, start, end, json file, packets key
    $PY - "$@" "$(tail -n1 "$TMP/rss")" "$files" "$bytes" <<'PYEOF'
import json, sys
name, start, end, path, key, rss, files, size = sys.argv[1:9]
r = json.load(open(path))
wall = float(end) - float(start)
packets = r[key]
print("| %s | %d | %.1f | %.2f | %.0f | %.1f | %.0f | %.0f |" % (
    name, int(files), int(size) / 1e6, wall, int(files) / wall, packets / wall / 1e6, int(size) / wall / 1e6,
    int(rss) / 1024))
PYEOF
}

echo "bench_timeseries: flowpic-extract $DATA ($files files)" >&2
start=$(date +%s.%N)
measure "$BIN/flowpic-extract" "$TMP/view" --json -q > "$TMP/extract.json"
end=$(date +%s.%N)
R1=$(row "flowpic-extract (read, parse)" "$start" "$end" "$TMP/extract.json" packets)

echo "bench_timeseries: flowpic-prep $DATA ($files files)" >&2
start=$(date +%s.%N)
measure "$BIN/flowpic-prep" "$TMP/view" -o "$TMP/ucdavis.fpd" --label-from-dir --flows bi --window 15 --min-span 0 \
    --json -q > "$TMP/prep.json"
end=$(date +%s.%N)
R2=$(row "flowpic-prep (read, 15 s windows, dataset)" "$start" "$end" "$TMP/prep.json" packets)

echo "| run | files | MB | wall s | files/s | M packets/s | MB/s | peak RSS MB |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
echo "$R1"
echo "$R2"
echo
echo "Input: $DATA (one flow per file; $(nproc) cores; page cache warm after the first run)."
