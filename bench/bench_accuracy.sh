#!/usr/bin/env bash
# Accuracy parity with PyTorch (the trust check): flowpic-train + flowpic-infer against
# bench/train_torch.py (the same net in PyTorch, Debian's /usr/bin/python3 and
# python3-torch 1.13, CPU) with the same hyper-parameters (Adam 1e-3, 0.9/0.999, eps 1e-7,
# batch, epochs, cross-entropy, glorot-uniform weights, zero biases, dropout as in the net,
# best model by validation loss) on the same SYNTHETIC dataset and the same test split,
# over several seeds each, in one run.
#
# Data: flowpic-synth (BENCH_ACC_FLOWS_PER_CLASS flows per class, seed 1) -> flowpic-prep
# --label-from-dir --window 10 (split by capture, 0.8/0.1/0.1) -> the model trains on the
# packet lists (flowpic-train bins on the fly) while PyTorch trains on flowpic-render
# --npy-dataset of the same windows at the same binning; both are scored on the test rows
# of that export (flowpic through flowpic-infer --images on exactly those images).
# Cached under $BENCH_OUT/accuracy (the 0.6 GB of captures are deleted after prep).
#
# Threads: both frameworks get the same count, BENCH_ACC_THREADS (default 1).  On the
# shared 2-core development VM two OpenMP threads per process collapse whenever the other
# core is busy (measured 5-8x slower for both), so one thread is the stable comparison;
# set BENCH_ACC_THREADS=2 on an idle machine.
# Usage: bench/bench_accuracy.sh BIN_DIR   (progress on stderr, markdown table on stdout)
# Environment: BENCH_OUT (default out/bench), BENCH_ACC_SEEDS (default "1 2 3"),
# BENCH_ACC_EPOCHS (15), BENCH_ACC_BATCH (128), BENCH_ACC_RES (32), BENCH_ACC_VALUES
# (binary), BENCH_ACC_ARCH (lenet), BENCH_ACC_FLOWS_PER_CLASS (40), BENCH_ACC_WINDOW (10),
# BENCH_ACC_THREADS (1).
set -euo pipefail

BIN=${1:?usage: bench_accuracy.sh BIN_DIR}
OUT=${BENCH_OUT:-out/bench}/accuracy
SEEDS=${BENCH_ACC_SEEDS:-1 2 3}
EPOCHS=${BENCH_ACC_EPOCHS:-15}
BATCH=${BENCH_ACC_BATCH:-128}
RES=${BENCH_ACC_RES:-32}
VALUES=${BENCH_ACC_VALUES:-binary}
ARCH=${BENCH_ACC_ARCH:-lenet}
FPC=${BENCH_ACC_FLOWS_PER_CLASS:-40}
WINDOW=${BENCH_ACC_WINDOW:-10}
THREADS=${BENCH_ACC_THREADS:-1}
PY=/usr/bin/python3
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
for t in flowpic-synth flowpic-prep flowpic-render flowpic-train flowpic-infer; do
    [ -x "$BIN/$t" ] || { echo "bench_accuracy: $BIN/$t not built" >&2; exit 1; }
done
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# --- the dataset (cached): synthetic captures -> windows -> images
DATA="$OUT/synth-n$FPC-w$WINDOW.fpd"
if [ ! -s "$DATA" ]; then
    echo "bench_accuracy: generating $FPC synthetic flows per class and preparing $WINDOW s windows" >&2
    rm -rf "$OUT/synth"
    "$BIN/flowpic-synth" --out "$OUT/synth" --flows-per-class "$FPC" --seed 1 -q >&2
    "$BIN/flowpic-prep" "$OUT/synth" -o "$DATA.tmp" --label-from-dir --window "$WINDOW" --seed 1 -q >&2
    mv "$DATA.tmp" "$DATA"
    rm -rf "$OUT/synth"
fi
"$BIN/flowpic-prep" --stats "$DATA" --json > "$OUT/stats.json"
NP="$OUT/np-$ARCH-$RES-$VALUES"
echo "bench_accuracy: rendering ${RES}x$RES $VALUES images (flowpic-render --npy-dataset $NP)" >&2
"$BIN/flowpic-render" "$DATA" --npy-dataset "$NP" --resolution "$RES" --values "$VALUES" --npy-dtype f32 -q
# the test rows, in export order, for flowpic-infer --images
$PY - "$NP" <<'PYEOF'
import sys, numpy as np
d = sys.argv[1]
split = np.load(d + "/split.npy")
np.save(d + "/X_test.npy", np.load(d + "/X.npy")[split == 2])
np.save(d + "/y_test.npy", np.load(d + "/y.npy")[split == 2])
PYEOF

RESULTS="$OUT/runs.jsonl"
: > "$RESULTS"
for seed in $SEEDS; do
    echo "bench_accuracy: seed $seed: flowpic-train ($EPOCHS epochs, $THREADS thread(s))" >&2
    M="$OUT/flowpic-seed$seed.safetensors"
    rm -f "$OUT/metrics-seed$seed.jsonl"
    a=$(date +%s.%N)
    "$BIN/flowpic-train" --data "$DATA" -o "$M" --arch "$ARCH" --resolution "$RES" --values "$VALUES" \
        --epochs "$EPOCHS" --batch "$BATCH" --seed "$seed" --lr 1e-3 --device cpu --threads "$THREADS" \
        --metrics "$OUT/metrics-seed$seed.jsonl" --json -q > "$OUT/train-seed$seed.json"
    b=$(date +%s.%N)
    OMP_NUM_THREADS=$THREADS "$BIN/flowpic-infer" --model "$M" --images "$NP/X_test.npy" --output "$OUT/pred-seed$seed.csv" -q
    $PY - "$NP" "$OUT" "$seed" "$a" "$b" >> "$RESULTS" <<'PYEOF'
import csv, json, sys, numpy as np
np_dir, out, seed, a, b = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
classes = [l.strip() for l in open(np_dir + "/classes.txt") if l.strip()]
y = np.load(np_dir + "/y_test.npy")
rows = list(csv.DictReader(open("%s/pred-seed%d.csv" % (out, seed))))
assert len(rows) == len(y), (len(rows), len(y))
pred = [classes.index(r["class"]) for r in rows]
epochs = [json.loads(l) for l in open("%s/metrics-seed%d.jsonl" % (out, seed)) if l.strip()]
best = json.load(open("%s/train-seed%d.json" % (out, seed)))["best_epoch"]
loop = sum(e["seconds"] for e in epochs)
images = sum(e["images_per_s"] * e["seconds"] for e in epochs)
print(json.dumps({"tool": "flowpic", "seed": seed, "accuracy": float(np.mean(np.array(pred) == y)),
                  "test_images": len(y), "best_epoch": best, "seconds": loop, "process_seconds": b - a,
                  "images_per_s": images / loop}))
PYEOF
    echo "bench_accuracy: seed $seed: PyTorch ($EPOCHS epochs, $THREADS thread(s))" >&2
    OMP_NUM_THREADS=$THREADS $PY "$HERE/train_torch.py" --data "$NP" --arch "$ARCH" --epochs "$EPOCHS" \
        --batch "$BATCH" --seed "$seed" --lr 1e-3 --threads "$THREADS" -q >> "$RESULTS"
    tail -n 2 "$RESULTS" | $PY -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l)
    print("bench_accuracy:   %-8s accuracy %.4f, %.1f s, %.0f images/s" % (r["tool"], r["accuracy"], r["seconds"], r["images_per_s"]), file=sys.stderr)'
done

$PY - "$RESULTS" "$OUT/stats.json" "$LOAD_BEFORE" "$(cut -d' ' -f1-3 /proc/loadavg)" \
    "$ARCH" "$RES" "$VALUES" "$EPOCHS" "$BATCH" "$THREADS" "$FPC" "$WINDOW" <<'PYEOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
stats = json.load(open(sys.argv[2]))
load0, load1, arch, res, values, epochs, batch, threads, fpc, window = sys.argv[3:13]

def counts(split):
    """Per-class window counts of one split from flowpic-prep --stats --json, as text."""
    return ", ".join("%s %d" % (c["name"], c[split]) for c in stats["classes"])

print("### Accuracy parity with PyTorch (LeNet/FlowPicNet trained the same way, same test split)")
print()
print("Dataset: SYNTHETIC (flowpic-synth, %s flows per class, seed 1), flowpic-prep %s s windows, split by "
      "capture 0.8/0.1/0.1.  Test windows per class: %s.  Net: %s at %s×%s, %s values; %s epochs, batch %s, "
      "Adam lr 1e-3 β 0.9/0.999 ε 1e-7, glorot-uniform, zero biases, best epoch by validation loss.  "
      "Both on the CPU with %s thread(s); PyTorch %s.  Training time = the epoch loop incl. validation "
      "(flowpic bins the packet lists on the fly inside it; PyTorch reads pre-rendered images); images/s = "
      "training images / that time.  Load average before/after: %s / %s (shared 2-core VM)."
      % (fpc, window, counts("test"), "LeNet" if arch == "lenet" else "FlowPicNet", res, res, values, epochs,
         batch, threads, next((r["backend"] for r in rows if r["tool"] == "pytorch"), "?"), load0, load1))
print()
print("| framework | seeds | test accuracy, mean (min–max) | std | training time, mean | images/s, mean | per seed |")
print("|---|---:|---|---:|---:|---:|---|")
mean = {}
for tool, name in (("flowpic", "flowpic (flowpic-train + flowpic-infer)"), ("pytorch", "PyTorch (bench/train_torch.py)")):
    rs = [r for r in rows if r["tool"] == tool]
    if not rs:
        print("| %s | 0 | missing | | | | |" % name)
        continue
    acc = [100 * r["accuracy"] for r in rs]
    mean[tool] = (statistics.mean(acc), statistics.mean(r["seconds"] for r in rs),
                  statistics.mean(r["images_per_s"] for r in rs))
    std = statistics.stdev(acc) if len(acc) > 1 else 0.0
    print("| %s | %d | %.2f%% (%.2f–%.2f) | %.2f | %.1f s | %.0f | %s |" % (
        name, len(rs), mean[tool][0], min(acc), max(acc), std, mean[tool][1], mean[tool][2],
        ", ".join("s%d %.2f%%" % (r["seed"], 100 * r["accuracy"]) for r in rs)))
print()
if len(mean) == 2:
    d = mean["flowpic"][0] - mean["pytorch"][0]
    speed = mean["pytorch"][1] / mean["flowpic"][1]
    print("Difference of the means (flowpic − PyTorch): **%+.2f points** (goal: within ±1: %s); flowpic trains "
          "**%.1f×** %s (goal: faster: %s).  Test set: %d windows, so one window is %.2f points." % (
          d, "met" if abs(d) <= 1.0 else "NOT met", speed if speed >= 1 else 1 / speed,
          "faster" if speed >= 1 else "slower", "met" if speed > 1 else "NOT met",
          rows[0]["test_images"], 100.0 / rows[0]["test_images"]))
PYEOF
