#!/usr/bin/python3
"""PyTorch reference tensors for the whole-net parity tests (llm.c test_gpt2 style).

Run with Debian's python3-torch:
    /usr/bin/python3 tests/make_torch_fixtures.py [--out tests/fixtures/torch]
It builds FlowPicNet and the mini-FlowPic LeNet of tests/flowpic_torch.py in plain
torch (CPU, float32, deterministic, one thread) and writes one safetensors file (all
tensors F32) per case; tests/fixtures/torch/README.md describes the contents.

Training math is the train-mode graph with dropout DISABLED (dropout masks are RNG
draws no other engine can reproduce), so the reference is exact.
Adam is the Keras formula, by hand in torch ops (t = 1, 2, ...):
    alpha = lr * sqrt(1 - b2^t) / (1 - b1^t)      (in Python float64, then float32)
    m += (g - m) * (1 - b1);  v += (g*g - v) * (1 - b2)
    p -= alpha * m / (sqrt(v) + eps)              lr 1e-3, b1 .9, b2 .999, eps 1e-7
Class-weighted loss as Keras class_weight: loss = sum_n w[y_n] * ce_n / N.
"""
import argparse
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowpic_torch as ft  # noqa: E402

LR, B1, B2, EPS, STEPS = 1e-3, 0.9, 0.999, 1e-7, 5

# name, arch, resolution, channels, classes, batch, non-zero pixels per image, kind, seed.
# kind "forward": weights, inputs, logits.  "train": also loss and every gradient, the
# class-weighted loss and its d/d logits, and the Adam losses; "+final" adds the weights
# after Adam, "+wgrads" the class-weighted parameter gradients.  Each extra is stored
# once: a copy of LeNet's parameters is 245 KB, and the weighted backward from d/d logits
# on is the unweighted one.
CASES = [
    ("flowpic_r200_c1_k5", "flowpic", 200, 1, 5, 4, 300, "train+final+wgrads", 1),
    ("flowpic_r200_c2_k3", "flowpic", 200, 2, 3, 4, 300, "train", 2),
    ("lenet_r32_c1_k5", "lenet", 32, 1, 5, 4, 60, "train+final", 3),
    ("flowpic_r1500_c1_k5", "flowpic", 1500, 1, 5, 2, 3150, "forward", 4),
]


def loss_fn(logits, labels, class_weights=None):
    ce = F.cross_entropy(logits, labels, reduction="none")
    if class_weights is not None:
        ce = ce * class_weights[labels]
    return ce.sum() / logits.shape[0]


def forward_backward(net, x, labels, class_weights=None):
    """logits, loss, d loss/d logits and the parameter gradients (in state_dict order)."""
    net.zero_grad()
    logits = net(x)
    logits.retain_grad()
    loss = loss_fn(logits, labels, class_weights)
    loss.backward()
    grads = [(n, p.grad.detach().clone()) for n, p in net.named_parameters()]
    return logits.detach().clone(), loss.detach().clone(), logits.grad.detach().clone(), grads


def keras_adam(net, x, labels):
    """STEPS Adam steps on the batch; returns the losses before each step and after the
    last (STEPS + 1 values)."""
    params = list(net.parameters())
    m = [torch.zeros_like(p) for p in params]
    v = [torch.zeros_like(p) for p in params]
    losses = []
    for t in range(1, STEPS + 1):
        _, loss, _, grads = forward_backward(net, x, labels)
        losses.append(loss.item())
        alpha = LR * (1 - B2 ** t) ** 0.5 / (1 - B1 ** t)
        with torch.no_grad():
            for p, (_, g), mi, vi in zip(params, grads, m, v):
                mi += (g - mi) * (1 - B1)
                vi += (g * g - vi) * (1 - B2)
                p -= alpha * mi / (vi.sqrt() + EPS)
    with torch.no_grad():
        losses.append(loss_fn(net(x), labels).item())
    return losses


def make_case(name, arch, res, channels, classes, batch, pixels, kind, seed, out_dir):
    torch.manual_seed(seed)
    net = ft.init_weights(ft.make_net(arch, channels, classes, res, dropout=False), seed, bias_scale=0.1)
    net.train()  # training math; dropout is off in the module itself
    dense, sparse = ft.sparse_flowpics(batch, channels, res, pixels, seed)
    x = torch.from_numpy(dense)
    labels = torch.arange(batch) % classes  # every class that fits, in a fixed order
    state = [(n, p.detach().clone()) for n, p in net.named_parameters()]

    tensors = [("inputs_sparse", sparse), ("labels", labels.float())]
    tensors += [(n, p) for n, p in state]
    meta = {
        "format": "flowpic-torch-fixture", "version": "1", "kind": kind, "arch": arch,
        "resolution": res, "channels": channels, "classes": classes, "batch": batch,
        "input_shape": f"{batch},{channels},{res},{res}", "torch": torch.__version__,
        "dropout": "disabled", "seed": seed,
    }
    if kind == "forward":
        with torch.no_grad():
            tensors.append(("logits", net(x)))
    else:
        logits, loss, dlogits, grads = forward_backward(net, x, labels)
        tensors += [("logits", logits), ("loss", loss.reshape(1)), ("grad.logits", dlogits)]
        tensors += [("grad." + n, g) for n, g in grads]
        # Unequal, non-trivial weights so a kernel that ignores or misindexes them fails.
        cw = torch.tensor([0.5 + 0.75 * k for k in range(classes)], dtype=torch.float32)
        _, wloss, wdlogits, wgrads = forward_backward(net, x, labels, cw)
        tensors += [("class_weights", cw), ("weighted.loss", wloss.reshape(1)), ("weighted.grad.logits", wdlogits)]
        if "+wgrads" in kind:
            tensors += [("weighted.grad." + n, g) for n, g in wgrads]
        losses = keras_adam(net, x, labels)
        tensors.append(("adam.losses", torch.tensor(losses, dtype=torch.float32)))
        if "+final" in kind:
            tensors += [("final." + n, p.detach()) for n, p in net.named_parameters()]
        meta.update({"adam": f"keras lr={LR} b1={B1} b2={B2} eps={EPS}", "adam_steps": STEPS})
    path = os.path.join(out_dir, name + ".safetensors")
    ft.write_safetensors(path, [(n, t.numpy() if torch.is_tensor(t) else t) for n, t in tensors], meta)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "torch"))
    args = ap.parse_args()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    for case in CASES:
        path = make_case(*case, args.out)
        print(f"{path}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
