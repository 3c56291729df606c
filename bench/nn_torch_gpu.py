#!/usr/bin/env python3
"""The PyTorch GPU baseline of bench/gpu_check.sh: the same nets as flowpic
(tests/flowpic_torch.py, imported), the same sparse inputs, on one CUDA device.

Measures, each as the median of CUDA-event-timed runs after a warm-up:
  train   images/s of a full Adam step (forward, CrossEntropyLoss, backward, step) at --train-batch
  infer   images/s of eval forward under no_grad at --infer-batch
  b1      batch-1 latency, eager and replayed from a CUDA graph
Precision: fp32.  PyTorch lets cuDNN use TF32 for convolutions by default; --tf32 off
(default) turns that off so both sides compute in fp32, --tf32 on keeps PyTorch's default.
Prints one JSON line per measurement.  Runs with the python3 that has torch 2.x.
Usage: nn_torch_gpu.py --arch flowpic --resolution 1500 [--train-batch 128 --infer-batch 256]"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from flowpic_torch import init_weights, make_net, sparse_flowpics  # noqa: E402


def median_ms(f, iters, warmup=3):
    for _ in range(warmup):
        f()
    torch.cuda.synchronize()
    times = []
    for _ in range(iters):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        f()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    times.sort()
    return times[len(times) // 2]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", choices=["flowpic", "lenet"], default="flowpic")
    ap.add_argument("--resolution", type=int, default=1500)
    ap.add_argument("--train-batch", type=int, default=128)
    ap.add_argument("--infer-batch", type=int, default=256)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--classes", type=int, default=5)
    ap.add_argument("--tf32", choices=["on", "off"], default="off")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    torch.backends.cudnn.allow_tf32 = args.tf32 == "on"
    torch.backends.cuda.matmul.allow_tf32 = args.tf32 == "on"
    torch.backends.cudnn.benchmark = True
    dev = torch.device("cuda")
    torch.manual_seed(args.seed)
    net = init_weights(make_net(args.arch, 1, args.classes, args.resolution), args.seed).to(dev)
    packets = max(1, 3000 * args.resolution // 1500)
    base = {"tool": "pytorch", "backend": "torch-%s-cuda" % torch.__version__,
            "device": torch.cuda.get_device_name(0), "arch": args.arch, "resolution": args.resolution,
            "tf32": args.tf32}

    def emit(**kw):
        print(json.dumps({**base, **kw}), flush=True)

    # training
    x, _ = sparse_flowpics(args.train_batch, 1, args.resolution, packets, args.seed)
    x = torch.from_numpy(x).to(dev)
    labels = torch.randint(0, args.classes, (args.train_batch,), device=dev)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = torch.nn.CrossEntropyLoss()
    net.train()

    def step():
        opt.zero_grad(set_to_none=True)
        loss_fn(net(x), labels).backward()
        opt.step()

    ms = median_ms(step, args.iters)
    emit(mode="train", batch=args.train_batch, ms_per_batch=ms, images_per_s=args.train_batch / ms * 1e3)

    # batch inference
    net.eval()
    x, _ = sparse_flowpics(args.infer_batch, 1, args.resolution, packets, args.seed + 1)
    x = torch.from_numpy(x).to(dev)

    def infer():
        with torch.no_grad():
            torch.softmax(net(x), 1)

    ms = median_ms(infer, args.iters)
    emit(mode="infer", batch=args.infer_batch, ms_per_batch=ms, images_per_s=args.infer_batch / ms * 1e3)

    # batch 1: the image is already on the device (PyTorch has no packets-to-image path)
    x1 = x[:1].clone()

    def infer1():
        with torch.no_grad():
            return torch.softmax(net(x1), 1)

    ms = median_ms(infer1, max(args.iters, 50))
    emit(mode="b1-eager", batch=1, latency_us=ms * 1e3)

    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(3):
            infer1()
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        infer1()
    ms = median_ms(g.replay, max(args.iters, 50))
    emit(mode="b1-graph", batch=1, latency_us=ms * 1e3)


if __name__ == "__main__":
    main()
