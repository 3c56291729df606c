#!/usr/bin/env bash
# Real captures: the whole chain on the nDPI test corpus (../shared/data/ndpi: 494 real
# captures; flows.tsv maps nDPI's categories onto the FlowPic classes).
#   bench/ndpi_labels.py -> per-capture --label-map (class of most of the capture's labelled
#   packets; captures without a class are left out) -> flowpic-prep (short windows: the
#   flows last seconds) -> flowpic-train -> flowpic-infer --images on the test rows of a
#   flowpic-render --npy-dataset export -> accuracy, macro-F1 and per-class F1 in python.
# Several seeds (training seed only: the capture split stays the same).  Reports the
# chance and majority-class baselines next to the model, and how many test captures
# each class has, since the test split is grouped by capture and small.
# Usage: bench/bench_ndpi.sh BIN_DIR   (progress on stderr, markdown table on stdout)
# Environment: BENCH_OUT (default out/bench), NDPI_DIR (default ../shared/data/ndpi relative
# to the repository), BENCH_NDPI_SEEDS ("1 2 3"), BENCH_NDPI_EPOCHS (40), BENCH_NDPI_BATCH
# (64), BENCH_NDPI_ARCH (lenet), BENCH_NDPI_RES (32), BENCH_NDPI_WINDOW (15),
# BENCH_NDPI_FLOWS (bi), BENCH_NDPI_MIN_PACKETS (5), BENCH_NDPI_MIN_SPAN (1),
# BENCH_NDPI_BINNING ("--direction channels --values count"), BENCH_NDPI_THREADS (1),
# BENCH_NDPI_LABELS (capture: the per-capture map above; flow: flowpic-prep --label-flows
# flows.tsv, each flow its own class, flows without one left out; output under ndpi-flow/),
# BENCH_NDPI_SPLIT_SEED (1: flowpic-prep's --seed, which captures are test).
set -euo pipefail

BIN=${1:?usage: bench_ndpi.sh BIN_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
LABELS=${BENCH_NDPI_LABELS:-capture}
SPLIT_SEED=${BENCH_NDPI_SPLIT_SEED:-1}
case "$LABELS" in capture) OUT=${BENCH_OUT:-out/bench}/ndpi ;; flow) OUT=${BENCH_OUT:-out/bench}/ndpi-flow ;;
    *) echo "bench_ndpi: BENCH_NDPI_LABELS must be capture or flow, not '$LABELS'" >&2; exit 2 ;; esac
NDPI=${NDPI_DIR:-$HERE/../../shared/data/ndpi}
SEEDS=${BENCH_NDPI_SEEDS:-1 2 3}
EPOCHS=${BENCH_NDPI_EPOCHS:-40}
BATCH=${BENCH_NDPI_BATCH:-64}
ARCH=${BENCH_NDPI_ARCH:-lenet}
RES=${BENCH_NDPI_RES:-32}
WINDOW=${BENCH_NDPI_WINDOW:-15}
FLOWS=${BENCH_NDPI_FLOWS:-bi}
MINP=${BENCH_NDPI_MIN_PACKETS:-5}
MINS=${BENCH_NDPI_MIN_SPAN:-1}
read -r -a BINNING <<< "${BENCH_NDPI_BINNING:---direction channels --values count}"
THREADS=${BENCH_NDPI_THREADS:-1}
PY=/usr/bin/python3
mkdir -p "$OUT"
[ -s "$NDPI/flows.tsv" ] || { echo "bench_ndpi: $NDPI/flows.tsv not found (set NDPI_DIR)" >&2; exit 1; }
for t in flowpic-prep flowpic-render flowpic-train flowpic-infer; do
    [ -x "$BIN/$t" ] || { echo "bench_ndpi: $BIN/$t not built" >&2; exit 1; }
done
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

echo "bench_ndpi: labels from flows.tsv (bench/ndpi_labels.py)" >&2
$PY "$HERE/ndpi_labels.py" --flows "$NDPI/flows.tsv" -o "$OUT/labels.tsv" --json > "$OUT/labels.json"

echo "bench_ndpi: flowpic-prep --flows $FLOWS --window $WINDOW --min-packets $MINP --min-span $MINS" >&2
DATA="$OUT/ndpi.fpd"
# Captures without a class match no rule: flowpic-prep lists them as unmatched (not used).
if [ "$LABELS" = flow ]; then LABEL_ARGS=(--label-flows "$NDPI/flows.tsv"); else LABEL_ARGS=(--label-map "$OUT/labels.tsv"); fi
"$BIN/flowpic-prep" "$NDPI/pcap" -o "$DATA" "${LABEL_ARGS[@]}" --flows "$FLOWS" --window "$WINDOW" \
    --min-packets "$MINP" --min-span "$MINS" --keep-going --seed "$SPLIT_SEED" 2> "$OUT/prep.log" \
    || { tail -n 20 "$OUT/prep.log" >&2; exit 1; }
grep -v 'no label matched\|not used' "$OUT/prep.log" | tail -n 8 >&2 || true
"$BIN/flowpic-prep" --stats "$DATA" --json > "$OUT/stats.json"

NP="$OUT/np"
rm -rf "$NP" "$OUT/test-names"
"$BIN/flowpic-render" "$DATA" --npy-dataset "$NP" --resolution "$RES" "${BINNING[@]}" --npy-dtype f32 -q
# per-window file names of the test split (<class>_<capture>_f<flow>_<view>_w<k>.npy): test captures per class
"$BIN/flowpic-render" "$DATA" --npy "$OUT/test-names" --split test --resolution 8 -q
ls "$OUT/test-names" > "$OUT/test-names.txt"
rm -rf "$OUT/test-names"
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
    echo "bench_ndpi: seed $seed: flowpic-train $ARCH ${RES}x$RES, $EPOCHS epochs, batch $BATCH" >&2
    M="$OUT/model-seed$seed.safetensors"
    a=$(date +%s.%N)
    "$BIN/flowpic-train" --data "$DATA" -o "$M" --arch "$ARCH" --resolution "$RES" "${BINNING[@]}" \
        --epochs "$EPOCHS" --batch "$BATCH" --seed "$seed" --device cpu --threads "$THREADS" --json -q \
        > "$OUT/train-seed$seed.json"
    b=$(date +%s.%N)
    OMP_NUM_THREADS=$THREADS "$BIN/flowpic-infer" --model "$M" --images "$NP/X_test.npy" --output "$OUT/pred-seed$seed.csv" -q
    $PY - "$NP" "$OUT/pred-seed$seed.csv" "$seed" "$a" "$b" "$OUT/train-seed$seed.json" >> "$RESULTS" <<'PYEOF'
import csv, json, sys, numpy as np
d, pred_csv, seed, a, b, train = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
classes = [l.strip() for l in open(d + "/classes.txt") if l.strip()]
y = np.load(d + "/y_test.npy")
p = np.array([classes.index(r["class"]) for r in csv.DictReader(open(pred_csv))])
assert len(p) == len(y)
per = {}
for k, c in enumerate(classes):
    tp = int(((p == k) & (y == k)).sum())
    prec = tp / max(int((p == k).sum()), 1)
    rec = tp / max(int((y == k).sum()), 1)
    per[c] = {"precision": prec, "recall": rec, "f1": 2 * prec * rec / (prec + rec) if prec + rec else 0.0,
              "support": int((y == k).sum())}
present = [c for c in classes if per[c]["support"] > 0]   # macro-F1 over the classes the test split has
print(json.dumps({"seed": seed, "accuracy": float((p == y).mean()) if len(y) else 0.0,
                  "macro_f1": float(np.mean([per[c]["f1"] for c in present])) if present else 0.0,
                  "per_class": per, "seconds": b - a, "best_epoch": json.load(open(train))["best_epoch"],
                  "confusion": [[int(((y == i) & (p == j)).sum()) for j in range(len(classes))] for i in range(len(classes))]}))
PYEOF
    tail -n 1 "$RESULTS" | $PY -c 'import json,sys; r=json.loads(sys.stdin.read()); print("bench_ndpi:   accuracy %.3f, macro-F1 %.3f, %.1f s" % (r["accuracy"], r["macro_f1"], r["seconds"]), file=sys.stderr)'
done

$PY - "$RESULTS" "$OUT/stats.json" "$OUT/labels.json" "$OUT/test-names.txt" "$NP/classes.txt" "$LOAD_BEFORE" \
    "$(cut -d' ' -f1-3 /proc/loadavg)" "$ARCH" "$RES" "$WINDOW" "$FLOWS" "$MINP" "$MINS" "${BINNING[*]}" "$EPOCHS" "$BATCH" \
    "$LABELS" "$SPLIT_SEED" "$(grep 'per-flow labels from' "$OUT/prep.log" | sed 's/^flowpic-prep: //' || true)" <<'PYEOF'
import collections, json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
stats, lab = json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
names = [l.strip() for l in open(sys.argv[4]) if l.strip()]
classes = [l.strip() for l in open(sys.argv[5]) if l.strip()]
load0, load1, arch, res, window, flows, minp, mins, binning, epochs, batch, labels_mode, split_seed, flow_line = sys.argv[6:20]
caps = collections.defaultdict(set)
for n in names:  # <class>_<capture>_f<flow>_<view>_w<k>.npy; the class has no '_'
    cls, rest = n.split("_", 1)
    caps[cls].add(rest.rsplit("_f", 1)[0] if "_f" in rest else rest)
per = {c["name"]: c for c in stats["classes"]}
test_total = sum(per[c]["test"] for c in classes)
majority = max(classes, key=lambda c: per[c]["test"])
maj_f1 = 2 * (per[majority]["test"] / test_total) / (1 + per[majority]["test"] / test_total)
present = [c for c in classes if per[c]["test"] > 0]

print("### Real captures: nDPI test corpus (%s labels), %s %s×%s" % ("per-flow" if labels_mode == "flow" else "per-capture",
      "LeNet" if arch == "lenet" else "FlowPicNet", res, res))
print()
if labels_mode == "flow":
    print("Labels: flowpic-prep --label-flows flows.tsv: each flow its own class (nDPI's category mapped as the data "
          "README says), flows without a class or not in the table left out (%s).  Captures stay whole in one split.  "
          "For comparison, the per-capture map (bench/ndpi_labels.py): %d labelled captures mix classes, %d of %d "
          "labelled flows disagree with their capture's label.  flowpic-prep --flows %s --window %s --min-packets %s "
          "--min-span %s, split by capture 0.8/0.1/0.1 (seed %s); binning %s; %s epochs, batch %s; seeds %s.  CPU, 1 "
          "thread.  Load average before/after: %s / %s (shared 2-core VM)."
          % (flow_line or "no report line", lab["mixed_captures"], lab["disagree_flows"], lab["labelled_flows"],
             flows, window, minp, mins, split_seed, binning, epochs, batch, ", ".join(str(r["seed"]) for r in runs), load0, load1))
else:
  print("Labels: bench/ndpi_labels.py gives each capture the class of most of its labelled flows' packets; "
      "%d of %d captures in flows.tsv have a class (%s), %d have none and are left out; %d labelled captures mix "
      "classes, and %d of %d labelled flows (%.1f%% of their packets) disagree with their capture's label, while "
      "%d unlabelled flows inherit it.  flowpic-prep --flows %s --window %s --min-packets %s --min-span %s, split by "
      "capture 0.8/0.1/0.1 (seed %s); binning %s; %s epochs, batch %s, best epoch by validation loss; seeds %s "
      "(training seed only: same split).  CPU, 1 thread.  Load average before/after: %s / %s (shared 2-core VM)."
      % (lab["labelled_captures"], lab["captures"], ", ".join("%s %d" % kv for kv in lab["class_captures"].items()),
         lab["unlabelled_captures"], lab["mixed_captures"], lab["disagree_flows"], lab["labelled_flows"],
         100.0 * lab["disagree_packets"] / max(lab["labelled_packets"], 1), lab["noclass_flows_in_labelled"],
         flows, window, minp, mins, split_seed, binning, epochs, batch, ", ".join(str(r["seed"]) for r in runs), load0, load1))
print()
print("| class | windows train / val / test | test captures | test F1, mean (min–max) | test recall, mean |")
print("|---|---|---:|---|---:|")
for c in classes:
    f1 = [r["per_class"][c]["f1"] for r in runs]
    rec = [r["per_class"][c]["recall"] for r in runs]
    print("| %s | %d / %d / %d | %d | %.2f (%.2f–%.2f) | %.2f |" % (c, per[c]["train"], per[c]["val"], per[c]["test"],
          len(caps.get(c, ())), statistics.mean(f1), min(f1), max(f1), statistics.mean(rec)))
acc = [100 * r["accuracy"] for r in runs]
mf1 = [r["macro_f1"] for r in runs]
print()
print("| model | test accuracy | macro-F1 |")
print("|---|---|---|")
print("| flowpic %s (mean of %d seeds, min–max) | %.1f%% (%.1f–%.1f) | %.3f (%.3f–%.3f) |" % (
      arch, len(runs), statistics.mean(acc), min(acc), max(acc), statistics.mean(mf1), min(mf1), max(mf1)))
print("| always '%s' (majority class of the test split) | %.1f%% | %.3f |" % (
      majority, 100.0 * per[majority]["test"] / test_total, maj_f1 / max(len(present), 1)))
print("| uniform guess over %d classes | %.1f%% | ~%.3f |" % (len(classes), 100.0 / len(classes), 1.0 / len(classes)))
print()
cm = runs[0]["confusion"]
print("Confusion matrix, seed %d (rows true, columns predicted, order %s): %s.  %d test windows from %d captures: "
      "one capture can swing a class's score.  Training seconds per run: %s." % (
      runs[0]["seed"], ", ".join(classes), " / ".join(" ".join(str(v) for v in row) for row in cm), test_total,
      sum(len(v) for v in caps.values()), ", ".join("%.1f" % r["seconds"] for r in runs)))
PYEOF
