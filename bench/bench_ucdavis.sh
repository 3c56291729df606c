#!/usr/bin/env bash
# Real labelled traffic: the IMC'23 (tcbench) mini-FlowPic table on UCDavis-QUIC
# (../shared/data/ucdavis-quic, its README gives the protocol and the published means),
# reproduced by flowpic and by a PyTorch reference (bench/ucdavis_torch.py, written from
# the README) on the same splits, in one run.
#   extract the five archives once (unless UCDAVIS_DIR names an extracted copy)
#   -> per split K: flowpic-prep DIR --label-from-dir --first 15 --clip-sizes
#      --split-per-class 100 --split-index K --seed SPLIT_SEED (timed), and its manifest
#      (flowpic-prep --stats --captures: which flow is train, val or test)
#   -> per split x resolution x augmentation x seed: flowpic-train --preset tcbench
#      [--resolution R] [--augment A --augment-copies 10] --seed S, then flowpic-infer
#      --eval --split test (the leftover flows) --json
#   -> bench/ucdavis_torch.py on the same manifests (one process: it reads and bins every
#      flow once, then runs the same grid)
#   -> bench/ucdavis_table.py: $UCDAVIS_OUT/results.json and results.md (also on stdout).
# Grid (CAMPAIGN=full, the default): splits 0-4 x SEEDS seeds x {none, changertt, timeshift,
# packetloss} at 32x32, plus {none, changertt} at 64x64, plus {none, changertt} at
# 1500x1500 (flowpic's FlowPicNet, --arch flowpic) only with UCDAVIS_1500=1 (hours on 2
# cores).  CAMPAIGN=quick: split 0, seed 1, {none, changertt} at 32x32.
# When this build's flowpic lacks a flag the campaign needs (time-series input, --first,
# few-shot splits, the manifest, --preset, --augment), the flowpic side is skipped and
# named, and the PyTorch side runs on manifests drawn by ucdavis_torch.py --draw-manifest.
# No data (no archives, no UCDAVIS_DIR): the section says so and succeeds.
# Usage: bench/bench_ucdavis.sh BIN_DIR   (progress on stderr, markdown table on stdout)
# Environment: UCDAVIS_DIR (an extracted copy: CLASS/FLOW.txt; default: extract under
# $UCDAVIS_OUT/data), UCDAVIS_ARCHIVES (default ../shared/data/ucdavis-quic relative to the
# repository), UCDAVIS_OUT (results; default out/ucdavis), CAMPAIGN (full|quick), SEEDS
# (number of training seeds, 1..SEEDS; default 3), UCDAVIS_SPLITS (default "0 1 2 3 4"),
# UCDAVIS_SPLIT_SEED (seed of the few-shot draws, default 1), UCDAVIS_1500 (0),
# UCDAVIS_THREADS (threads of both tools, default 2), UCDAVIS_TORCH (1; 0 skips PyTorch),
# UCDAVIS_FLOWPIC (1; 0 skips flowpic), UCDAVIS_FIRST (15; 30: see below), UCDAVIS_GRID.  bench/UCDAVIS.md has the details; tests:
# /usr/bin/python3 -m unittest bench/test_ucdavis.py
set -euo pipefail

BIN=${1:?usage: bench_ucdavis.sh BIN_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
OUT=${UCDAVIS_OUT:-out/ucdavis}
ARCHIVES=${UCDAVIS_ARCHIVES:-$REPO/../shared/data/ucdavis-quic}
CAMPAIGN=${CAMPAIGN:-full}
NSEEDS=${SEEDS:-3}
SPLIT_SEED=${UCDAVIS_SPLIT_SEED:-1}
THREADS=${UCDAVIS_THREADS:-2}
PY=/usr/bin/python3
# UCDAVIS_FIRST=30: windows of the flows' first 30 s, binned on a 15 s axis (--time-axis 15),
# so change-RTT and time-shift pull later packets into the image as tcbench's whole-flow
# augmentations do; without augmentation the images are those of --first 15.
FIRST=${UCDAVIS_FIRST:-15}
AXIS=()
[ "$FIRST" = 15 ] || AXIS=(--time-axis 15)
log() { echo "bench_ucdavis: $*" >&2; }

case "$CAMPAIGN" in
    full)
        SPLITS=${UCDAVIS_SPLITS:-0 1 2 3 4}
        SEED_LIST=$(seq 1 "$NSEEDS" | tr '\n' ' ')
        GRID=("32:none,changertt,timeshift,packetloss" "64:none,changertt")
        [ "${UCDAVIS_1500:-0}" = 1 ] && GRID+=("1500:none,changertt")
        ;;
    quick)
        SPLITS=${UCDAVIS_SPLITS:-0}
        SEED_LIST=1
        GRID=("32:none,changertt")
        ;;
    *) echo "bench_ucdavis: CAMPAIGN=$CAMPAIGN (expected full or quick)" >&2; exit 1 ;;
esac
# UCDAVIS_GRID="32:changertt,timeshift 64:none" replaces the campaign's grid.
[ -n "${UCDAVIS_GRID:-}" ] && read -r -a GRID <<< "$UCDAVIS_GRID"
[[ "$NSEEDS" =~ ^[1-9][0-9]*$ ]] || { echo "bench_ucdavis: SEEDS=$NSEEDS (expected a count, 1 or more)" >&2; exit 1; }
mkdir -p "$OUT"

# --- the data: an extracted copy, or the archives extracted once under $OUT/data
CLASSES=("Google Doc" "Google Drive" "Google Music" "Google Search" "Youtube")
have_classes() { local c; for c in "${CLASSES[@]}"; do [ -d "$1/$c" ] || return 1; done; }
if [ -n "${UCDAVIS_DIR:-}" ]; then
    DATA=$UCDAVIS_DIR
    have_classes "$DATA" || { echo "bench_ucdavis: UCDAVIS_DIR=$DATA lacks a class directory (${CLASSES[*]})" >&2; exit 1; }
else
    DATA=$OUT/data
    if [ ! -e "$DATA/.complete" ]; then
        if ! ls "$ARCHIVES"/*.tar.xz > /dev/null 2>&1; then
            log "no data: neither UCDAVIS_DIR nor archives in $ARCHIVES"
            echo "### UCDavis-QUIC reproduction: skipped (no data: set UCDAVIS_DIR or UCDAVIS_ARCHIVES)"
            exit 0
        fi
        mkdir -p "$DATA"
        # One extraction even when two benches start at once; .complete marks a whole copy.
        (
            flock 9
            if [ ! -e "$DATA/.complete" ]; then
                for a in "$ARCHIVES"/*.tar.xz; do
                    log "extracting $(basename "$a") into $DATA"
                    tar xJf "$a" -C "$DATA"
                done
                touch "$DATA/.complete"
            fi
        ) 9> "$OUT/data.lock"
    fi
fi
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# --- does this build have what the flowpic side needs?
MISSING=()
need() {  # need TOOL FLAG...: every FLAG appears in TOOL --help
    local tool=$1 f; shift
    if [ ! -x "$BIN/$tool" ]; then MISSING+=("$tool (not built)"); return; fi
    local help; help=$("$BIN/$tool" --help 2>&1 || true)
    for f in "$@"; do grep -q -- "$f" <<< "$help" || MISSING+=("$tool $f"); done
}
if [ "${UCDAVIS_FLOWPIC:-1}" = 1 ]; then
    need flowpic-prep --first --clip-sizes --split-per-class --split-index --captures
    need flowpic-train --preset --augment --augment-copies
    need flowpic-infer --eval
else
    MISSING+=("(UCDAVIS_FLOWPIC=0)")
fi
FLOWPIC=1
if [ ${#MISSING[@]} -gt 0 ]; then
    FLOWPIC=0
    log "flowpic side skipped: missing ${MISSING[*]}"
fi

FP_RUNS=$OUT/flowpic_runs.jsonl
FP_PREP=$OUT/flowpic_prep.jsonl
: > "$FP_RUNS"
: > "$FP_PREP"
now() { date +%s.%N; }
MANIFESTS=()
for K in $SPLITS; do
    M="$OUT/split$K.tsv"
    if [ "$FLOWPIC" = 1 ]; then
        D="$OUT/split$K.fpd"
        log "split $K: flowpic-prep --first $FIRST --clip-sizes --split-per-class 100 --split-index $K --seed $SPLIT_SEED"
        a=$(now)
        "$BIN/flowpic-prep" "$DATA" -o "$D" --label-from-dir --first "$FIRST" --clip-sizes --split-per-class 100 \
            --split-index "$K" --seed "$SPLIT_SEED" -q
        b=$(now)
        awk -v k="$K" -v a="$a" -v b="$b" 'BEGIN { printf "{\"split\": %d, \"seconds\": %.3f}\n", k, b - a }' >> "$FP_PREP"
        "$BIN/flowpic-prep" --stats "$D" --captures > "$M"
    else
        $PY "$HERE/ucdavis_torch.py" --data-dir "$DATA" --draw-manifest "$M" --per-class 100 --val-fraction 0.2 \
            --split-index "$K" --seed "$SPLIT_SEED"
    fi
    MANIFESTS+=(--manifest "$M")

    [ "$FLOWPIC" = 1 ] || continue
    for g in "${GRID[@]}"; do
        RES=${g%%:*}
        ARCH=()
        [ "$RES" -ge 100 ] && ARCH=(--arch flowpic)
        IFS=, read -r -a AUGS <<< "${g#*:}"
        for AUG in "${AUGS[@]}"; do
            AUGF=()
            [ "$AUG" = none ] || AUGF=(--augment "$AUG" --augment-copies 10)
            for S in $SEED_LIST; do
                MODEL="$OUT/model-s$K-$RES-$AUG-seed$S.safetensors"
                a=$(now)
                "$BIN/flowpic-train" --data "$D" -o "$MODEL" --preset tcbench --resolution "$RES" "${ARCH[@]}" \
                    "${AXIS[@]}" "${AUGF[@]}" --seed "$S" --threads "$THREADS" --json -q > "$OUT/train.json"
                b=$(now)
                OMP_NUM_THREADS=$THREADS "$BIN/flowpic-infer" --model "$MODEL" --data "$D" --eval --split test \
                    --json -q > "$OUT/eval.json"
                c=$(now)
                $PY - "$OUT/train.json" "$OUT/eval.json" "$K" "$RES" "$AUG" "$S" "$a" "$b" "$c" >> "$FP_RUNS" <<'PYEOF'
import json, sys
tr, ev = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
k, res, aug, seed = int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], int(sys.argv[6])
a, b, c = (float(x) for x in sys.argv[7:10])
print(json.dumps({"tool": "flowpic", "split": k, "resolution": res, "augment": aug, "seed": seed,
                  "accuracy": ev["accuracy"], "macro_f1": ev["macro_f1"], "confusion": ev["confusion"],
                  "classes": ev["classes"], "test_samples": ev["windows"], "best_epoch": tr.get("best_epoch"),
                  "epochs": tr.get("epochs"), "train_s": b - a, "eval_s": c - b}))
PYEOF
                tail -n 1 "$FP_RUNS" | $PY -c '
import json, sys
r = json.loads(sys.stdin.read())
print("bench_ucdavis: flowpic split %d %dx%d %-10s seed %d: accuracy %.4f macro-F1 %.4f (best epoch %s of %s; train %.1f s, eval %.1f s)" % (
    r["split"], r["resolution"], r["resolution"], r["augment"], r["seed"], r["accuracy"], r["macro_f1"],
    r["best_epoch"], r["epochs"], r["train_s"], r["eval_s"]), file=sys.stderr)'
                rm -f "$MODEL"
            done
        done
    done
done
rm -f "$OUT/train.json" "$OUT/eval.json"

TORCH_JSON=$OUT/torch.json
rm -f "$TORCH_JSON"
if [ "${UCDAVIS_TORCH:-1}" = 1 ]; then
    GRID_ARGS=()
    for g in "${GRID[@]}"; do GRID_ARGS+=(--grid "$g"); done
    log "PyTorch reference: bench/ucdavis_torch.py on the same manifests (${GRID[*]}; seeds $SEED_LIST; $THREADS thread(s))"
    # shellcheck disable=SC2086
    $PY "$HERE/ucdavis_torch.py" --data-dir "$DATA" "${MANIFESTS[@]}" --split-ids $SPLITS "${GRID_ARGS[@]}" \
        --seeds $SEED_LIST --threads "$THREADS" --augment-val --json "$TORCH_JSON" -q >&2   # the preset augments validation too (tcbench)
fi

NOTES=("Data: $DATA ($(date -u +%Y-%m-%d)); campaign $CAMPAIGN: splits $SPLITS (draw seed $SPLIT_SEED), seeds $SEED_LIST, grid ${GRID[*]}; $THREADS thread(s) per tool; load average before/after: $LOAD_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores).")
[ "$FLOWPIC" = 1 ] || NOTES+=("flowpic side not run: this build lacks ${MISSING[*]}; the PyTorch side used manifests drawn by ucdavis_torch.py --draw-manifest.")
NOTE_ARGS=()
for n in "${NOTES[@]}"; do NOTE_ARGS+=(--note "$n"); done
$PY "$HERE/ucdavis_table.py" --flowpic "$FP_RUNS" --flowpic-prep "$FP_PREP" --torch "$TORCH_JSON" \
    --readme "$ARCHIVES/README.md" --json "$OUT/results.json" "${NOTE_ARGS[@]}" | tee "$OUT/results.md"
