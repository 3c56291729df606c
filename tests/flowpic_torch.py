"""The FlowPic nets in plain PyTorch and a hand-rolled safetensors writer/reader.

Shared by tests/make_torch_fixtures.py and tests/torch_model_to_safetensors.py; run
them with Debian's /usr/bin/python3 (python3-torch).  The nets follow DESIGN.md and the
authors' Keras notebook; parameter names and layouts are the model file's (OIHW conv
weights, Linear out x in, flatten in C,H,W order).

Shape rule of FlowPicNet: a Keras 'same' conv with stride 5 gives ceil(H/5), a 2x2
max-pool floor(H/2); the input side H works when the size after the second pool,
floor(ceil(floor(ceil(H/5)/2)/5)/2), is at least 1 (H >= 50).  At H divisible by 5
conv1's padding is 2 before and 3 after, as in the notebook; sizes where every stage
divides exactly (H a multiple of 100: 100 -> 20 -> 10 -> 2 -> 1, 200 -> 40 -> 20 ->
4 -> 2, 1500 -> 300 -> 150 -> 30 -> 15) are the ones the fixtures use.
LeNet (mini-FlowPic) uses 'valid' 5x5 convs: H -> H-4 -> /2 -> -4 -> /2, so 32 -> 5
(flatten 16*5*5 = 400) and 64 -> 13 (flatten 2704).
"""
import json
import math
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def same_pads(size, k, s):
    """Keras 'same' padding (before, after) for one spatial dimension."""
    out = math.ceil(size / s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def flowpic_sizes(h):
    """Spatial sizes through FlowPicNet: [input, conv1, pool1, conv2, pool2]."""
    c1 = math.ceil(h / 5)
    p1 = c1 // 2
    c2 = math.ceil(p1 / 5)
    p2 = c2 // 2
    if p2 < 1:
        raise ValueError(f"FlowPicNet needs an input side of at least 50, got {h}")
    return [h, c1, p1, c2, p2]


def lenet_sizes(h):
    c1 = h - 4
    p1 = c1 // 2
    c2 = p1 - 4
    p2 = c2 // 2
    if p2 < 1:
        raise ValueError(f"LeNet needs an input side of at least 16, got {h}")
    return [h, c1, p1, c2, p2]


class FlowPicNet(nn.Module):
    """conv 10@10x10/5 same, ReLU, pool 2, conv 20@10x10/5 same, ReLU, dropout .25,
    pool 2, flatten, dense 64 ReLU, dropout .5, dense K (logits)."""

    def __init__(self, channels, classes, resolution, dropout=True):
        super().__init__()
        self.sizes = flowpic_sizes(resolution)
        self.conv1 = nn.Conv2d(channels, 10, 10, stride=5)
        self.conv2 = nn.Conv2d(10, 20, 10, stride=5)
        self.fc1 = nn.Linear(20 * self.sizes[4] ** 2, 64)
        self.fc2 = nn.Linear(64, classes)
        self.dropout = dropout

    def _same(self, x):
        top, bottom = same_pads(x.shape[2], 10, 5)
        left, right = same_pads(x.shape[3], 10, 5)
        return F.pad(x, (left, right, top, bottom))

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(self._same(x))), 2)
        x = F.relu(self.conv2(self._same(x)))
        x = F.dropout(x, 0.25, self.training and self.dropout)
        x = F.max_pool2d(x, 2).flatten(1)
        x = F.dropout(F.relu(self.fc1(x)), 0.5, self.training and self.dropout)
        return self.fc2(x)


class LeNet(nn.Module):
    """mini-FlowPic: conv 6@5x5, ReLU, pool, conv 16@5x5, ReLU, dropout .25, pool,
    fc 120 ReLU, fc 84 ReLU, dropout .5, fc K (logits)."""

    def __init__(self, channels, classes, resolution, dropout=True):
        super().__init__()
        self.sizes = lenet_sizes(resolution)
        self.conv1 = nn.Conv2d(channels, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * self.sizes[4] ** 2, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, classes)
        self.dropout = dropout

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.dropout(F.relu(self.conv2(x)), 0.25, self.training and self.dropout)
        x = F.max_pool2d(x, 2).flatten(1)
        x = F.relu(self.fc1(x))
        x = F.dropout(F.relu(self.fc2(x)), 0.5, self.training and self.dropout)
        return self.fc3(x)


def make_net(arch, channels, classes, resolution, dropout=True):
    if arch == "flowpic":
        return FlowPicNet(channels, classes, resolution, dropout)
    if arch == "lenet":
        return LeNet(channels, classes, resolution, dropout)
    raise ValueError(f"unknown arch {arch!r} (flowpic or lenet)")


def init_weights(net, seed, bias_scale=0.0):
    """Glorot-uniform weights (Keras' default, same fans as torch's xavier_uniform_ for
    OIHW and out x in); biases zero, or uniform(-bias_scale, bias_scale) for tests."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith(".weight"):
                fan_out = p.shape[0] * (p[0][0].numel() if p.dim() > 2 else 1)
                fan_in = p[0].numel()
                limit = math.sqrt(6.0 / (fan_in + fan_out))
                p.copy_(torch.rand(p.shape, generator=g) * 2 * limit - limit)
            else:
                p.copy_(torch.rand(p.shape, generator=g) * 2 * bias_scale - bias_scale)
    return net


def sparse_flowpics(n, channels, side, pixels, seed):
    """n FlowPic-like images: about `pixels` non-zero pixels each, small packet counts
    (1..6) clustered on a few packet-size rows (ACKs, MTU-sized packets) and spread over
    time columns.  Returns (dense float32 N x C x H x W, sparse [nnz, 5] rows of
    (n, c, row, col, value) in C order)."""
    rng = np.random.default_rng(seed)
    dense = np.zeros((n, channels, side, side), np.float32)
    for i in range(n):
        for c in range(channels):
            k = max(1, pixels // channels)
            hot = rng.integers(0, side, size=3)
            rows = np.where(rng.random(k) < 0.6, hot[rng.integers(0, 3, size=k)], rng.integers(0, side, size=k))
            rows = np.clip(rows + rng.integers(-1, 2, size=k), 0, side - 1)
            cols = rng.integers(0, side, size=k)
            np.add.at(dense[i, c], (rows, cols), rng.integers(1, 4, size=k).astype(np.float32))
    idx = np.argwhere(dense != 0)
    sparse = np.concatenate([idx.astype(np.float32), dense[tuple(idx.T)][:, None]], axis=1)
    return dense, sparse.astype(np.float32)


def write_safetensors(path, tensors, metadata=None):
    """tensors: list of (name, array) written as F32 in that order; header padded with
    spaces to a multiple of 8.  The format by hand (no safetensors package)."""
    header, blobs, offset = {}, [], 0
    for name, a in tensors:
        a = np.ascontiguousarray(np.asarray(a, dtype="<f4"))
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        blobs.append(a.tobytes())
        offset += a.nbytes
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def read_safetensors(path):
    """Returns ({name: float32 array}, metadata) for an all-F32 file."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]
    out = {}
    for name, e in header.items():
        assert e["dtype"] == "F32", (name, e["dtype"])
        b, end = e["data_offsets"]
        out[name] = np.frombuffer(data[b:end], "<f4").reshape(e["shape"])
    return out, meta
