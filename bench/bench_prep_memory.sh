#!/usr/bin/env bash
# Preparation memory benchmark: flowpic-prep's peak memory on one capture of long flows at
# two sizes.  The capture is flowpic-synth's --mix of FLOWS flows per class (5 classes),
# every flow lasting about DURATION s, then the same flows at twice the duration: twice
# the capture, the same flows alive at once.  WindowCollector spills long flows' packets
# to a temp file (flowpic/windowing.h, "Streaming"), so peak anonymous memory should stay
# flat while the capture doubles.  SYNTHETIC traffic: a memory figure, not an accuracy one.
# Usage: bench/bench_prep_memory.sh BIN_DIR   (progress on stderr, markdown table on stdout)
# Environment: FLOWS (default 20 per class), DURATION (default 300 s, at most 1800),
# PREP_FLAGS (extra flowpic-prep flags, e.g. "--overlap 0.5").  Needs ~4x the larger
# capture's size free in $TMPDIR (the captures are made and removed there).
set -euo pipefail

BIN=${1:?usage: bench_prep_memory.sh BIN_DIR}
FLOWS=${FLOWS:-20}
DURATION=${DURATION:-300}
PY=/usr/bin/python3
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# Peak anonymous memory (RssAnon, polled every 10 ms: the heap, what the windowing holds)
# and peak RSS (getrusage; it also counts the capture's pages, which the reader maps),
# plus the peak disk taken by the windowing's spill file (found among the child's fds).
measure() {  # out_json, command...
    $PY - "$@" <<'PYEOF'
import json, os, resource, subprocess, sys, time
out, cmd = sys.argv[1], sys.argv[2:]
p = subprocess.Popen(cmd, stdout=subprocess.PIPE)
anon = spool = 0
def poll():
    global anon, spool
    try:
        for line in open("/proc/%d/status" % p.pid):
            if line.startswith("RssAnon:"):
                anon = max(anon, int(line.split()[1]))
        for fd in os.listdir("/proc/%d/fd" % p.pid):
            f = "/proc/%d/fd/%s" % (p.pid, fd)
            if ".flowpic-spool" in os.readlink(f):
                spool = max(spool, os.stat(f).st_blocks * 512)
    except OSError:
        pass  # it just ended
while p.poll() is None:
    poll()
    time.sleep(0.01)
stdout = p.stdout.read()
if p.returncode != 0:
    sys.exit("bench_prep_memory: %s failed (exit %d)" % (cmd[0], p.returncode))
r = json.loads(stdout)
r["anon_kb"], r["spool_bytes"] = anon, spool
r["maxrss_kb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
json.dump(r, open(out, "w"))
PYEOF
}

rows=()
for scale in 1 2; do
    d=$((DURATION * scale))
    echo "bench_prep_memory: synthesizing $FLOWS flows/class lasting ~${d} s (--mix)" >&2
    "$BIN/flowpic-synth" --out "$TMP/synth-$scale" --flows-per-class "$FLOWS" --duration "$d" \
        --seed 1 --mix "$TMP/mix-$scale.pcap" -q >&2
    rm -rf "$TMP/synth-$scale"  # only the mix is read
    echo "bench_prep_memory: flowpic-prep on $(du -m "$TMP/mix-$scale.pcap" | cut -f1) MB" >&2
    start=$(date +%s.%N)
    # shellcheck disable=SC2086
    TMPDIR=$TMP measure "$TMP/prep-$scale.json" "$BIN/flowpic-prep" "$TMP/mix-$scale.pcap" \
        -o "$TMP/mix-$scale.fpd" --label mix --json -q ${PREP_FLAGS:-}
    end=$(date +%s.%N)
    rows+=("$(stat -c %s "$TMP/mix-$scale.pcap") $d $start $end $TMP/prep-$scale.json")
    rm -f "$TMP/mix-$scale.pcap" "$TMP/mix-$scale.fpd"
done

$PY - "$FLOWS" "${PREP_FLAGS:-}" "${rows[@]}" <<'PYEOF'
import json, sys
flows, flags, rows = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
print("### flowpic-prep memory on one capture of long flows (synthetic, %d flows%s)" %
      (5 * flows, ", " + flags if flags else ""))
print()
print("| capture | flow length | packets read | windows | wall | peak anonymous memory | peak RSS (with the mapped capture) | spill file peak |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|")
anon = []
for r in rows:
    size, dur, start, end, path = r.split()
    j = json.load(open(path))
    anon.append(j["anon_kb"])
    print("| %.0f MB | ~%s s | %d | %d | %.1f s | %.1f MB | %.0f MB | %.0f MB |" % (
        int(size) / 1e6, dur, j["window_stats"]["packets"], j["windows"], float(end) - float(start),
        j["anon_kb"] / 1024, j["maxrss_kb"] / 1024, j["spool_bytes"] / 2**20))
print()
print("Peak anonymous memory grows %.2fx while the capture doubles." % (anon[1] / max(anon[0], 1)))
PYEOF
