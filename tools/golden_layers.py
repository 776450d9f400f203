"""Golden files for every layer kernel, computed by PyTorch (STYLE §2).

Run with Debian's python3-torch:   /usr/bin/python3 tools/golden_layers.py
Writes test/fixtures/layers/<name>.safetensors, each holding the inputs and parameters, the upstream
gradient `dy` that was used, the outputs, and every gradient autograd gives — all float32 except
integer tensors (labels, max-pool indices: I64; dropout mask: U8). The geometry goes in the
`__metadata__` strings, with `kind` naming the kernel; test/backend/golden.test.ts replays each file
through every backend. The files are committed: CI has no PyTorch.

Inputs are drawn in float32 and the arithmetic is done in float64, so the golden values are the
exact answer for those float32 inputs, rounded once — a tighter oracle than PyTorch's own float32.
"""

import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import write_safetensors  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "layers")

torch.manual_seed(20120101)


def randn(*shape, std=1.0):
    """float32 draws, promoted to float64 leaf tensors that track gradients."""
    return (torch.randn(*shape, dtype=torch.float32) * std).double().requires_grad_(True)


def f32(t):
    return t.detach().to(torch.float32).numpy()


def save(name, tensors, **meta):
    arrays = {}
    for k, v in tensors.items():
        if isinstance(v, torch.Tensor):
            v = v.detach()
            arrays[k] = v.numpy() if v.dtype in (torch.int64, torch.uint8) else f32(v)
        else:
            arrays[k] = v
    write_safetensors(os.path.join(OUT, f"{name}.safetensors"), arrays, {k: str(v) for k, v in meta.items()})
    print(f"{name}: " + ", ".join(f"{k}{list(a.shape)}" for k, a in sorted(arrays.items())))


def backward(y, *leaves):
    """Runs autograd with a random float32 upstream gradient dy; returns dy and the grads."""
    dy = torch.randn(*y.shape, dtype=torch.float32).double()
    grads = torch.autograd.grad(y, leaves, dy)
    return (dy, *grads)


# ---- convolution ------------------------------------------------------------------------------

def conv(name, n, c_in, h, w, c_out, k, stride, pad, groups, bias=True):
    x = randn(n, c_in, h, w)
    wt = randn(c_out, c_in // groups, k, k, std=0.3)
    b = randn(c_out) if bias else None
    y = F.conv2d(x, wt, b, stride=stride, padding=pad, groups=groups)
    leaves = (x, wt, b) if bias else (x, wt)
    dy, *grads = backward(y, *leaves)
    t = {"x": x, "w": wt, "y": y, "y_relu": F.relu(y), "dy": dy, "dx": grads[0], "dw": grads[1]}
    if bias:
        t.update(b=b, db=grads[2])
    save(name, t, kind="conv2d", stride=stride, pad=pad, groups=groups, bias=int(bias))


conv("conv_g2_s2_p1", 2, 4, 7, 9, 6, 3, 2, 1, 2)       # grouped, strided, padded, odd sizes
conv("conv_g2_s1_p2_k5", 1, 4, 9, 8, 6, 5, 1, 2, 2)    # conv2-like
conv("conv_s4_k11", 2, 3, 23, 21, 4, 11, 4, 0, 1)      # conv1-like
conv("conv_k1_nobias", 2, 5, 4, 3, 3, 1, 1, 0, 1, bias=False)

# ---- fully connected -------------------------------------------------------------------------

x = randn(3, 20)
wt = randn(7, 20, std=0.3)
b = randn(7)
y = F.linear(x, wt, b)
dy, dx, dw, db = backward(y, x, wt, b)
save("linear", {"x": x, "w": wt, "b": b, "y": y, "y_relu": F.relu(y), "dy": dy, "dx": dx, "dw": dw, "db": db},
     kind="linear")

# ---- pooling -------------------------------------------------------------------------------------

def max_pool(name, x, k, stride, pad):
    y, idx = F.max_pool2d(x, k, stride, pad, return_indices=True)
    dy, dx = backward(y, x)
    save(name, {"x": x, "y": y, "argmax": idx, "dy": dy, "dx": dx}, kind="max_pool", k=k, stride=stride, pad=pad)


max_pool("max_pool_3s2", randn(2, 3, 13, 13), 3, 2, 0)    # the paper's overlapping pooling
max_pool("max_pool_3s2_p1", randn(1, 2, 8, 7), 3, 2, 1)
# Small integers: ties everywhere, inside windows and across overlapping ones. PyTorch's choice
# (first maximum in row-major order) is what argmax and dx here record.
max_pool("max_pool_3s2_ties", torch.randint(0, 3, (2, 2, 9, 10)).double().requires_grad_(True), 3, 2, 0)


def avg_pool(name, x, k, stride, pad):
    y = F.avg_pool2d(x, k, stride, pad, count_include_pad=True)
    dy, dx = backward(y, x)
    save(name, {"x": x, "y": y, "dy": dy, "dx": dx}, kind="avg_pool", k=k, stride=stride, pad=pad)


avg_pool("avg_pool_3s2_p1", randn(2, 2, 7, 6), 3, 2, 1)
avg_pool("avg_pool_2s2", randn(1, 3, 6, 5), 2, 2, 0)


def adaptive(name, x, ho, wo):
    y = F.adaptive_avg_pool2d(x, (ho, wo))
    dy, dx = backward(y, x)
    save(name, {"x": x, "y": y, "dy": dy, "dx": dx}, kind="adaptive_avg_pool", ho=ho, wo=wo)


adaptive("adaptive_avg_pool_5to3", randn(2, 2, 5, 5), 3, 3)
adaptive("adaptive_avg_pool_13to6", randn(1, 3, 13, 13), 6, 6)
adaptive("adaptive_avg_pool_13x11to6x4", randn(1, 2, 13, 11), 6, 4)

# ---- local response normalisation -----------------------------------------------------------------

def lrn(name, scaling, alpha, std, size=5, beta=0.75, k=2.0):
    # torch.nn.LocalResponseNorm divides alpha by size (the 'per-size' convention); the paper's
    # printed 'absolute' formula with alpha is the same module with alpha·size.
    torch_alpha = alpha if scaling == "per-size" else alpha * size
    x = randn(2, 7, 4, 3, std=std)
    y = torch.nn.LocalResponseNorm(size, alpha=torch_alpha, beta=beta, k=k)(x)
    dy, dx = backward(y, x)
    save(name, {"x": x, "y": y, "dy": dy, "dx": dx}, kind="lrn", size=size, alpha=repr(alpha), beta=beta, k=k,
         alphaScaling=scaling)


# std 10 with the paper's α=1e-4 makes s·Σa² a visible fraction of k, so the cross term is tested.
lrn("lrn_per_size_paper", "per-size", 1e-4, 10.0)
lrn("lrn_absolute_paper", "absolute", 1e-4, 10.0)
lrn("lrn_per_size_alpha0.5", "per-size", 0.5, 1.0)
lrn("lrn_absolute_alpha0.5", "absolute", 0.5, 1.0)

# ---- elementwise ---------------------------------------------------------------------------------

for act, fn in (("relu", F.relu), ("tanh", torch.tanh), ("sigmoid", torch.sigmoid)):
    x = randn(2, 3, 4, 5, std=2.0)
    y = fn(x)
    dy, dx = backward(y, x)
    save(f"activation_{act}", {"x": x, "y": y, "dy": dy, "dx": dx}, kind="activation", activation=act)

x = randn(4, 6)
mask = (torch.rand(4, 6) >= 0.5).to(torch.uint8)
save("dropout", {"x": x, "mask": mask, "y": x * mask.double() * 2.0}, kind="dropout", scale=2.0)

# ---- loss ------------------------------------------------------------------------------------------

for smoothing in (0.0, 0.1):
    logits = randn(5, 10, std=3.0)
    labels = torch.randint(0, 10, (5,))
    loss = F.cross_entropy(logits, labels, label_smoothing=smoothing)
    (dlogits,) = torch.autograd.grad(loss, (logits,))
    save(f"cross_entropy_smooth{smoothing}",
         {"logits": logits, "labels": labels, "loss": loss.reshape(1), "probs": F.softmax(logits, dim=1),
          "dlogits": dlogits},
         kind="cross_entropy", smoothing=smoothing)

# ---- SGD -------------------------------------------------------------------------------------------
# torch.optim.SGD keeps buf ← m·buf + (g + wd·w), w ← w − lr·buf. With a constant lr this is the
# paper's rule with v = −lr·buf, so three steps of it are a golden for ours.

lr, momentum, wd = 0.01, 0.9, 5e-4
w = torch.nn.Parameter(randn(4, 5).detach())
opt = torch.optim.SGD([w], lr=lr, momentum=momentum, weight_decay=wd)
t = {"w0": w.detach().clone()}
for step in range(3):
    g = torch.randn(4, 5, dtype=torch.float32).double()
    w.grad = g.clone()
    opt.step()
    t[f"g{step}"] = g
    t[f"w{step + 1}"] = w.detach().clone()
t["buf3"] = opt.state[w]["momentum_buffer"].clone()
save("sgd", t, kind="sgd", lr=lr, momentum=momentum, weight_decay=wd, steps=3)

total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT) if f.endswith(".safetensors"))
print(f"total {total} bytes in {OUT}")
