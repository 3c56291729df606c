#!/usr/bin/python3
"""The tcbench / IMC'22 mini-FlowPic of UCDavis-QUIC flows, written literally from the
protocol in ../shared/data/ucdavis-quic/README.md, for tests/test_tcbench_binning.cpp.

Run with Debian's python3 (it has numpy):
    /usr/bin/python3 tests/tcbench_binning.py --dim 32 --out X.npy FLOW.txt [FLOW.txt ...]
    /usr/bin/python3 tests/tcbench_binning.py --dim 32 --out X.npy --list FILES.txt
writes X.npy: uint8, N x dim x dim, one FlowPic per flow file in the order given.

A flow file is one packet per line, tab-separated: unix time, time since the flow's first
packet (s), size (bytes), direction (1 up, 0 down).  The protocol, per flow:
    - one sample per flow: the packets with time since first < 15 s
    - sizes clipped to [0, 1500]
    - x = size / 1500 * dim, y = time / 15 * dim
    - numpy.histogram2d(x, y, bins=(range(dim + 1), range(dim + 1))): rows size, columns time
    - both directions in one channel; counts clipped to 255, stored as uint8
The time is the file's second column as written (not the first column minus the first
packet's: the two differ by up to 0.5 ms in the UCDavis files, the second column being
printed with 6 significant digits).  A malformed line is an error naming file and line.
"""
import argparse
import sys

import numpy as np


def read_flow(path):
    """(times since first, sizes) of one flow file, as the protocol reads them."""
    times, sizes = [], []
    with open(path) as f:
        for k, line in enumerate(f, 1):
            if not line.strip():
                continue
            cols = line.rstrip("\n").split("\t")
            if len(cols) != 4:
                sys.exit("%s:%d: %d tab-separated columns, expected 4" % (path, k, len(cols)))
            try:
                times.append(float(cols[1]))
                sizes.append(int(cols[2]))
            except ValueError as e:
                sys.exit("%s:%d: %s" % (path, k, e))
    return np.array(times, dtype=np.float64), np.array(sizes, dtype=np.float64)


def flowpic(timetofirst, pkts_size, dim, first=15, mtu=1500, max_count=255):
    keep = timetofirst < first
    timetofirst = timetofirst[keep]
    pkts_size = np.clip(pkts_size[keep], a_min=0, a_max=mtu)
    x = pkts_size / mtu * dim
    y = timetofirst / first * dim
    bins = range(dim + 1)
    mtx, _, _ = np.histogram2d(x, y, bins=(bins, bins))
    return np.clip(mtx, a_min=0, a_max=max_count).astype(np.uint8)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("flows", nargs="*", help="flow text files")
    ap.add_argument("--list", help="a file naming the flow files, one per line")
    ap.add_argument("--dim", type=int, default=32)
    ap.add_argument("--first", type=float, default=15.0, help="seconds of each flow (the protocol: 15)")
    ap.add_argument("--out", required=True, help="the .npy to write")
    a = ap.parse_args()
    paths = list(a.flows)
    if a.list:
        with open(a.list) as f:
            paths += [l.rstrip("\n") for l in f if l.strip()]
    if not paths:
        sys.exit("no flow files")
    out = np.zeros((len(paths), a.dim, a.dim), dtype=np.uint8)
    for i, p in enumerate(paths):
        out[i] = flowpic(*read_flow(p), a.dim, first=a.first)
    np.save(a.out, out)


if __name__ == "__main__":
    main()
