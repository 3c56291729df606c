#!/usr/bin/env bash
# The CPU engine from packet lists (flowpic-bench pipeline --device cpu: conv1 straight
# from the packets, and the dense path that bins images first) against PyTorch on the
# CPU (bench/nn_torch.py, dense images it is handed), FlowPicNet 1500^2, batch 32 and 1,
# in one run.  flowpic's figures include turning packets into conv1's input; PyTorch's
# do not.  Usage: bench/bench_pipeline.sh BIN_DIR   (markdown table on stdout)
# Environment: BENCH_OUT (default out/bench), BENCH_PIPE_ITERS (default 3).
set -euo pipefail
BIN=${1:?usage: bench_pipeline.sh BIN_DIR}
OUT=${BENCH_OUT:-out/bench}
ITERS=${BENCH_PIPE_ITERS:-3}
PY=/usr/bin/python3
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
RESULTS="$OUT/pipeline.jsonl"
: > "$RESULTS"
for input in sparse dense; do
    echo "bench_pipeline: flowpic, $input input" >&2
    "$BIN/flowpic-bench" pipeline --device cpu --arch flowpic --resolution 1500 --train-batch 32 --infer-batch 32 \
        --b1-samples 10 --iters "$ITERS" --input "$input" >> "$RESULTS"
done
for mode in "train 32" "forward 32" "forward 1"; do
    set -- $mode
    echo "bench_pipeline: PyTorch $1 batch $2" >&2
    "$PY" "$HERE/nn_torch.py" --arch flowpic --resolution 1500 --batch "$2" --mode "$1" --iters "$ITERS" \
        --max-seconds 20 >> "$RESULTS"
done
"$PY" - "$RESULTS" <<'PYEOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def ours(mode, inp):
    return next(r for r in rows if r["tool"] == "flowpic" and r["mode"] == mode and r["input"] == inp)
def torch(mode, batch):
    return next(r for r in rows if r["tool"] == "pytorch" and r["mode"] == mode and r["batch"] == batch)
print("| FlowPicNet 1500², CPU | flowpic, conv1 from packets | flowpic, dense images | PyTorch (%s) | ratio (packets path) |" % torch("train", 32)["backend"])
print("|---|---:|---:|---:|---:|")
for label, mode, tmode, batch in (("training, batch 32, images/s", "train", "train", 32),
                                  ("inference, batch 32, images/s", "infer", "forward", 32)):
    s, d, t = ours(mode, "sparse")["images_per_s"], ours(mode, "dense")["images_per_s"], torch(tmode, batch)["images_per_s"]
    print("| %s | %.0f | %.0f | %.1f | %.1fx |" % (label, s, d, t, s / t))
s, d = ours("b1-eager", "sparse")["latency_us"], ours("b1-eager", "dense")["latency_us"]
t = 1e6 / torch("forward", 1)["images_per_s"]
print("| batch 1, latency | %.2f ms | %.2f ms | %.2f ms | %.1fx |" % (s / 1e3, d / 1e3, t / 1e3, t / s))
PYEOF
