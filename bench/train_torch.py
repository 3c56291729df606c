#!/usr/bin/python3
"""The PyTorch baseline of the accuracy-parity check (bench/bench_accuracy.sh): trains the
same net with the same hyper-parameters as flowpic-train on a flowpic-render
--npy-dataset export and evaluates it on the same test split.

Same as flowpic-train: tests/flowpic_torch.py's FlowPicNet / LeNet (imported, not copied;
dropout as in the net, on while training), glorot-uniform weights and zero biases
(init_weights), softmax cross-entropy (mean over the batch), Adam with lr (default 1e-3),
betas 0.9/0.999 and eps 1e-7 (Keras' defaults), the same batch size and epochs, a fresh
shuffle of the training rows every epoch, the last partial batch kept, the validation loss
after every epoch and the weights of the epoch with the lowest validation loss kept
(first such epoch on a tie), which are then evaluated on the test rows.
Not the same: random streams (weights, order, dropout masks come from torch's generator,
so the runs are equal in distribution, not bit-identical) and the place of epsilon in
Adam: torch divides by sqrt(v_hat) + eps, Keras 2 by sqrt(v) + eps_hat (eps scaled by
sqrt(1 - beta2^t)).  At eps 1e-7 the two differ by at most ~1e-7 / sqrt(v), negligible
next to sqrt(v) for any gradient that matters; flowpic-train follows the Keras/torch
form stated in its help.

Input: DIR with X.npy (N x C x H x W, any numeric dtype; cast to float32), y.npy (class
indices), split.npy (0 train, 1 val, 2 test), classes.txt.
Output: one JSON line on stdout: accuracy (test), test_images, best_epoch, seconds
(training loop wall time, validation included, loading excluded), images_per_s (training
images per epoch x epochs / seconds), threads, torch version; progress on stderr.
Run with Debian's /usr/bin/python3 (python3-torch).
Usage: train_torch.py --data DIR --arch lenet --epochs 15 --batch 128 --seed 1"""
import argparse
import copy
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from flowpic_torch import init_weights, make_net  # noqa: E402


def evaluate(net, x, y, batch):
    """(mean cross-entropy, accuracy, predictions) with dropout off."""
    net.eval()
    loss, preds = 0.0, []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            logits = net(x[i:i + batch])
            loss += float(F.cross_entropy(logits, y[i:i + batch], reduction="sum"))
            preds.append(logits.argmax(1))
    pred = torch.cat(preds) if preds else torch.empty(0, dtype=torch.long)
    n = max(len(x), 1)
    return loss / n, float((pred == y).sum()) / n, pred


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="flowpic-render --npy-dataset directory")
    ap.add_argument("--arch", choices=["flowpic", "lenet"], default="lenet")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = all cores)")
    ap.add_argument("--predictions", help="write the test predictions (class index per test row) to this .npy")
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args()

    torch.set_num_threads(args.threads or os.cpu_count())
    torch.manual_seed(args.seed)
    X = np.load(os.path.join(args.data, "X.npy"))
    if X.ndim == 3:
        X = X[:, None]
    y = np.load(os.path.join(args.data, "y.npy")).astype(np.int64)
    split = np.load(os.path.join(args.data, "split.npy"))
    with open(os.path.join(args.data, "classes.txt")) as f:
        classes = [l.strip() for l in f if l.strip()]
    if X.shape[2] != X.shape[3]:
        sys.exit("train_torch.py: images must be square, got %s" % (X.shape,))
    part = {k: (torch.from_numpy(X[split == v].astype(np.float32)), torch.from_numpy(y[split == v]))
            for k, v in (("train", 0), ("val", 1), ("test", 2))}
    xt, yt = part["train"]
    if len(xt) == 0:
        sys.exit("train_torch.py: no training rows")

    net = init_weights(make_net(args.arch, X.shape[1], len(classes), X.shape[2]), args.seed)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-7)
    gen = torch.Generator().manual_seed(args.seed)
    best_loss, best_epoch, best_state = None, 0, None
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        net.train()
        order = torch.randperm(len(xt), generator=gen)
        loss_sum, correct = 0.0, 0
        for i in range(0, len(xt), args.batch):
            idx = order[i:i + args.batch]
            xb, yb = xt[idx], yt[idx]
            opt.zero_grad()
            logits = net(xb)
            loss = F.cross_entropy(logits, yb)
            loss.backward()
            opt.step()
            loss_sum += float(loss) * len(idx)
            correct += int((logits.argmax(1) == yb).sum())
        xv, yv = part["val"]
        # Without a validation split the best model is judged on the training loss (as flowpic-train).
        metric = evaluate(net, xv, yv, 1024)[0] if len(xv) else loss_sum / len(xt)
        if best_loss is None or metric < best_loss:
            best_loss, best_epoch, best_state = metric, epoch, copy.deepcopy(net.state_dict())
        if not args.quiet:
            print("train_torch: epoch %d/%d train loss %.4f acc %.4f | val loss %.4f | %.1f s%s"
                  % (epoch, args.epochs, loss_sum / len(xt), correct / len(xt), metric,
                     time.perf_counter() - t0, "  *best" if best_epoch == epoch else ""), file=sys.stderr)
    seconds = time.perf_counter() - start

    net.load_state_dict(best_state)
    xs, ys = part["test"]
    test_loss, acc, pred = evaluate(net, xs, ys, 1024)
    if args.predictions:
        np.save(args.predictions, pred.numpy())
    print(json.dumps({"tool": "pytorch", "backend": "torch-%s-cpu" % torch.__version__, "arch": args.arch,
                      "resolution": int(X.shape[2]), "seed": args.seed, "epochs": args.epochs, "batch": args.batch,
                      "threads": torch.get_num_threads(), "best_epoch": best_epoch, "test_images": len(xs),
                      "test_loss": test_loss, "accuracy": acc, "seconds": seconds,
                      "images_per_s": len(xt) * args.epochs / seconds}))


if __name__ == "__main__":
    main()
