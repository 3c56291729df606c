#!/usr/bin/env python3
"""Writes the hand-built inputs of tests/fuzz/regress/ (each reproduces a defect that was
fixed; docs/FUZZING.md lists them).  Inputs the fuzzers found are committed as they came;
these are the ones built on purpose, from the description of the bug, so they are
regenerated here byte for byte:  python3 tests/fuzz/make_regress.py [a seed .fpd]
The first byte of capture, dataset and checkpoint inputs selects harness options
(tests/fuzz/fuzz_<name>.cpp)."""
import json
import os
import struct
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "regress")


def put(harness, name, data):
    d = os.path.join(ROOT, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def pcapng(records):
    """Section header, one Ethernet interface with nanosecond resolution, enhanced packets."""
    def block(t, body):
        return struct.pack("<II", t, len(body) + 12) + body + struct.pack("<I", len(body) + 12)
    out = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    out += block(1, struct.pack("<HHI", 1, 0, 0) + struct.pack("<HHB3x", 9, 1, 9) + struct.pack("<HH", 0, 0))
    udp = struct.pack(">HHHH", 5060, 5004, 8 + 20, 0) + bytes(range(20))
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, bytes([10, 0, 0, 1]),
                     bytes([10, 0, 0, 2])) + udp
    frame = bytes(6) + bytes([2, 0, 0, 0, 0, 1]) + b"\x08\x00" + ip
    for ts in records:
        epb = struct.pack("<IIIII", 0, ts >> 32, ts & 0xffffffff, len(frame), len(frame)) + frame
        epb += bytes((4 - len(epb) % 4) % 4)
        out += block(6, epb)
    return out


def safetensors(header, data=b""):
    text = json.dumps(header, separators=(",", ":")) if not isinstance(header, str) else header
    text = text.encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def main():
    # capture: a pcapng timestamp past 2262 (int64 nanoseconds overflowed: UB).
    put("capture", "pcapng_timestamp_past_2262", b"\x00" + pcapng([1700000000 * 10**9, 0xF000000000000000]))
    put("capture", "pcapng_timestamp_2_pow_64_minus_1", b"\x11" + pcapng([0xFFFFFFFFFFFFFFFF]))

    # model: numbers the JSON parser cannot hold escaped as "internal error".
    put("model", "shape_1e400", safetensors('{"a":{"dtype":"F32","shape":[1e400],"data_offsets":[0,4]}}', bytes(4)))
    put("model", "metadata_1e400", safetensors('{"__metadata__":{"format":1e400}}'))
    # model: metadata asking for a huge net in a 200-byte file (built before the tensors
    # were checked: hundreds of GB).
    md = {"format": "flowpic", "version": "1", "arch": "lenet", "classes": "a,b"}
    w = {"conv1.weight": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}
    put("model", "resolution_100000", safetensors({**w, "__metadata__": {**md, "resolution": "100000", "channels": "1"}}, bytes(4)))
    put("model", "channels_1e9", safetensors({**w, "__metadata__": {**md, "resolution": "32", "channels": "1000000000"}}, bytes(4)))
    put("model", "flowpic_resolution_1500_tiny_tensors",
        safetensors({**w, "__metadata__": {**md, "arch": "flowpic", "resolution": "1500", "channels": "16"}}, bytes(4)))

    # checkpoint: counters std::stoi could not parse (std::invalid_argument / out_of_range
    # escaped as "internal error"); the harness re-seals the checksum (first byte odd).
    ck = {"format": "flowpic-checkpoint", "version": "1", "epoch": "x3", "adam_step": "99999999999999999999999",
          "best_epoch": "1", "best_metric": "nan", "since_best": "0", "seed": "1", "batch": "8", "arch": "lenet",
          "resolution": "16", "stopped_early": "0", "crc32c": "00000000"}
    t = {"conv1.bias": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
    put("checkpoint", "bad_counters_resealed", b"\x01" + safetensors({**t, "__metadata__": ck}, struct.pack("<2f", 0.5, -1.25)))
    put("checkpoint", "nan_weights_resealed",
        b"\x01" + safetensors({**t, "__metadata__": {**ck, "epoch": "3", "adam_step": "3", "best_metric": "0.5"}},
                              struct.pack("<2f", float("nan"), 1.0)))
    put("checkpoint", "shape_1e400", b"\x01" + safetensors('{"a":{"dtype":"F32","shape":[1e400],"data_offsets":[0,4]}}', bytes(4)))

    # labels: std::regex backtracked for ~20 s on these (map text, NUL, capture name).
    put("labels", "re_a_opt_plus_b", b"re:a?+b\tchat\n\0" + b"a" * 30 + b"c")
    put("labels", "re_nested_star", b"re:(a*)*b\tchat\nre:(a|aa)+$\tfile\n\0" + b"a" * 3000 + b"c")
    put("labels", "re_counted_nested", b"re:(?:a?){30}a{30}\tchat\n\0" + b"a" * 30)
    put("labels", "duplicate_and_catch_all", b"x*\tchat\nx*\tfile\nre:.*\tvoip\n*.pcap\tvideo\n\0x.pcap")

    # npy: a shape whose element count overflows 64 bits.
    h = b"{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4611686018427387904, 16), }"
    h += b" " * ((64 - (10 + len(h) + 1) % 64) % 64) + b"\n"
    put("npy", "shape_overflows_u64", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h + bytes(16))

    # dataset: a class table claiming 0xffffffff names (reserved up front: 128 GB); the
    # harness re-seals the checksums (first byte odd).  Built from a seed dataset.
    if len(sys.argv) > 1:
        ds = bytearray(open(sys.argv[1], "rb").read())
        secs = [struct.unpack_from("<IIQQII", ds, 64 + 32 * i) for i in range(5)]
        for sid, _, off, size, _, _ in secs:
            if sid in (3, 4):  # classes, captures
                bad = bytearray(ds)
                struct.pack_into("<I", bad, off, 0xFFFFFFFF)
                struct.pack_into("<I", bad, 40 if sid == 3 else 44, 0xFFFFFFFF)  # class_count, capture_count
                put("dataset", "class_count_ffffffff" if sid == 3 else "capture_count_ffffffff", b"\x01" + bytes(bad))


if __name__ == "__main__":
    main()
