#!/usr/bin/env bash
# `make sweep-demo`: a small speed-vs-accuracy grid on SYNTHETIC captures (flowpic-synth,
# docs/SYNTHETIC.md): three window lengths x two resolutions x two pixel encodings, LeNet,
# 3 seeds, on the CPU; about two minutes on 2 cores.  Ends with the table and the plots.
# Run it again and every cell is skipped (the sweep resumes).
# Usage: apps/sweep_demo.sh BIN_DIR OUT_DIR
set -euo pipefail
BIN=${1:?usage: sweep_demo.sh BIN_DIR OUT_DIR}
OUT=${2:?usage: sweep_demo.sh BIN_DIR OUT_DIR}
FLOWS=${SWEEP_DEMO_FLOWS_PER_CLASS:-12}
mkdir -p "$OUT"
if [ ! -d "$OUT/captures" ]; then
    "$BIN/flowpic-synth" --out "$OUT/captures" --flows-per-class "$FLOWS" --seed 1 -q
fi
"$BIN/flowpic-sweep" --inputs "$OUT/captures" -o "$OUT/sweep" --split 0.6,0.2,0.2 \
    --window 15,30,60 --arch lenet --resolution 16,32 --values count,binary \
    --epochs 15 --batch 32 --early-stop 5 --seeds 3 --device cpu ${SWEEP_DEMO_ARGS:-}
printf '\nsweep demo done (synthetic data): %s/sweep (results.md, results.csv, *.png)\n' "$OUT" >&2
