#!/usr/bin/python3
"""Reference FlowPics from numpy.histogram2d for tests/test_binning.cpp.

Run with Debian's python3 (it has numpy):
    /usr/bin/python3 tests/make_binning_fixtures.py [--out DIR] [--seed S] [--random K]
writes DIR/fixtures.txt (default DIR: tests/fixtures/binning).  The committed file is
the primary check; the C++ test may also rerun this script into a temp dir.

The rule (kernels/cpu/binning.h), in the FlowPic authors' numpy form generalised to N:
    size_norm = sizes * N / 1500                  (float64, multiply first)
    ts_norm   = (t - t0) / D * N                  (float64, t in microseconds)
    H = np.histogram2d(size_norm, ts_norm, bins=(range(0, N+1), range(0, N+1)))
span: t0 = first packet's time, D = last - first; fixed: t0 = 0, D = window length.
D == 0: every packet goes to column 0 (numpy would drop them all as NaN).

Format (text, one record per line, '#' lines are comments):
    window ID LENGTH_US COUNT         then COUNT lines: T_US SIZE DIR
    image ID N NORMALIZE PIXELS       then PIXELS lines: ROW COL UP DOWN
An image record holds the two per-direction histograms (UP: dir 1 client->server,
DOWN: dir 0) of window ID at resolution N, sparse, sorted by (ROW, COL), zero pixels
left out.  Every value/direction mode is a pixel-wise function of (UP, DOWN):
    none/count = UP+DOWN   none/binary = UP+DOWN > 0
    grey = 200 if UP else 50 if DOWN     channels = [UP, DOWN] (binary: > 0)
Before writing, the script builds all 12 mode images with numpy and asserts that each
equals that function of the stored record, so the file encodes every mode's numpy image.
"""
import argparse
import os
import random
import sys
from fractions import Fraction

import numpy as np

RESOLUTIONS = (1500, 300, 64, 32)
NORMALIZE = ("span", "fixed")
MTU = 1500


def norm_coords(win, n, normalize):
    length, pk = win
    t = np.array([p[0] for p in pk], dtype=np.int64)
    s = np.array([p[1] for p in pk], dtype=np.int64)
    size_norm = s.astype(np.float64) * n / MTU
    if normalize == "span":
        t0, span = int(t[0]), int(t[-1] - t[0])
    else:
        t0, span = 0, length
    if span == 0:
        ts_norm = np.zeros(len(pk), dtype=np.float64)
    else:
        ts_norm = (t - t0).astype(np.float64) / span * n
    return size_norm, ts_norm, t0, span


def hist(size_norm, ts_norm, n):
    edges = range(0, n + 1)
    h, _, _ = np.histogram2d(size_norm, ts_norm, bins=(edges, edges))
    return h.astype(np.int64)


def mode_images(win, n, normalize):
    """All 12 mode images, straight from numpy: {(values, direction): C x N x N}."""
    size_norm, ts_norm, _, _ = norm_coords(win, n, normalize)
    d = np.array([p[2] for p in win[1]], dtype=np.int64)
    all_ = hist(size_norm, ts_norm, n)
    up = hist(size_norm[d == 1], ts_norm[d == 1], n)
    down = hist(size_norm[d == 0], ts_norm[d == 0], n)
    grey = np.where(up > 0, 200, np.where(down > 0, 50, 0))
    out = {}
    for values in ("count", "binary"):
        f = (lambda h: h) if values == "count" else (lambda h: (h > 0).astype(np.int64))
        out[(values, "none")] = f(all_)[None]
        out[(values, "grey")] = grey[None]
        out[(values, "channels")] = np.stack([f(up), f(down)])
    return up, down, out


def check_encoding(up, down, images):
    tot = up + down
    expect = {
        ("count", "none"): tot[None], ("binary", "none"): (tot > 0)[None],
        ("count", "grey"): np.where(up > 0, 200, np.where(down > 0, 50, 0))[None],
        ("count", "channels"): np.stack([up, down]),
        ("binary", "channels"): np.stack([up > 0, down > 0]),
    }
    expect[("binary", "grey")] = expect[("count", "grey")]
    for key, img in images.items():
        assert np.array_equal(img, expect[key].astype(np.int64)), key


def exact_bin(num, den, n):
    """The bin exact arithmetic would give (to count the cases where float differs)."""
    q = Fraction(num * n, den)
    return -1 if q < 0 or q > n else min(int(q), n - 1)


def make_windows(rng, n_random):
    W = []
    L60 = 60_000_000
    # Hand-made edge cases.
    W.append((L60, [(12_345_678, 777, 1)]))                         # one packet
    W.append((L60, [(5_000_000, s, d) for s, d in ((40, 0), (1500, 1), (1500, 0), (640, 1))]))  # D == 0
    W.append((L60, [(0, 1500, 1), (0, 40, 0), (L60 // 2, 1500, 0), (L60, 1500, 1),
                    (L60, 40, 0), (L60 + 1, 900, 1), (L60 + 1000, 1500, 0)]))  # right edges; beyond length
    W.append((1_000, [(0, 1501, 1), (10, 9000, 0), (20, 0, 1), (500, 1, 0), (999, 1499, 1),
                      (1000, 1500, 0)]))                            # sizes off the axis; tiny window
    # Grid windows: times exactly on column edges for every resolution, where
    # (t / D) * N may round just below the integer; sizes exactly on row edges.
    for t0, D in ((0, L60), (1_234_567, 37_500_000), (0, 9_600_000), (777, 3 * 7 * 11 * 13 * 1_000)):
        times = set()
        for n in RESOLUTIONS:
            for k in range(0, n + 1):
                if (k * D) % n == 0 and rng.random() < min(1.0, 60 / n):
                    times.add(t0 + k * D // n)
        times |= {t0, t0 + D}
        sizes = [s for s in range(0, MTU + 1) if any((s * n) % MTU == 0 for n in RESOLUTIONS[1:])]
        pk = [(t, rng.choice(sizes), rng.randrange(2)) for t in sorted(times)]
        W.append((D if t0 == 0 else t0 + D, pk))
    # Random windows: random sizes 40..1500 (some exactly 1500), random sorted times with
    # duplicates, both directions, various window lengths.
    for i in range(n_random):
        length = rng.choice((60_000_000, 15_000_000, 1_000_000, 5_000, 200))
        count = rng.choice((2, 3, 10, 50, 120, 250))
        times = sorted(rng.randrange(0, length + 1) for _ in range(count))
        for j in range(1, count):  # duplicate times
            if rng.random() < 0.1:
                times[j] = times[j - 1]
        if rng.random() < 0.5:     # a packet exactly at the window end
            times[-1] = length
        pk = []
        for t in times:
            s = 1500 if rng.random() < 0.1 else rng.randrange(40, 1501)
            pk.append((t, s, rng.randrange(2)))
        W.append((length, pk))
    return W


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "fixtures", "binning"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--random", type=int, default=10, help="random windows besides the edge cases")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    windows = make_windows(rng, a.random)

    lines = ["# flowpic binning fixtures v1: numpy %s, seed %d; format in "
             "tests/make_binning_fixtures.py" % (np.__version__, a.seed)]
    rounding_cases = 0
    for wid, (length, pk) in enumerate(windows):
        lines.append("window %d %d %d" % (wid, length, len(pk)))
        lines += ["%d %d %d" % p for p in pk]
    for wid, win in enumerate(windows):
        for n in RESOLUTIONS:
            for normalize in NORMALIZE:
                up, down, images = mode_images(win, n, normalize)
                check_encoding(up, down, images)
                _, ts_norm, t0, span = norm_coords(win, n, normalize)
                if span:
                    for p, x in zip(win[1], ts_norm):
                        fb = -1 if not (0 <= x <= n) else min(int(x), n - 1)
                        rounding_cases += fb != exact_bin(p[0] - t0, span, n)
                rows, cols = np.nonzero(up + down)
                lines.append("image %d %d %s %d" % (wid, n, normalize, len(rows)))
                lines += ["%d %d %d %d" % (r, c, up[r, c], down[r, c]) for r, c in zip(rows, cols)]
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, "fixtures.txt")
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(path + ".tmp", path)
    print("%s: %d windows, %d bytes; %d packets where float rounding moves the time bin "
          "below the exact one" % (path, len(windows), os.path.getsize(path), rounding_cases),
          file=sys.stderr)


if __name__ == "__main__":
    main()
