#!/usr/bin/python3
"""The numpy baseline of the binning benchmark: one window binned with
numpy.histogram2d the way the FlowPic authors do (ts_norm = (ts - ts[0]) / span * N;
histogram2d(sizes, ts_norm, bins=(range(0, N+1), range(0, N+1)))), median of many runs
after a warm-up.  The window is the one `flowpic-bench binning --dump-window FILE` writes
(lines "t_us size dir"; '#' lines are comments).  Prints one JSON line per resolution.
Usage: binning_numpy.py WINDOW_FILE [--resolutions 1500,64] [--min-time 1.0]"""
import argparse
import json
import time

import numpy as np


def load(path):
    rows = [l.split() for l in open(path) if l.strip() and not l.startswith("#")]
    a = np.array(rows, dtype=np.int64)
    return a[:, 0].astype(np.float64), a[:, 1].astype(np.float64)


def flowpic(ts, sizes, n):
    # The authors' code at N = 1500; at other N, sizes scaled the same way as flowpic does.
    ts_norm = (ts - ts[0]) / (ts[-1] - ts[0]) * n
    size_norm = sizes if n == 1500 else sizes * n / 1500.0
    hist, _, _ = np.histogram2d(size_norm, ts_norm, bins=(range(0, n + 1), range(0, n + 1)))
    return hist


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("window")
    ap.add_argument("--resolutions", default="1500,64")
    ap.add_argument("--min-time", type=float, default=1.0, help="seconds of runs per figure, at least")
    args = ap.parse_args()
    ts, sizes = load(args.window)
    for n in [int(x) for x in args.resolutions.split(",")]:
        for _ in range(3):
            hist = flowpic(ts, sizes, n)  # warm-up
        runs = []
        start = time.perf_counter()
        while len(runs) < 10 or time.perf_counter() - start < args.min_time:
            a = time.perf_counter()
            flowpic(ts, sizes, n)
            runs.append(time.perf_counter() - a)
        runs.sort()
        median = runs[len(runs) // 2]
        print(json.dumps({"method": "numpy.histogram2d", "resolution": n, "batch": 1, "runs": len(runs),
                          "s_per_call": median, "s_per_window": median, "windows_per_s": 1.0 / median,
                          "packets": int(len(ts)), "pixels": int(np.count_nonzero(hist)),
                          "numpy": np.__version__}))


if __name__ == "__main__":
    main()
