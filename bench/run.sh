#!/usr/bin/env bash
# `make bench`: every benchmark section, then all their tables together (also saved to
# $BENCH_OUT/results.md).  Usage: bench/run.sh BIN_DIR
# Sections print progress on stderr and one markdown table on stdout.
set -euo pipefail

BIN=${1:?usage: run.sh BIN_DIR}
export BENCH_OUT=${BENCH_OUT:-out/bench}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$BENCH_OUT"
TABLES=$(mktemp -d)
trap 'rm -rf "$TABLES"' EXIT

SECTIONS=(bench_extract.sh bench_binning.sh bench_prep.sh bench_timeseries.sh bench_prep_memory.sh bench_nn.sh bench_pipeline.sh bench_accuracy.sh bench_ndpi.sh bench_ucdavis.sh bench_classical.sh bench_live.sh)   # later sections are added here, in the order shown
failed=0
for s in "${SECTIONS[@]}"; do
    echo "== bench: $s" >&2
    if ! bash "$HERE/$s" "$BIN" > "$TABLES/$s.md"; then
        echo "bench: $s failed" >&2
        echo "### $s: FAILED (see the log above)" > "$TABLES/$s.md"
        failed=1
    fi
done

{
    echo "## flowpic benchmarks ($(date -u +%Y-%m-%d), $(uname -m), $(nproc) cores)"
    for s in "${SECTIONS[@]}"; do
        echo
        cat "$TABLES/$s.md"
    done
} | tee "$BENCH_OUT/results.md"
exit $failed
