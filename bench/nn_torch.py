#!/usr/bin/python3
"""The PyTorch CPU baseline of `flowpic-bench nn`: the same nets (tests/flowpic_torch.py's
FlowPicNet and LeNet, imported, not copied), the same input distribution (its
sparse_flowpics: ~3,000 packet counts per 1500^2 image, proportionally fewer along the
side at smaller R), the same batch.  forward: net.eval() under torch.no_grad(); train:
net.train() (dropout on), CrossEntropyLoss, torch.optim.Adam(lr=1e-3, eps=1e-7) as
Keras.  One or two warm-up iterations, then the median of --iters (fewer when
--max-seconds runs out, at least 3).  Prints one JSON line with flowpic-bench nn's fields.
Run with Debian's /usr/bin/python3 (python3-torch).
Usage: nn_torch.py --arch flowpic --resolution 1500 --batch 32 --mode train [--iters 5]"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from flowpic_torch import init_weights, make_net, sparse_flowpics  # noqa: E402


def time_runs(f, iters, max_seconds):
    """Same policy as flowpic-bench nn: warm up once or twice, then time."""
    a = time.perf_counter()
    f()
    if time.perf_counter() - a < 1.0:
        f()
    runs, start = [], time.perf_counter()
    while len(runs) < iters and (len(runs) < 3 or time.perf_counter() - start < max_seconds):
        a = time.perf_counter()
        f()
        runs.append(time.perf_counter() - a)
    return runs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", choices=["flowpic", "lenet"], default="flowpic")
    ap.add_argument("--resolution", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--mode", choices=["forward", "train"], default="forward")
    ap.add_argument("--iters", type=int, default=20, help="timed iterations, at most")
    ap.add_argument("--max-seconds", type=float, default=10.0, help="stop after this long (once 3 ran)")
    ap.add_argument("--classes", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    torch.set_num_threads(os.cpu_count())
    torch.manual_seed(args.seed)
    net = init_weights(make_net(args.arch, 1, args.classes, args.resolution), args.seed)
    packets = max(1, 3000 * args.resolution // 1500)
    x, _ = sparse_flowpics(args.batch, 1, args.resolution, packets, args.seed)
    x = torch.from_numpy(x)
    labels = torch.randint(0, args.classes, (args.batch,))
    sink = [0.0]  # reads a result so no work is skipped

    if args.mode == "forward":
        net.eval()

        def once():
            with torch.no_grad():
                sink[0] += float(net(x)[0, 0])
    else:
        net.train()
        opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
        loss_fn = torch.nn.CrossEntropyLoss()

        def once():
            opt.zero_grad()
            loss = loss_fn(net(x), labels)
            loss.backward()
            opt.step()
            sink[0] += float(loss)

    runs = sorted(time_runs(once, args.iters, args.max_seconds))
    median = runs[len(runs) // 2]
    print(json.dumps({"tool": "pytorch", "backend": "torch-%s-cpu" % torch.__version__, "arch": args.arch,
                      "resolution": args.resolution, "batch": args.batch, "mode": args.mode,
                      "threads": torch.get_num_threads(), "packets_per_image": packets, "iters": len(runs),
                      "ms_per_batch": 1e3 * median, "images_per_s": args.batch / median, "check": sink[0]}))


if __name__ == "__main__":
    main()
