#!/usr/bin/env bash
# Classical baselines on UCDavis-QUIC (the seed study's second half, done without leaks):
# per-window statistics of the IMC'23 few-shot datasets (flowpic-render --features, no
# address, port or name; docs/FEATURES.md) -> Random Forest, Extra Trees, XGBoost
# (bench/classical.py) on each split's own train / validation / test flows, several seeds,
# beside flowpic's LeNet 32x32 on the same splits when bench_ucdavis.sh's runs are there.
#   per split K: flowpic-render $DATA/splitK.fpd --features (timed) -> classical.py
#   -> one markdown table: accuracy (mean and 95% CI over splits x seeds), macro-F1, train
#      s per run, predict us per window (whole test split, 1 thread), batch-1 p50 us.
# Data: the datasets bench_ucdavis.sh prepares (flowpic-prep DIR --label-from-dir --first 15
# --clip-sizes --split-per-class 100 --split-index K), found in CLASSICAL_DATA (default
# UCDAVIS_OUT, default out/ucdavis); only read.  No dataset there: the section says so and
# succeeds.  Without scikit-learn it says what to install and succeeds.
# Usage: bench/bench_classical.sh BIN_DIR   (progress on stderr, markdown table on stdout)
# Environment: CLASSICAL_DATA, CLASSICAL_OUT (results; default out/classical),
# CLASSICAL_SPLITS (default "0"), CLASSICAL_SEEDS (default 1,2,3), CLASSICAL_MODELS (default
# rf,et,xgb), CLASSICAL_THREADS (training threads, default 1).  Tests of classical.py:
# /usr/bin/python3 -m unittest bench/test_classical.py
set -euo pipefail

BIN=${1:?usage: bench_classical.sh BIN_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=${CLASSICAL_DATA:-${UCDAVIS_OUT:-out/ucdavis}}
OUT=${CLASSICAL_OUT:-out/classical}
SPLITS=${CLASSICAL_SPLITS:-0}
SEEDS=${CLASSICAL_SEEDS:-1,2,3}
MODELS=${CLASSICAL_MODELS:-rf,et,xgb}
THREADS=${CLASSICAL_THREADS:-1}
PY=/usr/bin/python3
log() { echo "bench_classical: $*" >&2; }
TITLE="### Classical baselines on UCDavis-QUIC window statistics"

for K in $SPLITS; do
    if [ ! -f "$DATA/split$K.fpd" ]; then
        log "no dataset $DATA/split$K.fpd (bench_ucdavis.sh prepares it; or set CLASSICAL_DATA)"
        echo "$TITLE: skipped (no $DATA/split$K.fpd: run bench/bench_ucdavis.sh first or set CLASSICAL_DATA)"
        exit 0
    fi
done
if ! "$PY" -c 'import sklearn, numpy' 2>/dev/null; then
    log "scikit-learn or numpy missing"
    echo "$TITLE: skipped (apt-get install python3-sklearn python3-numpy; python3-xgboost for XGBoost)"
    exit 0
fi
mkdir -p "$OUT"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
now() { date +%s.%N; }
RUNS=$OUT/runs.jsonl
: > "$RUNS"
FEAT_TIMES=()
START=$(now)
for K in $SPLITS; do
    F=$OUT/split$K.csv
    a=$(now)
    "$BIN/flowpic-render" "$DATA/split$K.fpd" --features "$F" -q
    b=$(now)
    FEAT_TIMES+=("$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b - a }')")
    log "split $K: features in ${FEAT_TIMES[-1]} s; $MODELS, seeds $SEEDS"
    "$PY" "$HERE/classical.py" --features "$F" --models "$MODELS" --seeds "$SEEDS" --threads "$THREADS" \
        --json "$OUT/split$K.jsonl" > /dev/null
    "$PY" -c 'import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line); r["split"] = int(sys.argv[2]); print(json.dumps(r))' "$OUT/split$K.jsonl" "$K" >> "$RUNS"
done
END=$(now)

"$PY" - "$RUNS" "$DATA/flowpic_runs.jsonl" "$SPLITS" "$START" "$END" "${FEAT_TIMES[*]}" "$LOAD_BEFORE" \
    "$(cut -d' ' -f1-3 /proc/loadavg)" "$THREADS" "$DATA" <<'PYEOF' | tee "$OUT/results.md"
import json, math, os, sys
runs_path, fp_path, splits, start, end, feat, load0, load1, threads, data = sys.argv[1:11]
splits = [int(s) for s in splits.split()]
runs = [json.loads(l) for l in open(runs_path)]
names = {"rf": "Random Forest", "et": "Extra Trees", "xgb": "XGBoost", "bag": "Bagging"}

def ci(v):
    n = len(v)
    m = sum(v) / n
    if n < 2:
        return m, 0.0
    s = math.sqrt(sum((x - m) ** 2 for x in v) / (n - 1))
    try:
        from scipy.stats import t
        q = float(t.ppf(0.975, n - 1))
    except ImportError:
        q = 1.96
    return m, q * s / math.sqrt(n)

def mean(v):
    return sum(v) / len(v)

print("### Classical baselines on UCDavis-QUIC window statistics (first 15 s, few-shot splits %s)" % " ".join(map(str, splits)))
print()
print("Features: flowpic-render --features (81 columns: counts, bytes, size and gap statistics per direction, first 10"
      " sizes and directions; no address, port or name); train on the split's train flows (XGBoost: validation for"
      " early stopping), test on its leftover flows; %s training thread(s), prediction timed on 1." % threads)
print()
print("| model | runs | accuracy % (95% CI) | macro-F1 | train s/run | µs/window (whole test split) | batch-1 µs p50 |")
print("|---|---:|---:|---:|---:|---:|---:|")
for m in [m for m in names if any(r["model"] == m for r in runs)]:
    rs = [r for r in runs if r["model"] == m]
    a, h = ci([100 * r["accuracy"] for r in rs])
    print("| %s | %d | %.2f ± %.2f | %.4f | %.2f | %.2f | %.0f |" % (
        names[m], len(rs), a, h, mean([r["macro_f1"] for r in rs]), mean([r["train_s"] for r in rs]),
        mean([r["latency_us_per_window"] for r in rs]), mean([r["latency_us_batch1"] for r in rs])))
fp = []
if os.path.exists(fp_path):
    fp = [r for r in (json.loads(l) for l in open(fp_path))
          if r.get("resolution") == 32 and r.get("augment") == "none" and r.get("split") in splits]
if fp:
    a, h = ci([100 * r["accuracy"] for r in fp])
    print("| flowpic LeNet 32×32, no augmentation (bench_ucdavis.sh runs) | %d | %.2f ± %.2f | %.4f | %.2f | | |" % (
        len(fp), a, h, mean([r["macro_f1"] for r in fp]), mean([r["train_s"] for r in fp])))
else:
    print("| flowpic LeNet 32×32, no augmentation | (no bench_ucdavis.sh runs in %s; README: 96.35%% over 5 splits × 3 seeds) | | | | | |" % data)
print()
print("Wall time %.1f s (features %s s per split, the rest training and testing); load average before/after: %s / %s (%d cores)." % (
    float(end) - float(start), ", ".join(feat.split()), load0, load1, os.cpu_count()))
PYEOF
