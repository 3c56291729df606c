#!/usr/bin/env bash
# One script for a GPU machine (sized for ~6 minutes on an H100): build for sm_90, run the
# GPU test suites, train the same small synthetic dataset on the CPU and on the GPU and
# compare test accuracy, then benchmark flowpic (packets -> class, our kernels) and
# PyTorch (bench/nn_torch_gpu.py, dense images already on the device) on the same card,
# and print a short table last.
#
#   bash bench/gpu_check.sh                 # builds with make (needs the Debian -dev packages)
#   BIN=path/to/bin bash bench/gpu_check.sh # uses binaries built elsewhere for sm_90
# Environment: OUT (logs and JSON, default out/gpu_check), PYTHON (with torch 2.x and CUDA,
# default python3), FLOWPIC_CUDNN_DIR (cuDNN for the oracle suite; found in PyTorch's
# wheel when unset), SKIP_NCU=1 (skip the Nsight Compute runs), QUICK=1 (tests and the
# flowpic benchmark only: no accuracy parity, no PyTorch, no ncu).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out/gpu_check}
PYTHON=${PYTHON:-python3}
mkdir -p "$OUT"
log() { printf '\n== %s\n' "$*" >&2; }
status=0

log "device"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader | tee "$OUT/device.txt"

if [ -z "${BIN:-}" ]; then
    log "build (sm_90)"
    make -j"$(nproc)" CUDA=1 all >"$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; exit 1; }
    BIN=build/bin
fi
export FLOWPIC_BIN=$BIN

if [ -z "${FLOWPIC_CUDNN_DIR:-}" ]; then
    d=$($PYTHON -c 'import nvidia.cudnn, os; print(os.path.join(os.path.dirname(nvidia.cudnn.__file__), "lib"))' 2>/dev/null || true)
    [ -n "$d" ] && export FLOWPIC_CUDNN_DIR=$d
    d=$($PYTHON -c 'import nvidia.cublas, os; print(os.path.join(os.path.dirname(nvidia.cublas.__file__), "lib"))' 2>/dev/null || true)
    [ -n "$d" ] && export FLOWPIC_CUBLAS_DIR=$d
fi

log "GPU test suites (and the CLI suites, which now run on the GPU by default)"
SUITES=$($BIN/flowpic-tests --list_content 2>&1 | grep -oE '^(cuda_[a-z0-9_]*|backend_ops_cuda)' | sort -u | paste -sd, -)
# the CLI suites and those that run one batch on every backend present (augment) or check
# the time axis through the CUDA packer (time_axis_cli via train/infer)
SUITES="$SUITES,train_cli,train_preset_cli,infer_eval_cli,infer_cli,augment,time_axis_cli"
timeout 300 $BIN/flowpic-tests --run_test="$SUITES" --log_level=message --color_output=no >"$OUT/tests.log" 2>&1
test_rc=$?
grep -E "error|rel|worst|cudaMalloc|skipped|passed|failed|needs" "$OUT/tests.log" | tail -40
tests_line=$(tail -1 "$OUT/tests.log")
[ $test_rc -eq 0 ] || status=1

QUICK=${QUICK:-0}
[ "$QUICK" = 1 ] && SKIP_NCU=1
if [ "$QUICK" != 1 ]; then
log "accuracy: the same dataset trained on the CPU and on the GPU"
D=${PARITY_DIR:-$OUT/parity}
rm -rf "$D" && mkdir -p "$D"
$BIN/flowpic-synth --out "$D/cap" --flows-per-class 40 --seed 1 -q
$BIN/flowpic-prep "$D/cap" -o "$D/d.fpd" --label-from-dir --split 0.6,0.1,0.3 --seed 1 -q
acc=()
for dev in cpu cuda; do
    t0=$(date +%s%N)
    $BIN/flowpic-train --data "$D/d.fpd" -o "$D/$dev.safetensors" --arch lenet \
        --resolution 32 --values binary --epochs 20 --batch 32 --seed 1 --device $dev -q 2>"$D/$dev.err" || { cat "$D/$dev.err"; status=1; }
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    a=$($BIN/flowpic-infer --model "$D/$dev.safetensors" --data "$D/d.fpd" --eval --json --device $dev -q 2>>"$D/$dev.err" |
        $PYTHON -c 'import json,sys; j=json.load(sys.stdin); print("%.4f %d" % (j["accuracy"], j["windows"]))')
    acc+=("$a")
    echo "$dev: test accuracy/windows $a, training ${ms} ms"
done
fi

log "benchmarks: flowpic (our kernels, from packet lists) and PyTorch (dense images on the device)"
: >"$OUT/bench.jsonl"
for cfg in "flowpic 1500" "lenet 32"; do
    set -- $cfg
    timeout 120 $BIN/flowpic-bench pipeline --device cuda --arch "$1" --resolution "$2" >>"$OUT/bench.jsonl" 2>>"$OUT/bench.err" || status=1
    timeout 120 $BIN/flowpic-bench pipeline --device cuda --arch "$1" --resolution "$2" --input dense --b1-samples 50 \
        >>"$OUT/bench.jsonl" 2>>"$OUT/bench.err" || status=1
    [ "$QUICK" = 1 ] || timeout 120 $PYTHON bench/nn_torch_gpu.py --arch "$1" --resolution "$2" >>"$OUT/bench.jsonl" 2>>"$OUT/bench.err" || status=1
done
tail -5 "$OUT/bench.err"

if [ "${SKIP_NCU:-0}" != 1 ] && command -v ncu >/dev/null; then
    log "Nsight Compute (docs/PROFILING.md): kernel times of batch-1 classifications"
    pipe="$BIN/flowpic-bench pipeline --device cuda"
    timeout 100 ncu --metrics gpu__time_duration.sum --csv --launch-skip 60 --launch-count 30 $pipe --arch flowpic \
        --resolution 1500 --train-batch 0 --infer-batch 0 --b1-samples 3 >"$OUT/ncu_flowpic_b1.csv" 2>&1
    $PYTHON bench/ncu_summary.py "$OUT/ncu_flowpic_b1.csv" "flowpic 1500^2 batch 1"
    timeout 100 ncu --metrics gpu__time_duration.sum --csv --launch-skip 60 --launch-count 30 $pipe --arch lenet \
        --resolution 32 --train-batch 0 --infer-batch 0 --b1-samples 3 >"$OUT/ncu_lenet_b1.csv" 2>&1
    $PYTHON bench/ncu_summary.py "$OUT/ncu_lenet_b1.csv" "lenet 32^2 batch 1"
    timeout 100 ncu --metrics gpu__time_duration.sum --csv --launch-skip 70 --launch-count 35 $pipe --arch flowpic \
        --resolution 1500 --train-batch 128 --infer-batch 0 --b1-samples 0 --iters 1 >"$OUT/ncu_flowpic_train.csv" 2>&1
    $PYTHON bench/ncu_summary.py "$OUT/ncu_flowpic_train.csv" "flowpic 1500^2 training step, batch 128"
    log "Nsight Compute, one op by its NVTX range (docs/PROFILING.md)"
    timeout 60 ncu --nvtx --nvtx-include "conv2d_sparse_forward/" --launch-count 1 --section SpeedOfLight \
        $pipe --arch flowpic --resolution 1500 --train-batch 0 --infer-batch 128 --b1-samples 0 --iters 1 2>&1 |
        grep -E "sparse_forward|Duration|DRAM Throughput|Memory Throughput|Compute \(SM\)" | head -8
fi

log "summary ($(cut -d, -f1 "$OUT/device.txt"), $(date -u +%F))"
echo "tests: $tests_line"
echo "accuracy cpu vs cuda (accuracy windows): ${acc[0]:-?} | ${acc[1]:-?}"
$PYTHON - "$OUT/bench.jsonl" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")]
def get(tool, arch, mode, key, inp="sparse"):
    for r in rows:
        if r["tool"] == tool and r["arch"] == arch and r["mode"] == mode and r.get("input", "sparse") == inp:
            return r.get(key)
    return None
print("%-14s %-9s %14s %14s %8s" % ("net", "measure", "flowpic", "pytorch", "ratio"))
for arch, res in (("flowpic", 1500), ("lenet", 32)):
    for mode, key, unit, better in (("train", "images_per_s", "img/s", 1), ("infer", "images_per_s", "img/s", 1),
                                    ("b1-graph", "latency_us", "us", -1), ("b1-eager", "latency_us", "us", -1)):
        a, b = get("flowpic", arch, mode, key), get("pytorch", arch, mode, key)
        ratio = (a / b if better > 0 else b / a) if a and b else None
        print("%-14s %-9s %14s %14s %8s" % ("%s %d^2" % (arch, res), mode,
              "%.1f %s" % (a, unit) if a else "-", "%.1f %s" % (b, unit) if b else "-",
              "%.2fx" % ratio if ratio else "-"))
        d = get("flowpic", arch, mode, key, "dense")
        if d:
            ratio = (d / b if better > 0 else b / d) if b else None
            print("%-14s %-9s %14s %14s %8s" % ("  dense input", mode, "%.1f %s" % (d, unit), "",
                  "%.2fx" % ratio if ratio else "-"))
print("ratio > 1: flowpic faster (train/infer: batch 128/256; b1: one window, packets to class for flowpic;")
print("flowpic rows: conv1 from packet entries; 'dense input': from binned images, like PyTorch)")
EOF
exit $status
