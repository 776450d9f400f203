#!/usr/bin/python3
"""Golden files for the optimiser and the Fashion-MNIST resize, from PyTorch (Debian python3-torch).

test/fixtures/optim/sgd.safetensors — the paper's rule vs torch.optim.SGD:
  with a constant lr, v ← 0.9·v − 0.0005·lr·w − lr·g ; w ← w + v equals PyTorch's
  buf ← 0.9·buf + (g + 0.0005·w) ; w ← w − lr·buf (v = −lr·buf). Two runs of STEPS steps on a
  weight [6, 5] and a bias [6] with given gradients:
    plain.*  — one group, lr 0.01, weight decay 5e-4
    caffe.*  — Caffe's multipliers: the bias in its own group with lr×2 and no decay
test/fixtures/optim/resize.safetensors — torchvision's Resize on tensors for upsampling:
  F.interpolate(mode='bilinear', align_corners=False) of 28×28 byte images to 67 and 224.

Run: /usr/bin/python3 tools/golden_sgd.py
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from safetensors_io import write_safetensors  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..")
OUT = os.path.join(ROOT, "test", "fixtures", "optim")
STEPS = 5
LR, MOMENTUM, WD = 0.01, 0.9, 5e-4


def sgd_run(w0, b0, gws, gbs, caffe):
    w = torch.nn.Parameter(torch.from_numpy(w0.copy()))
    b = torch.nn.Parameter(torch.from_numpy(b0.copy()))
    if caffe:
        groups = [{"params": [w]}, {"params": [b], "lr": 2 * LR, "weight_decay": 0.0}]
    else:
        groups = [{"params": [w, b]}]
    opt = torch.optim.SGD(groups, lr=LR, momentum=MOMENTUM, weight_decay=WD)
    ws, bs = [], []
    for k in range(STEPS):
        w.grad = torch.from_numpy(gws[k].copy())
        b.grad = torch.from_numpy(gbs[k].copy())
        opt.step()
        ws.append(w.detach().numpy().copy())
        bs.append(b.detach().numpy().copy())
    return np.stack(ws), np.stack(bs)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(2012)
    w0 = rng.normal(0, 0.5, (6, 5)).astype(np.float32)
    b0 = rng.normal(0, 0.5, (6,)).astype(np.float32)
    gws = rng.normal(0, 1, (STEPS, 6, 5)).astype(np.float32)
    gbs = rng.normal(0, 1, (STEPS, 6)).astype(np.float32)
    t = {"w0": w0, "b0": b0, "gw": gws, "gb": gbs}
    for name, caffe in (("plain", False), ("caffe", True)):
        ws, bs = sgd_run(w0, b0, gws, gbs, caffe)
        t[f"{name}.w"] = ws
        t[f"{name}.b"] = bs
    meta = {"lr": str(LR), "momentum": str(MOMENTUM), "weight_decay": str(WD), "steps": str(STEPS),
            "torch": torch.__version__}
    write_safetensors(os.path.join(OUT, "sgd.safetensors"), t, meta)

    img = rng.integers(0, 256, (2, 28, 28), dtype=np.uint8)
    r = {"image": img}
    for size in (67, 224):
        y = F.interpolate(torch.from_numpy(img).float()[:, None], size=(size, size), mode="bilinear", align_corners=False)
        r[f"resized{size}"] = y[:, 0].numpy().astype(np.float32)
    write_safetensors(os.path.join(OUT, "resize.safetensors"), r, {"torch": torch.__version__})
    print("wrote", OUT)


if __name__ == "__main__":
    main()
