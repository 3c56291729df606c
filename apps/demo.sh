#!/usr/bin/env bash
# `make demo`: the main job on built-in data.  Everything here is SYNTHETIC traffic made by
# flowpic-synth (docs/SYNTHETIC.md), not recorded from real users.
#   1. flowpic-synth    labelled captures, one directory per class
#   2. flowpic-extract  per-flow table of every capture (seed-compatible TSV)
#   3. flowpic-prep     60 s windows, labels from the directories, split by capture
#   4. flowpic-render   a few FlowPic PNGs per class, and the set as numpy arrays
#   5. flowpic-train    mini-FlowPic LeNet at 32x32 (binary values), 30 epochs: seconds on 2 cores
#   6. flowpic-infer    evaluation on the test split: confusion matrix (text, CSV, PNG),
#                       and the model run on the numpy arrays of step 4
# Usage: apps/demo.sh BIN_DIR OUT_DIR
set -euo pipefail
BIN=${1:?usage: demo.sh BIN_DIR OUT_DIR}
OUT=${2:?usage: demo.sh BIN_DIR OUT_DIR}
FLOWS=${DEMO_FLOWS_PER_CLASS:-20}
RES=${DEMO_RESOLUTION:-64}
TRAIN_RES=${DEMO_TRAIN_RESOLUTION:-32}
EPOCHS=${DEMO_EPOCHS:-30}
mkdir -p "$OUT"

step() { printf '\n== %s\n' "$*" >&2; }

step "1/6 flowpic-synth: $FLOWS synthetic flows per class -> $OUT/captures"
"$BIN/flowpic-synth" --out "$OUT/captures" --flows-per-class "$FLOWS" --seed 1

step "2/6 flowpic-extract: per-flow table -> $OUT/flows.tsv"
"$BIN/flowpic-extract" "$OUT/captures" --flows "$OUT/flows.tsv" --label-from-dir
head -4 "$OUT/flows.tsv" | column -t -s $'\t' >&2

step "3/6 flowpic-prep: 60 s windows -> $OUT/dataset.fpd"
"$BIN/flowpic-prep" "$OUT/captures" -o "$OUT/dataset.fpd" --label-from-dir --split 0.8,0.1,0.1 --seed 1
"$BIN/flowpic-prep" --stats "$OUT/dataset.fpd" >&2

step "4/6 flowpic-render: 3 FlowPics per class at ${RES}x${RES} -> $OUT/png, arrays as the model takes them -> $OUT/npy"
rm -rf "$OUT/png"
"$BIN/flowpic-render" "$OUT/dataset.fpd" --png "$OUT/png" --limit 3 --resolution "$RES"
"$BIN/flowpic-render" "$OUT/dataset.fpd" --npy-dataset "$OUT/npy" --resolution "$TRAIN_RES" --values binary -q

rm -f "$OUT/metrics.jsonl"  # --metrics appends: one run's epochs only
step "5/6 flowpic-train: LeNet ${TRAIN_RES}x${TRAIN_RES}, $EPOCHS epochs -> $OUT/model.safetensors"
"$BIN/flowpic-train" --data "$OUT/dataset.fpd" -o "$OUT/model.safetensors" --arch lenet --resolution "$TRAIN_RES" \
    --values binary --epochs "$EPOCHS" --batch 32 --seed 1 --metrics "$OUT/metrics.jsonl"

step "6/6 flowpic-infer --eval on the test split"
"$BIN/flowpic-infer" --model "$OUT/model.safetensors" --data "$OUT/dataset.fpd" --split test --eval \
    --confusion-csv "$OUT/confusion.csv" --confusion-png "$OUT/confusion.png"
"$BIN/flowpic-infer" --model "$OUT/model.safetensors" --images "$OUT/npy/X.npy" --output "$OUT/predictions.csv" -q
echo "predictions for $OUT/npy/X.npy -> $OUT/predictions.csv" >&2

printf '\ndemo done (synthetic data): %s\n' "$OUT" >&2
ls "$OUT" >&2
