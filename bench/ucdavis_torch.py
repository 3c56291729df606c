#!/usr/bin/python3
"""The PyTorch reference of the UCDavis-QUIC reproduction (bench/bench_ucdavis.sh): the
tcbench / IMC'23 mini-FlowPic campaign, written from the protocol in the data's README
(../shared/data/ucdavis-quic/README.md), not from flowpic's code.

What it does, per the README:
- reads the raw per-flow text files itself (unixtime, time since first, size, direction;
  one packet per line) with numpy;
- one sample per flow: the packets with time since first < 15 s (--window);
- FlowPic: sizes clipped to [0, 1500], x = size / 1500 * dim, y = time / 15 * dim,
  numpy.histogram2d(x, y, bins=(range(dim + 1), range(dim + 1))) (rows size, columns
  time), both directions in one channel, counts clipped to 255, uint8;
- the split comes from a manifest TSV (`flowpic-prep --stats DATA.fpd --captures`: header
  capture<TAB>class<TAB>split<TAB>windows, split train|val|test, capture = the flow file's
  path), so flowpic and this script train and test on the same flows; or, for trying it
  without flowpic, --draw-manifest draws one with numpy (N flows per class, K-th disjoint
  draw, 80/20 train/val, the rest is the test split "leftover");
- LeNet-5 mini-FlowPic at 32 and 64 (flowpic's nn/network.h layer for layer: conv 6@5x5,
  ReLU, max-pool 2, conv 16@5x5, ReLU, dropout .25, max-pool 2, fc 120, ReLU, fc 84, ReLU,
  dropout .5, fc K); at other resolutions (1500) flowpic's FlowPicNet (the authors' net:
  conv 10@10x10/5 'same', ReLU, pool, conv 20@10x10/5 'same', ReLU, dropout .25, pool,
  fc 64, ReLU, dropout .5, fc K);
- Adam lr 0.01 (torch's betas and eps), batch 32, at most 50 epochs, early stop after 5
  epochs without a validation-loss improvement of at least 0.001 over the best so far,
  the model of the lowest validation loss kept (also when it improved by less than 0.001);
- augmentation at loading: every training flow gives --augment-copies samples (10: itself
  + 9 augmented, each drawn afresh): changertt (times x alpha, alpha ~ U[0.5, 1.5]),
  timeshift (times + b, b ~ U[-1, 1] s, packets at negative times dropped), packetloss
  (the packets with |t - t0| <= 0.1 s dropped, t0 ~ U[first, last time of the flow]); and
  the image ones of IMC'22 in torch ops (no torchvision here): rotate (angle ~ U[-10, 10]
  degrees about the centre, nearest neighbour, zero fill), hflip (mirror the time axis
  with probability 0.5), colorjitter (brightness factor ~ U[1-B, 1+B] times the image, then
  contrast factor ~ U[1-C, 1+C] about the image mean, clipped to [0, 255]).  Packet
  augmentations act on the whole flow and the 15 s window is taken after them
  (--augment-on flow, the README's "a time drawn uniformly in the flow"; a change RTT
  alpha < 1 then pulls packets from 15-30 s into the window); --augment-on window applies
  them to the window's packets only.  Validation is not augmented (--augment-val does).

Where this net and its training differ from flowpic-train --preset tcbench (stated, not
hidden): weights start kaiming-uniform for ReLU with zero biases (--init kaiming, the
choice of tcbench's code; the README does not say; flowpic: glorot-uniform, zero biases,
--init glorot here; torch's own defaults, --init torch, let one of three seeds of a
change-RTT run on split 0 collapse to one class at lr 0.01); the images reach the net as counts / 255 (torch's
ToTensor convention on a uint8 image, as tcbench loads them; --input-scale 1 feeds the raw
counts as flowpic does); dropout is element-wise after conv2 as in flowpic (tcbench's
Dropout2d drops whole channels); random streams differ (equal in distribution only).

Output: progress on stderr, a one-line-per-run summary on stdout, and --json FILE (rewritten
after every run, so a stopped campaign keeps what it did): settings, the differences above,
timings (preparation = reading + binning of every flow once per resolution, and per run:
augmenting + binning the training samples, training incl. validation, testing) and per run
accuracy on the test split, macro-F1, per-class precision/recall/F1 and the confusion matrix
(rows true class, columns predicted).  Threads: torch.set_num_threads(--threads, default 2,
the development machine's cores); the output says how many.

Usage:
  ucdavis_torch.py --data-dir DIR --manifest split0.tsv [--manifest split1.tsv ...] \\
      --grid 32:none,changertt,timeshift,packetloss --grid 64:none,changertt --seeds 1 2 3 \\
      --json out.json
  ucdavis_torch.py --data-dir DIR --draw-manifest m.tsv --per-class 100 --split-index 0 --seed 1
Run with Debian's /usr/bin/python3 (python3-torch, python3-numpy)."""
import time

START = time.perf_counter()  # the campaign's wall time includes importing torch

import argparse  # noqa: E402
import copy  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

PACKET_AUGS = ("changertt", "timeshift", "packetloss")
IMAGE_AUGS = ("rotate", "hflip", "colorjitter")
AUGS = ("none",) + PACKET_AUGS + IMAGE_AUGS
MANIFEST_HEADER = ["capture", "class", "split", "windows"]
SPLITS = ("train", "val", "test")


class InputError(Exception):
    """Bad input: one line naming the file (and line) and what is wrong."""


# ---------------------------------------------------------------- reading and binning
def read_flow(path):
    """(times since first, sizes) of one flow file, float64 each.  The text's own 'time since
    first' column is used as it is (the protocol bins it; a few files step back by a few
    microseconds where it was rounded, which changes nothing here)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # numpy warns (not raises) on an empty file
            a = np.loadtxt(path, dtype=np.float64, delimiter="\t", usecols=(1, 2, 3), ndmin=2)
    except UserWarning:
        raise InputError("%s: empty file (no packets)" % path)
    except (ValueError, IndexError) as e:
        raise InputError("%s: not a packet time series (unixtime<TAB>time_since_first<TAB>size<TAB>direction): %s"
                         % (path, e))
    except OSError as e:
        raise InputError("%s: %s" % (path, e.strerror or e))
    if a.shape[0] == 0:
        raise InputError("%s: empty file (no packets)" % path)
    t, s, d = a[:, 0], a[:, 1], a[:, 2]
    bad = np.flatnonzero(~np.isfinite(t) | (t < 0))
    if bad.size:
        raise InputError("%s:%d: time since first %r is negative or not a number" % (path, bad[0] + 1, t[bad[0]]))
    bad = np.flatnonzero(~np.isfinite(s) | (s < 0))
    if bad.size:
        raise InputError("%s:%d: size %r is negative or not a number" % (path, bad[0] + 1, s[bad[0]]))
    bad = np.flatnonzero((d != 0) & (d != 1))
    if bad.size:
        raise InputError("%s:%d: direction %r is not 0 or 1" % (path, bad[0] + 1, d[bad[0]]))
    return t.copy(), s.copy()


def flowpic(t, s, dim, window=15.0, max_count=255):
    """The README's binning: packets with 0 <= t < window, sizes clipped to [0, 1500],
    x = size / 1500 * dim, y = t / window * dim, histogram2d with bins range(dim + 1),
    counts clipped to max_count, uint8.  Rows are size, columns time."""
    m = (t >= 0) & (t < window)
    x = np.clip(s[m], 0, 1500) / 1500 * dim
    y = t[m] / window * dim
    h, _, _ = np.histogram2d(x, y, bins=(range(dim + 1), range(dim + 1)))
    return np.minimum(h, max_count).astype(np.uint8)


# ---------------------------------------------------------------- augmentations
def aug_changertt(t, s, rng, lo=0.5, hi=1.5):
    alpha = rng.uniform(lo, hi)
    return t * alpha, s


def aug_timeshift(t, s, rng, lo=-1.0, hi=1.0):
    t2 = t + rng.uniform(lo, hi)
    keep = t2 >= 0
    return t2[keep], s[keep]


def aug_packetloss(t, s, rng, width=0.1, first=None, last=None):
    """first/last: the span t0 is drawn from (default: of t itself)."""
    t0 = rng.uniform(t.min() if first is None else first, t.max() if last is None else last)
    keep = np.abs(t - t0) > width
    return t[keep], s[keep]


def aug_image(name, imgs, rng, args):
    """imgs: float32 torch tensor N x 1 x H x W of counts; one fresh draw per image."""
    import torch
    import torch.nn.functional as F
    n = imgs.shape[0]
    if name == "hflip":
        flip = torch.from_numpy(rng.random(n) < 0.5)
        out = imgs.clone()
        out[flip] = imgs[flip].flip(-1)
        return out
    if name == "rotate":
        a = torch.from_numpy(np.deg2rad(rng.uniform(-args.rotate_degrees, args.rotate_degrees, n))).float()
        cos, sin = torch.cos(a), torch.sin(a)
        theta = torch.zeros(n, 2, 3)
        theta[:, 0, 0], theta[:, 0, 1], theta[:, 1, 0], theta[:, 1, 1] = cos, -sin, sin, cos
        grid = F.affine_grid(theta, list(imgs.shape), align_corners=False)
        return F.grid_sample(imgs, grid, mode="nearest", padding_mode="zeros", align_corners=False)
    if name == "colorjitter":
        b = torch.from_numpy(rng.uniform(max(0.0, 1 - args.jitter_brightness), 1 + args.jitter_brightness, n)).float()
        c = torch.from_numpy(rng.uniform(max(0.0, 1 - args.jitter_contrast), 1 + args.jitter_contrast, n)).float()
        out = (imgs * b.view(-1, 1, 1, 1)).clamp(0, args.max_count)
        mean = out.mean(dim=(1, 2, 3), keepdim=True)
        return (mean + c.view(-1, 1, 1, 1) * (out - mean)).clamp(0, args.max_count)
    raise ValueError(name)


# ---------------------------------------------------------------- manifests
def resolve(path, data_dir):
    if os.path.isabs(path) or os.path.exists(path) or not data_dir:
        return path
    return os.path.join(data_dir, path)


def read_manifest(path, data_dir):
    """[(flow file, class, split)] of a manifest; rows with 0 windows (flows flowpic-prep
    dropped: too few packets) are left out, as flowpic has no sample for them."""
    rows, skipped, seen = [], 0, set()
    try:
        f = open(path, encoding="utf-8")
    except OSError as e:
        raise InputError("%s: %s" % (path, e.strerror or e))
    with f:
        header = f.readline().rstrip("\n").split("\t")
        if header != MANIFEST_HEADER:
            raise InputError("%s:1: expected the header %s, got %s" % (path, "<TAB>".join(MANIFEST_HEADER),
                                                                     "<TAB>".join(header)))
        for no, line in enumerate(f, 2):
            line = line.rstrip("\n")
            if not line:
                continue
            cols = line.split("\t")
            if len(cols) != 4:
                raise InputError("%s:%d: expected 4 tab-separated columns, got %d" % (path, no, len(cols)))
            cap, cls, split, windows = cols
            if split not in SPLITS:
                raise InputError("%s:%d: split '%s' (expected train, val or test)" % (path, no, split))
            try:
                w = int(windows)
            except ValueError:
                w = -1
            if w < 0:
                raise InputError("%s:%d: windows '%s' is not a count" % (path, no, windows))
            if cap in seen:
                raise InputError("%s:%d: capture %s listed twice" % (path, no, cap))
            seen.add(cap)
            if w == 0:
                skipped += 1
                continue
            rows.append((resolve(cap, data_dir), cls, split))
    if not rows:
        raise InputError("%s: no flows with windows" % path)
    for s in ("train", "test"):
        if not any(r[2] == s for r in rows):
            raise InputError("%s: the %s split is empty" % (path, s))
    return rows, skipped


def draw_manifest(data_dir, per_class, val_fraction, split_index, seed, classes=None, pool=0):
    """The few-shot draw with numpy, for trying the campaign without flowpic-prep: per class
    (a sub-directory of data_dir), its files sorted by name and permuted with
    default_rng(seed); draw K takes permuted positions [K*N, (K+1)*N), the first
    round(N * (1 - val_fraction)) train, the rest val; every other file is test.
    pool > 0 keeps only the first `pool` files of each permutation (small trials)."""
    names = classes or sorted(d for d in os.listdir(data_dir) if os.path.isdir(os.path.join(data_dir, d)))
    rows = []
    for cls in names:
        d = os.path.join(data_dir, cls)
        if not os.path.isdir(d):
            raise InputError("%s: no class directory '%s'" % (data_dir, cls))
        files = sorted(f for f in os.listdir(d) if f.endswith(".txt"))
        perm = np.random.default_rng(seed).permutation(len(files))
        if pool:
            perm = perm[:pool]
        lo, hi = split_index * per_class, (split_index + 1) * per_class
        if hi > len(perm):
            raise InputError("%s: class '%s' has %d flows, draw %d of %d per class needs %d"
                             % (data_dir, cls, len(perm), split_index, per_class, hi))
        n_train = int(round(per_class * (1 - val_fraction)))
        for pos, i in enumerate(perm):
            split = "test"
            if lo <= pos < hi:
                split = "train" if pos - lo < n_train else "val"
            rows.append((os.path.join(data_dir, cls, files[i]), cls, split))
    return rows


def write_manifest(path, rows):
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write("\t".join(MANIFEST_HEADER) + "\n")
        for cap, cls, split in rows:
            f.write("%s\t%s\t%s\t1\n" % (cap, cls, split))
    os.replace(path + ".tmp", path)


# ---------------------------------------------------------------- nets
def make_net(resolution, classes, arch):
    import torch.nn as nn
    import torch.nn.functional as F

    class LeNet(nn.Module):
        def __init__(self):
            super().__init__()
            s = ((resolution - 4) // 2 - 4) // 2
            if s < 1:
                raise InputError("lenet needs a resolution of at least 16, got %d" % resolution)
            self.conv1 = nn.Conv2d(1, 6, 5)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * s * s, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, classes)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), 2)
            x = F.dropout(F.relu(self.conv2(x)), 0.25, self.training)
            x = F.max_pool2d(x, 2).flatten(1)
            x = F.relu(self.fc1(x))
            x = F.dropout(F.relu(self.fc2(x)), 0.5, self.training)
            return self.fc3(x)

    def same(size):  # Keras 'same' padding of a 10x10 stride-5 conv: (before, after)
        total = max((math.ceil(size / 5) - 1) * 5 + 10 - size, 0)
        return total // 2, total - total // 2

    class FlowPicNet(nn.Module):
        def __init__(self):
            super().__init__()
            s = math.ceil(math.ceil(resolution / 5) // 2 / 5) // 2
            if s < 1:
                raise InputError("flowpic needs a resolution of at least 56, got %d" % resolution)
            self.conv1 = nn.Conv2d(1, 10, 10, stride=5)
            self.conv2 = nn.Conv2d(10, 20, 10, stride=5)
            self.fc1 = nn.Linear(20 * s * s, 64)
            self.fc2 = nn.Linear(64, classes)

        @staticmethod
        def pad(x):
            a, b = same(x.shape[2])
            c, d = same(x.shape[3])
            return F.pad(x, (c, d, a, b))

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(self.pad(x))), 2)
            x = F.dropout(F.relu(self.conv2(self.pad(x))), 0.25, self.training)
            x = F.max_pool2d(x, 2).flatten(1)
            x = F.dropout(F.relu(self.fc1(x)), 0.5, self.training)
            return self.fc2(x)

    if arch == "auto":
        arch = "lenet" if resolution in (32, 64) else "flowpic"
    return (LeNet() if arch == "lenet" else FlowPicNet()), arch


def init_weights(net, how):
    """torch: leave torch's defaults (kaiming-uniform a = sqrt(5), uniform biases);
    kaiming: kaiming-uniform for ReLU (gain sqrt 2), zero biases (tcbench's choice);
    glorot: glorot-uniform, zero biases (flowpic-train's)."""
    import torch.nn as nn
    if how == "torch":
        return net
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            if how == "kaiming":
                nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")
            else:
                nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    return net


# ---------------------------------------------------------------- metrics
def metrics(y_true, y_pred, k):
    """accuracy, macro-F1 (mean over the classes with test samples), per-class precision /
    recall / F1 / support, and the confusion matrix (rows true, columns predicted)."""
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true), np.asarray(y_pred)), 1)
    tp = np.diag(cm).astype(np.float64)
    support, predicted = cm.sum(1), cm.sum(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    present = support > 0
    return {"accuracy": float(tp.sum() / max(cm.sum(), 1)),
            "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
            "precision": precision.tolist(), "recall": recall.tolist(), "f1": f1.tolist(),
            "support": support.tolist(), "confusion": cm.tolist()}


# ---------------------------------------------------------------- training
def predict(net, x):
    import torch
    net.eval()
    with torch.no_grad():
        return torch.cat([net(x[i:i + 1024]).argmax(1) for i in range(0, len(x), 1024)]).numpy()


def train(net, xtr, ytr, xva, yva, args, seed):
    """Trains net in place and leaves it at its best epoch: (best epoch, epochs run, best val loss)."""
    import torch
    import torch.nn.functional as F
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    gen = torch.Generator().manual_seed(seed)

    def loss_of(x, y):
        net.eval()
        total = 0.0
        with torch.no_grad():
            for i in range(0, len(x), 1024):
                total += float(F.cross_entropy(net(x[i:i + 1024]), y[i:i + 1024], reduction="sum"))
        return total / max(len(x), 1)

    best_loss, best_epoch, best_state, wait, epochs = math.inf, 0, None, 0, 0
    for epoch in range(1, args.epochs + 1):
        net.train()
        order = torch.randperm(len(xtr), generator=gen)
        for i in range(0, len(xtr), args.batch):
            idx = order[i:i + args.batch]
            opt.zero_grad()
            F.cross_entropy(net(xtr[idx]), ytr[idx]).backward()
            opt.step()
        epochs = epoch
        vl = loss_of(xva, yva) if len(xva) else loss_of(xtr, ytr)
        wait = 0 if vl < best_loss - args.min_delta else wait + 1
        if vl < best_loss:
            best_loss, best_epoch, best_state = vl, epoch, copy.deepcopy(net.state_dict())
        if not args.quiet:
            print("ucdavis_torch:   epoch %d val loss %.4f%s" % (epoch, vl, "  *best" if best_epoch == epoch else ""),
                  file=sys.stderr)
        if args.patience and wait >= args.patience:
            break
    net.load_state_dict(best_state)
    return best_epoch, epochs, best_loss


def parse_grid(items):
    grid = []
    for g in items:
        res, _, augs = g.partition(":")
        try:
            r = int(res)
        except ValueError:
            raise InputError("--grid %s: expected RES:AUG[,AUG...], e.g. 32:none,changertt" % g)
        names = [a for a in augs.split(",") if a] or ["none"]
        for a in names:
            if a not in AUGS:
                raise InputError("--grid %s: unknown augmentation '%s' (expected %s)" % (g, a, ", ".join(AUGS)))
        if r < 16 or r > 1500:
            raise InputError("--grid %s: resolution %d outside 16..1500" % (g, r))
        grid.append((r, names))
    return grid


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", help="the extracted data: CLASS/FLOW.txt (relative manifest paths resolve here)")
    ap.add_argument("--manifest", action="append", default=[], help="split manifest TSV (repeat: one per split)")
    ap.add_argument("--split-ids", type=int, nargs="+", help="the split number of each --manifest, in order, for "
                    "the output (default 0, 1, ...)")
    ap.add_argument("--grid", action="append", default=[],
                    help="RES:AUG[,AUG...] runs of one resolution (repeat); default 32:none")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1], help="training seeds (weights, order, dropout, "
                    "augmentation draws)")
    ap.add_argument("--window", type=float, default=15.0, help="first seconds of each flow")
    ap.add_argument("--max-count", type=int, default=255, help="counts clipped to this (uint8 images: 255)")
    ap.add_argument("--input-scale", type=float, default=1 / 255, help="image counts x this reach the net "
                    "(default 1/255: ToTensor on a uint8 image; 1 = raw counts, as flowpic)")
    ap.add_argument("--arch", choices=["auto", "lenet", "flowpic"], default="auto",
                    help="auto: lenet at 32 and 64, flowpic (the authors' net) otherwise")
    ap.add_argument("--init", choices=["torch", "kaiming", "glorot"], default="kaiming",
                    help="weights: torch's defaults, kaiming-uniform (ReLU gain) with zero biases, or glorot-uniform "
                    "with zero biases (flowpic's)")
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=50, help="at most this many epochs")
    ap.add_argument("--patience", type=int, default=5, help="early stop after this many epochs without a "
                    "validation-loss improvement of --min-delta (0 = off)")
    ap.add_argument("--min-delta", type=float, default=0.001)
    ap.add_argument("--augment-copies", type=int, default=10, help="samples per training flow when augmenting "
                    "(itself + copies-1 augmented)")
    ap.add_argument("--augment-on", choices=["flow", "window"], default="flow",
                    help="packet augmentations act on the whole flow (then the window is cut) or on the window")
    ap.add_argument("--augment-val", action="store_true", help="augment the validation flows too")
    ap.add_argument("--rtt-range", type=float, nargs=2, default=[0.5, 1.5], metavar=("LO", "HI"))
    ap.add_argument("--shift-range", type=float, nargs=2, default=[-1.0, 1.0], metavar=("LO", "HI"))
    ap.add_argument("--loss-width", type=float, default=0.1, help="packetloss: seconds either side of t0")
    ap.add_argument("--rotate-degrees", type=float, default=10.0)
    ap.add_argument("--jitter-brightness", type=float, default=0.5)
    ap.add_argument("--jitter-contrast", type=float, default=0.5)
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    ap.add_argument("--json", help="write the results here (rewritten after every run)")
    ap.add_argument("--draw-manifest", metavar="OUT", help="draw a manifest from --data-dir with numpy, write it, exit")
    ap.add_argument("--per-class", type=int, default=100, help="--draw-manifest: flows per class for train + val")
    ap.add_argument("--val-fraction", type=float, default=0.2)
    ap.add_argument("--split-index", type=int, default=0, help="--draw-manifest: the K-th disjoint draw")
    ap.add_argument("--seed", type=int, default=1, help="--draw-manifest: seed of the draw")
    ap.add_argument("--classes", nargs="+", help="--draw-manifest: only these classes")
    ap.add_argument("--pool", type=int, default=0, help="--draw-manifest: only the first N flows of each class's "
                    "permutation (small trials)")
    ap.add_argument("-q", "--quiet", action="store_true", help="no per-epoch progress")
    args = ap.parse_args()
    try:
        return run(args)
    except InputError as e:
        print("ucdavis_torch.py: %s" % e, file=sys.stderr)
        return 1


def run(args):
    if args.draw_manifest:
        if not args.data_dir:
            raise InputError("--draw-manifest needs --data-dir")
        rows = draw_manifest(args.data_dir, args.per_class, args.val_fraction, args.split_index, args.seed,
                             args.classes, args.pool)
        write_manifest(args.draw_manifest, rows)
        print("ucdavis_torch: wrote %s (%d flows: %s)" % (args.draw_manifest, len(rows), ", ".join(
            "%s %d" % (s, sum(r[2] == s for r in rows)) for s in SPLITS)), file=sys.stderr)
        return 0
    if not args.manifest:
        raise InputError("give --manifest (one per split) or --draw-manifest")
    grid = parse_grid(args.grid or ["32:none"])
    if args.augment_copies < 1 or args.batch < 1 or args.epochs < 1 or args.threads < 1:
        raise InputError("--augment-copies, --batch, --epochs and --threads must be at least 1")
    split_ids = args.split_ids or list(range(len(args.manifest)))
    if len(split_ids) != len(args.manifest):
        raise InputError("--split-ids: %d ids for %d manifests" % (len(split_ids), len(args.manifest)))
    import torch
    torch.set_num_threads(args.threads)
    wall0 = START

    manifests = []
    for m in args.manifest:
        rows, skipped = read_manifest(m, args.data_dir)
        manifests.append({"path": m, "rows": rows, "skipped_no_windows": skipped})
    classes = sorted({r[1] for m in manifests for r in m["rows"]})
    cindex = {c: i for i, c in enumerate(classes)}
    files = sorted({r[0] for m in manifests for r in m["rows"]})
    wanted_augs = {a for _, augs in grid for a in augs}
    # Packets beyond the window matter only when a packet augmentation acts on the whole
    # flow: change RTT down to alpha LO pulls in t < window / LO, a shift down to LO
    # t < window - LO; packet loss needs only the flow's last time, kept apart.
    horizon = args.window
    if args.augment_on == "flow":
        if "changertt" in wanted_augs:
            horizon = max(horizon, args.window / max(args.rtt_range[0], 1e-9))
        if "timeshift" in wanted_augs:
            horizon = max(horizon, args.window - min(args.shift_range[0], 0.0))

    log = (lambda *a: None) if args.quiet else (lambda msg: print("ucdavis_torch: " + msg, file=sys.stderr))
    log("torch %s, %d thread(s); %d manifest(s), %d flows, classes %s" % (
        torch.__version__, torch.get_num_threads(), len(manifests), len(files), ", ".join(classes)))
    t0 = time.perf_counter()
    flows, packets = {}, 0
    for i, f in enumerate(files):
        t, s = read_flow(f)
        packets += len(t)
        keep = t < horizon
        flows[f] = (t[keep], s[keep].astype(np.float32), float(t.min()), float(t.max()))
        if not args.quiet and (i + 1) % 1000 == 0:
            log("read %d/%d flows" % (i + 1, len(files)))
    read_s = time.perf_counter() - t0
    log("read %d flows, %d packets in %.1f s" % (len(files), packets, read_s))

    t0 = time.perf_counter()
    images = {}  # resolution -> {file: uint8 image} (every flow's own sample, binned once)
    for res in sorted({r for r, _ in grid}):
        images[res] = {f: flowpic(v[0], v[1], res, args.window, args.max_count) for f, v in flows.items()}
    bin_s = time.perf_counter() - t0
    log("binned %d flows at %s in %.1f s" % (len(files), ", ".join(str(r) for r in images), bin_s))

    def samples(file_list, labels, res, aug, rng):
        """(images N x 1 x R x R float32 for the net, labels): each flow's own image first, then
        per flow copies-1 augmented ones, each drawn afresh."""
        own = np.stack([images[res][f] for f in file_list]) if file_list else np.zeros((0, res, res), np.uint8)
        y = np.asarray(labels, dtype=np.int64)
        if aug == "none" or not file_list or args.augment_copies == 1:
            return tensor(own), y
        extra = []
        for f in file_list:
            t, s, first, last = flows[f]
            if args.augment_on == "window":
                m = t < args.window
                t, s, first, last = t[m], s[m], float(t[m].min()), float(t[m].max())
            for _ in range(args.augment_copies - 1):
                if aug == "changertt":
                    a, b = aug_changertt(t, s, rng, *args.rtt_range)
                elif aug == "timeshift":
                    a, b = aug_timeshift(t, s, rng, *args.shift_range)
                elif aug == "packetloss":
                    a, b = aug_packetloss(t, s, rng, args.loss_width, first, last)
                else:  # an image augmentation: transformed below
                    extra.append(images[res][f])
                    continue
                extra.append(flowpic(a, b, res, args.window, args.max_count))
        x = np.concatenate([own, np.stack(extra)])
        y = np.concatenate([y, np.repeat(y, args.augment_copies - 1)])
        xt = torch.from_numpy(x.astype(np.float32)).unsqueeze(1)
        if aug in IMAGE_AUGS:
            xt[len(own):] = aug_image(aug, xt[len(own):], rng, args)
        return xt * np.float32(args.input_scale), y

    def tensor(imgs):
        return torch.from_numpy(imgs.astype(np.float32) * np.float32(args.input_scale)).unsqueeze(1)

    result = {
        "tool": "pytorch", "script": "bench/ucdavis_torch.py", "torch": torch.__version__, "numpy": np.__version__,
        "threads": torch.get_num_threads(), "cpu_count": os.cpu_count(), "classes": classes,
        "settings": {"window_s": args.window, "max_count": args.max_count, "input_scale": args.input_scale,
                     "arch": args.arch, "init": args.init, "lr": args.lr, "batch": args.batch, "epochs": args.epochs,
                     "patience": args.patience, "min_delta": args.min_delta, "augment_copies": args.augment_copies,
                     "augment_on": args.augment_on, "augment_val": args.augment_val, "rtt_range": args.rtt_range,
                     "shift_range": args.shift_range, "loss_width_s": args.loss_width,
                     "rotate_degrees": args.rotate_degrees, "jitter_brightness": args.jitter_brightness,
                     "jitter_contrast": args.jitter_contrast, "grid": [[r, a] for r, a in grid], "seeds": args.seeds},
        "differences_from_flowpic": [
            {"torch": "weights: torch's default init (kaiming-uniform a=sqrt(5), uniform biases); flowpic: glorot-uniform, "
                      "zero biases",
             "kaiming": "weights: kaiming-uniform (ReLU gain), zero biases (tcbench's); flowpic: glorot-uniform",
             "glorot": "weights: glorot-uniform, zero biases (as flowpic)"}[args.init],
            "input: counts x %g (flowpic-train feeds the raw counts)" % args.input_scale,
            "Adam eps 1e-8 (torch default)",
            "packet augmentations on the %s%s" % (args.augment_on, " (the 15 s window is cut after them)"
                                                  if args.augment_on == "flow" else ""),
            "random streams (weights, order, dropout, augmentation draws): equal in distribution only"],
        "manifests": [{"path": m["path"], "skipped_no_windows": m["skipped_no_windows"],
                       "flows": {s: {c: sum(1 for r in m["rows"] if r[1] == c and r[2] == s) for c in classes}
                                 for s in SPLITS}} for m in manifests],
        "timing": {"read_s": read_s, "bin_s": bin_s, "flows": len(files), "packets": packets},
        "runs": [],
    }

    def save():
        tm = result["timing"]
        runs = result["runs"]
        tm["augment_bin_s"] = sum(r["augment_bin_s"] for r in runs)
        tm["train_s"] = sum(r["train_s"] for r in runs)
        tm["test_s"] = sum(r["test_s"] for r in runs)
        tm["preparation_s"] = tm["read_s"] + tm["bin_s"] + tm["augment_bin_s"]
        tm["training_s"] = tm["train_s"] + tm["test_s"]
        tm["total_s"] = time.perf_counter() - wall0
        if not args.json:
            return
        with open(args.json + ".tmp", "w") as f:
            json.dump(result, f, indent=1)
        os.replace(args.json + ".tmp", args.json)

    total = len(manifests) * sum(len(a) for _, a in grid) * len(args.seeds)
    done = 0
    for mi, m in enumerate(manifests):
        part = {s: [r for r in m["rows"] if r[2] == s] for s in SPLITS}
        for res, augs in grid:
            for aug in augs:
                for seed in args.seeds:
                    done += 1
                    torch.manual_seed(seed)
                    rng = np.random.default_rng(seed)
                    a0 = time.perf_counter()
                    xtr, ytr = samples([r[0] for r in part["train"]], [cindex[r[1]] for r in part["train"]],
                                       res, aug, rng)
                    xva, yva = samples([r[0] for r in part["val"]], [cindex[r[1]] for r in part["val"]],
                                       res, aug if args.augment_val else "none", rng)
                    xte, yte = samples([r[0] for r in part["test"]], [cindex[r[1]] for r in part["test"]],
                                       res, "none", rng)
                    augment_bin_s = time.perf_counter() - a0

                    net, arch = make_net(res, len(classes), args.arch)
                    init_weights(net, args.init)
                    t1 = time.perf_counter()
                    best_epoch, epochs, best_loss = train(net, xtr, torch.from_numpy(ytr), xva,
                                                          torch.from_numpy(yva), args, seed)
                    t2 = time.perf_counter()
                    pred = predict(net, xte)
                    met = metrics(yte, pred, len(classes))
                    t3 = time.perf_counter()
                    run_rec = {"manifest": m["path"], "split": split_ids[mi], "resolution": res, "arch": arch,
                               "augment": aug, "seed": seed, "train_samples": int(len(xtr)),
                               "val_samples": int(len(xva)), "test_samples": int(len(yte)),
                               "best_epoch": best_epoch, "epochs": epochs, "best_val_loss": best_loss,
                               "augment_bin_s": augment_bin_s, "train_s": t2 - t1, "test_s": t3 - t2}
                    run_rec.update(met)
                    result["runs"].append(run_rec)
                    save()
                    print("ucdavis_torch: [%d/%d] split %d %dx%d %-10s seed %d: accuracy %.4f macro-F1 %.4f "
                          "(%d train samples, best epoch %d of %d; augment+bin %.1f s, train %.1f s)" % (
                              done, total, split_ids[mi], res, res, aug, seed, met["accuracy"], met["macro_f1"], len(xtr),
                              best_epoch, epochs, augment_bin_s, t2 - t1), flush=True)
    save()
    tm = result["timing"]
    print("ucdavis_torch: preparation %.1f s (read %.1f, bin %.1f, augment+bin %.1f), training %.1f s "
          "(incl. validation and testing), total %.1f s; torch %s on the CPU, %d thread(s)%s" % (
              tm["preparation_s"], tm["read_s"], tm["bin_s"], tm["augment_bin_s"], tm["training_s"],
              tm["total_s"], torch.__version__, result["threads"], "; wrote " + args.json if args.json else ""),
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
