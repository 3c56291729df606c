#!/usr/bin/env bash
# Rebuilds the seed corpora tests/fuzz/corpus/<harness>/ from the project's own tools on
# tiny data (and the hand-built inputs of make_regress.py).  Usage:
#   bash tests/fuzz/make_corpus.sh build/bin
# Small on purpose (a few KB to ~100 KB per harness): libFuzzer grows its own corpus in
# $(BUILD)/fuzz/corpus/ from these.
set -euo pipefail
BIN=${1:-build/bin}
HERE=$(cd "$(dirname "$0")" && pwd)
C=$HERE/corpus
T=$(mktemp -d /tmp/flowpic-corpus.XXXXXX)
trap 'rm -rf "$T"' EXIT
rm -rf "$C" && mkdir -p "$C"/{capture,dataset,model,checkpoint,npy,labels}

# Captures: one short synthetic flow per class, cut to its first records (pcap keeps
# whole records), each behind the harness's option byte.
"$BIN/flowpic-synth" --out "$T/synth" --flows-per-class 1 --seed 5 --duration 2 -q
python3 - "$T/synth" "$C/capture" <<'PY'
import glob, os, struct, sys
src, out = sys.argv[1], sys.argv[2]
for i, p in enumerate(sorted(glob.glob(src + "/*/*.pcap"))):
    b = open(p, "rb").read()
    pos, n = 24, 0
    while pos + 16 <= len(b) and n < 40:
        pos += 16 + struct.unpack_from("<I", b, pos + 8)[0]
        n += 1
    cls = os.path.basename(os.path.dirname(p))
    open(f"{out}/{cls}.pcap", "wb").write(bytes([i * 37 & 0xff]) + b[:pos])
PY

# Text inputs, which the same harness reaches by auto-detection: a packet time series (the
# UCDavis format) and flowpic-extract's packet CSV of a synthetic capture, first rows only.
{ printf '\x21'; printf '1522953991.427530000\t0\t1412\t1\n1522953991.427855000\t0.000324965\t972\t1\n'
  printf '1522953991.454149000\t0.026619\t1412\t0\n1522953991.454140000\t6.69956e-05\t80\t0\n'
  printf '1522953992.927530007\t1.5\t54\t1\n'; } > "$C/capture/timeseries.txt"
first=$(ls "$T"/synth/*/*.pcap | head -n1)
"$BIN/flowpic-extract" "$first" --csv "$T/p.csv" --direction --relative-time --label x -q
{ printf '\x30'; head -n 30 "$T/p.csv"; } > "$C/capture/packets.csv"

# A dataset of 1-second windows from those captures, and .npy exports of it.
mkdir -p "$T/caps"
for f in "$C"/capture/*.pcap; do tail -c +2 "$f" > "$T/caps/$(basename "$f")"; done
mkdir -p "$T/bycls"
for f in "$T"/caps/*.pcap; do n=$(basename "$f" .pcap); mkdir -p "$T/bycls/$n"; cp "$f" "$T/bycls/$n/a.pcap"; cp "$f" "$T/bycls/$n/b.pcap"; done
"$BIN/flowpic-prep" "$T/bycls" -o "$T/d.fpd" --label-from-dir --window 0.5 --min-packets 2 --min-span 0 \
    --split 0.5,0.5,0 -q
python3 "$HERE/make_regress.py" "$T/d.fpd"   # the regress inputs, the dataset ones from this file
printf '\x00' | cat - "$T/d.fpd" > "$C/dataset/synth.fpd"
printf '\x01' | cat - "$T/d.fpd" > "$C/dataset/synth_resealed.fpd"
"$BIN/flowpic-render" "$T/d.fpd" --npy-dataset "$T/np" --resolution 4 -q
"$BIN/flowpic-render" "$T/d.fpd" --npy "$T/npw" --resolution 3 --limit 1 --npy-dtype f32 -q
cp "$T/np/X.npy" "$C/npy/X_u16.npy"; cp "$T/np/y.npy" "$C/npy/y_i64.npy"; cp "$T/np/split.npy" "$C/npy/split_u8.npy"
cp "$(ls "$T"/npw/*.npy | head -1)" "$C/npy/window_f32.npy"

# A 16x16 LeNet (the smallest net) and hand-sealed checkpoints (a real one is ~240 KB).
"$BIN/flowpic-train" --data "$T/d.fpd" -o "$T/m.safetensors" --arch lenet --resolution 16 --epochs 1 --batch 4 -q
cp "$T/m.safetensors" "$C/model/lenet16.safetensors"
python3 - "$C/checkpoint" <<'PY'
import json, struct, sys
out = sys.argv[1]
def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF
assert crc32c(b"123456789") == 0xE3069283
def checkpoint(tensors, md):
    crc = 0
    for k in sorted(md, key=lambda s: s.encode()):
        crc = crc32c(k.encode() + b"\0" + md[k].encode() + b"\0", crc)
    for name in sorted(tensors, key=lambda s: s.encode()):
        shape, vals = tensors[name]
        crc = crc32c(name.encode() + b"\0" + struct.pack("<Q", len(shape)) +
                     b"".join(struct.pack("<q", d) for d in shape) + struct.pack(f"<{len(vals)}f", *vals), crc)
    md = dict(md, crc32c="%08x" % crc)
    header, data = {}, b""
    for name, (shape, vals) in tensors.items():
        blob = struct.pack(f"<{len(vals)}f", *vals)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob
    header["__metadata__"] = md
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data
md = {"format": "flowpic-checkpoint", "version": "1", "epoch": "3", "adam_step": "12", "best_epoch": "2",
      "best_metric": "-0.6931471805599453", "since_best": "1", "seed": "1", "batch": "4", "arch": "lenet",
      "resolution": "16", "stopped_early": "0"}
t = {"conv1.bias": ([3], [0.25, -0.5, 1.5]), "best.conv1.bias": ([3], [0.125, -0.75, 1.0]),
     "adam.m.conv1.bias": ([3], [1e-3, -2e-3, 3e-4]), "adam.v.conv1.bias": ([3], [1e-6, 2e-6, 5e-7]),
     "fc1.weight": ([2, 2], [0.5, -0.25, 0.75, -1.0])}
for flag, name in ((0, "sealed"), (1, "sealed_reseal")):
    open(f"{out}/{name}.safetensors", "wb").write(bytes([flag]) + checkpoint(t, md))
open(f"{out}/stopped_early.safetensors", "wb").write(b"\1" + checkpoint({"a": ([], [2.5])}, dict(md, stopped_early="1")))
PY

# Label maps: the documented example, globs, regexes of the built-in table, exclusions.
printf '# pattern\tclass\n*voip*\tvoip\nskype_*\tchat\n*/vpn/*\tvideo\tvpn\nre:^caps/.*_ft[0-9]+\tfile\njunk*\t-\n\0caps/vpn/x_ft12.pcap' > "$C/labels/docs_example"
printf 're:(aim|facebook|hangouts?|icq|skype|gmail)_?chat_?[0-9]*[ab]?\tchat\nre:s?ftps?(_?(down|up))?_?[0-9]*[ab]?\tfile\tnonvpn\nre:.*brows.*\tbrowsing\n\0/data/sftp_down_3a.pcapng' > "$C/labels/iscx_regexes"
printf 're:^[^/]+\\.pcap$\tchat\r\nre:\\d{2,4}\\.(pcap|cap)\tvoip\nre:[\\w.-]+/x\\x41\tvideo\tvpn\n*.pcap[ng]\tfile\n\0dir/x12.cap' > "$C/labels/escapes_and_counts"
du -sh "$C"/*
