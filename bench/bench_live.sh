#!/usr/bin/env bash
# Live classification under load (issue 15): a synthetic capture replayed by tcpreplay into
# one end of a veth pair inside a network namespace of this script's own, flowpic-infer
# --live on the other end.  For each replay rate (tcpreplay --pps, then --topspeed): the
# packets/s tcpreplay sent, what libpcap received and dropped, the decisions and their
# latency p50/p99 (flowpic-infer's --json summary); then peak RSS (VmHWM) over a long
# replay loop.  Needs root, ip netns and tcpreplay; prints a one-line table saying why
# when it cannot run.  Usage: bench/bench_live.sh BIN_DIR
#   LIVE_RATES="250000 500000 1000000 top"  LIVE_LOOPS=20  LIVE_FLOWS_PER_CLASS=4  LIVE_DEVICE=cpu
set -euo pipefail
BIN=${1:?usage: bench_live.sh BIN_DIR}
RATES=${LIVE_RATES:-"250000 500000 1000000 top"}
LOOPS=${LIVE_LOOPS:-20}
PER_CLASS=${LIVE_FLOWS_PER_CLASS:-4}
DEVICE=${LIVE_DEVICE:-cpu}
echo "### Live classification (bench/bench_live.sh)"
echo
if [ "$(id -u)" != 0 ] || ! command -v tcpreplay >/dev/null || ! command -v ip >/dev/null; then
    echo "skipped: needs root, ip (iproute2) and tcpreplay"
    exit 0
fi
NS=flowpic-bench-live-$$
T=$(mktemp -d)
cleanup() {
    [ -n "${PID:-}" ] && kill -INT "$PID" 2>/dev/null || true
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT
if ! ip netns add "$NS" 2>/dev/null; then
    echo "skipped: ip netns add failed (no permission for network namespaces)"
    exit 0
fi
ip -n "$NS" link add va type veth peer name vb
ip -n "$NS" link set va up
ip -n "$NS" link set vb up

echo "bench_live: synthetic capture and a 1-epoch model with 0.1 s windows (so windows close during a replay)" >&2
"$BIN/flowpic-synth" --out "$T/s" --flows-per-class "$PER_CLASS" --duration 60 --mix "$T/mix.pcap" -q
"$BIN/flowpic-prep" "$T/s" -o "$T/d.fpd" --label-from-dir --window 0.1 --min-span 0 --min-packets 5 -q
"$BIN/flowpic-train" --data "$T/d.fpd" -o "$T/m.safetensors" --arch lenet --resolution 32 --epochs 1 -q --device "$DEVICE"
RECORDS=$(python3 -c "
import struct,sys
b=open('$T/mix.pcap','rb').read(); n=0; at=24
while at+16<=len(b): n+=1; at+=16+struct.unpack('<I',b[at+8:at+12])[0]
print(n)")

# One replay: starts flowpic-infer, replays, stops it with SIGINT; prints the summary JSON.
run_one() {  # $1: tcpreplay rate flag, $2: loops, $3: ring MB; writes $T/peak_kb and $T/cpu_s
    ip netns exec "$NS" "$BIN/flowpic-infer" --model "$T/m.safetensors" --live vb --json --device "$DEVICE" \
        --buffer-size "${3:-512}" >"$T/out" 2>"$T/err" &
    PID=$!
    for _ in $(seq 100); do grep -q classifying "$T/err" && break; sleep 0.1; done
    ip netns exec "$NS" tcpreplay -i va $1 --loop "$2" "$T/mix.pcap" >"$T/replay" 2>&1
    sleep 0.5
    PEAK_KB=$(awk '/VmHWM/ {print $2}' /proc/$PID/status)
    CPU_S=$(awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' /proc/$PID/stat)
    echo "$PEAK_KB" >"$T/peak_kb"   # run_one runs in $(...): its variables stay there
    echo "$CPU_S" >"$T/cpu_s"
    kill -INT "$PID"
    wait "$PID"
    PID=
    tail -n 1 "$T/out"
}
rated() { grep -o 'Rated: [^,]*, [^,]*, [0-9.]* pps' "$T/replay" | grep -o '[0-9.]* pps' | cut -d' ' -f1; }

echo "Synthetic capture (flowpic-synth --mix, $PER_CLASS flows per class, $RECORDS packets), model windows 0.1 s"
echo "(LeNet 32x32, $DEVICE), tcpreplay and flowpic-infer sharing the machine; load: $(uptime | sed 's/.*load average: //')."
echo
echo "| tcpreplay rate | sent packets/s | received by flowpic | dropped (libpcap + interface) | decisions | latency p50 | latency p99 | flowpic CPU per packet |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for r in $RATES; do
    if [ "$r" = top ]; then flag=--topspeed; label="--topspeed"; else flag="--pps=$r"; label="--pps $r"; fi
    echo "bench_live: replay $label" >&2
    S=$(run_one "$flag" 1)
    python3 - "$S" "$label" "$(rated)" "$(cat "$T/cpu_s")" <<'EOF'
import json, sys
s = json.loads(sys.argv[1])["summary"]
print("| %s | %s | %d | %d + %d | %d | %.2f ms | %.2f ms | %.2f us |" % (
    sys.argv[2], "{:,.0f}".format(float(sys.argv[3] or 0)), s["records"], s.get("pcap_dropped", 0),
    s.get("interface_dropped", 0), s["decisions"], s["latency_p50_ms"], s["latency_p99_ms"],
    float(sys.argv[4]) * 1e6 / max(1, s["records"])))
EOF
done
echo "bench_live: the same capture through --stream - (no capture path: the decision pipeline alone)" >&2
for _ in 1 2 3; do
    "$BIN/flowpic-infer" --model "$T/m.safetensors" --stream - --json -q --device "$DEVICE" <"$T/mix.pcap" | tail -n 1
done | python3 -c "
import json, sys
best = max((json.loads(l)['summary'] for l in sys.stdin), key=lambda s: s['records'] / s['seconds'])
print()
print('--stream - from the page cache, one thread, best of 3: %.2f M packets/s (%d packets, %d decisions, %.2f s).' % (
    best['records'] / best['seconds'] / 1e6, best['records'], best['decisions'], best['seconds']))"
echo "bench_live: long loop ($LOOPS replays at top speed) for peak RSS" >&2
S=$(run_one --topspeed "$LOOPS" 64)
python3 - "$S" "$(cat "$T/peak_kb")" "$LOOPS" <<'EOF'
import json, sys
s = json.loads(sys.argv[1])["summary"]
print()
print("Peak RSS over %s replays at top speed, --buffer-size 64 (the ring is mapped into the process and counts): %.1f MB (%d packets, %d flows, %d decisions, %d dropped, %d evicted flows)." % (
    sys.argv[3], int(sys.argv[2]) / 1024, s["records"], s["flows"], s["decisions"],
    s.get("pcap_dropped", 0) + s.get("interface_dropped", 0), s["evicted_flows"]))
EOF
