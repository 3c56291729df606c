#!/usr/bin/env bash
# `make demo`: the main job on built-in data.  Everything here is SYNTHETIC traffic made by
# flowpic-synth (docs/SYNTHETIC.md), not recorded from real users.
#   1. flowpic-synth    labelled captures, one directory per class
#   2. flowpic-extract  per-flow table of every capture (seed-compatible TSV)
#   3. flowpic-prep     60 s windows, labels from the directories, split by capture
#   4. flowpic-render   a few FlowPic PNGs per class, and the set as numpy arrays
# Usage: apps/demo.sh BIN_DIR OUT_DIR
set -euo pipefail
BIN=${1:?usage: demo.sh BIN_DIR OUT_DIR}
OUT=${2:?usage: demo.sh BIN_DIR OUT_DIR}
FLOWS=${DEMO_FLOWS_PER_CLASS:-10}
RES=${DEMO_RESOLUTION:-64}
mkdir -p "$OUT"

step() { printf '\n== %s\n' "$*" >&2; }

step "1/4 flowpic-synth: $FLOWS synthetic flows per class -> $OUT/captures"
"$BIN/flowpic-synth" --out "$OUT/captures" --flows-per-class "$FLOWS" --seed 1

step "2/4 flowpic-extract: per-flow table -> $OUT/flows.tsv"
"$BIN/flowpic-extract" "$OUT/captures" --flows "$OUT/flows.tsv" --label-from-dir
head -4 "$OUT/flows.tsv" | column -t -s $'\t' >&2

step "3/4 flowpic-prep: 60 s windows -> $OUT/dataset.fpd"
"$BIN/flowpic-prep" "$OUT/captures" -o "$OUT/dataset.fpd" --label-from-dir --split 0.8,0.1,0.1 --seed 1
"$BIN/flowpic-prep" --stats "$OUT/dataset.fpd" >&2

step "4/4 flowpic-render: 3 FlowPics per class at ${RES}x${RES} -> $OUT/png, arrays -> $OUT/npy"
rm -rf "$OUT/png"
"$BIN/flowpic-render" "$OUT/dataset.fpd" --png "$OUT/png" --limit 3 --resolution "$RES"
"$BIN/flowpic-render" "$OUT/dataset.fpd" --npy-dataset "$OUT/npy" --resolution "$RES" -q

printf '\ndemo done (synthetic data): %s\n' "$OUT" >&2
ls "$OUT" >&2
