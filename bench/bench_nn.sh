#!/usr/bin/env bash
# Neural-engine benchmark: the dense CPU path (flowpic-bench nn, AVX2 backend) against the
# same nets in PyTorch on the CPU (bench/nn_torch.py with Debian's /usr/bin/python3 and
# python3-torch, all cores), same batch, same input distribution, in one run.  Each row
# runs flowpic then PyTorch back to back, so both see the same load on a shared machine.
# Usage: bench/bench_nn.sh BIN_DIR      (progress on stderr, markdown table on stdout)
# Both sides use libgomp, whose threads spin at barriers by default: on a busy shared
# machine a thread spinning while its partner is descheduled can make a step 30x slower,
# so every row runs twice, with libgomp's default and with OMP_WAIT_POLICY=passive
# (threads sleep at once), both sides under the same setting.
# Environment: BENCH_OUT (default out/bench), BENCH_NN_SECONDS (timing budget per figure,
# default 6; at least 3 iterations run whatever the budget), BENCH_NN_WAIT (the policies,
# default "default passive").
set -euo pipefail

BIN=${1:?usage: bench_nn.sh BIN_DIR}
OUT=${BENCH_OUT:-out/bench}
SECONDS_PER=${BENCH_NN_SECONDS:-6}
PY=/usr/bin/python3
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
WAITS=${BENCH_NN_WAIT:-default passive}
RESULTS="$OUT/nn.jsonl"
: > "$RESULTS"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# arch resolution batch mode iters: FlowPicNet 1500^2 at ~37 images/s in PyTorch takes
# ~1 s per batch of 32, so those rows time few iterations; the budget caps the rest.
CASES=(
    "flowpic 1500 1 forward 20"
    "flowpic 1500 1 train 20"
    "flowpic 1500 32 forward 5"
    "flowpic 1500 32 train 5"
    "lenet 32 1 forward 50"
    "lenet 32 256 forward 20"
    "lenet 32 128 train 20"
)
for c in "${CASES[@]}"; do
    read -r arch res batch mode iters <<< "$c"
    args=(--arch "$arch" --resolution "$res" --batch "$batch" --mode "$mode" --iters "$iters" --max-seconds "$SECONDS_PER")
    for wait in $WAITS; do
        echo "bench_nn: $arch ${res}^2 batch $batch $mode, OMP wait $wait: flowpic, then PyTorch" >&2
        env=(env -u OMP_WAIT_POLICY)
        [ "$wait" = default ] || env=(env OMP_WAIT_POLICY="$wait")
        {
            "${env[@]}" "$BIN/flowpic-bench" nn --json "${args[@]}"
            "${env[@]}" "$PY" "$HERE/nn_torch.py" "${args[@]}"
        } | sed "s/^{/{\"wait\": \"$wait\", /" >> "$RESULTS"
    done
done

$PY - "$RESULTS" "$LOAD_BEFORE" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PYEOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
key = lambda r: (r["arch"], r["resolution"], r["batch"], r["mode"], r["wait"])
torch = {key(r): r for r in rows if r["tool"] == "pytorch"}
ours = [r for r in rows if r["tool"] == "flowpic"]
def rate(v):
    return "%.1f k" % (v / 1e3) if v >= 1e4 else "%.0f" % v if v >= 100 else "%.1f" % v
t0 = next(iter(torch.values()))
print("### Neural engine, dense CPU path vs PyTorch CPU (images/s)")
print()
print("flowpic %s on %d threads; PyTorch %s on %d threads; random FlowPic-like inputs (~3,000 packets per "
      "1500² image, 64 per 32² image); median after warm-up.  Training = forward, cross-entropy, backward, "
      "Adam.  OMP wait: libgomp's default (spin, then sleep) or OMP_WAIT_POLICY=passive, the same for both "
      "sides.  Load average (1, 5, 15 min) before / after: %s / %s." % (ours[0]["backend"], ours[0]["threads"],
      t0["backend"].split("-")[1], t0["threads"], sys.argv[2], sys.argv[3]))
print()
print("| net | res | batch | mode | OMP wait | flowpic images/s | PyTorch images/s | ratio |")
print("|---|---:|---:|---|---|---:|---:|---:|")
names = {"flowpic": "FlowPicNet", "lenet": "LeNet"}
for r in ours:
    t = torch[key(r)]
    print("| %s | %d² | %d | %s | %s | %s | %s | %s× |" % (names[r["arch"]], r["resolution"], r["batch"], r["mode"], r["wait"],
          rate(r["images_per_s"]), rate(t["images_per_s"]), "%.3g" % (r["images_per_s"] / t["images_per_s"])))
PYEOF
