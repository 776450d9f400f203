#!/usr/bin/env python3
"""Whole-network golden files: every AlexNet variant at reduced width (convs ÷8, fc ÷32), built in PyTorch with the
same layer names as alexnet-ts (conv1 … fc8), run forward (eval) and backward (cross-entropy,
dropout disabled so both frameworks see the same function), written as safetensors fixtures.

Run with Debian's PyTorch:  /usr/bin/python3 tools/golden_nets.py
  --full   also writes full-size alexnet2012 (227) and torchvision (224) checkpoints, inputs and
           logits under /tmp/alexnet-golden-full/ for a local `alexnet infer` check (too large to
           commit).
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from safetensors_io import write_safetensors  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'nets')


class AlexNetVariant(nn.Module):
    """The variants of src/models/alexnet.ts, widths divided by `div`."""

    def __init__(self, arch, classes, channels, input_size, div=1, fc_div=1, dropout=0.0):
        super().__init__()
        self.arch = arch
        self.dropout = dropout  # 0 in the goldens, so both frameworks compute the same function
        w = lambda c: c // div  # noqa: E731
        if arch == 'torchvision':
            widths, groups, pad1 = [64, 192, 384, 256, 256], [1, 1, 1, 1, 1], 2
        else:
            widths = [96, 256, 384, 384, 256]
            groups = [1, 2, 1, 2, 2] if arch in ('alexnet2012', 'caffenet') else [1] * 5
            pad1 = 1 if arch == 'd2l' else (2 if input_size == 224 else 0)
        c = [w(x) for x in widths]
        self.conv1 = nn.Conv2d(channels, c[0], 11, 4, pad1)
        self.conv2 = nn.Conv2d(c[0], c[1], 5, 1, 2, groups=groups[1])
        self.conv3 = nn.Conv2d(c[1], c[2], 3, 1, 1, groups=groups[2])
        self.conv4 = nn.Conv2d(c[2], c[3], 3, 1, 1, groups=groups[3])
        self.conv5 = nn.Conv2d(c[3], c[4], 3, 1, 1, groups=groups[4])
        k = 1.0 if arch == 'caffenet' else 2.0
        self.lrn = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=k)  # alpha/n convention
        with torch.no_grad():
            flat = self.features(torch.zeros(1, channels, input_size, input_size)).numel()
        hidden = 4096 // fc_div
        self.fc6 = nn.Linear(flat, hidden)
        self.fc7 = nn.Linear(hidden, hidden)
        self.fc8 = nn.Linear(hidden, classes)

    def features(self, x):
        pool = lambda t: F.max_pool2d(t, 3, 2)  # noqa: E731
        if self.arch == 'alexnet2012':
            x = pool(self.lrn(F.relu(self.conv1(x))))
            x = pool(self.lrn(F.relu(self.conv2(x))))
        elif self.arch == 'caffenet':
            x = self.lrn(pool(F.relu(self.conv1(x))))
            x = self.lrn(pool(F.relu(self.conv2(x))))
        else:
            x = pool(F.relu(self.conv1(x)))
            x = pool(F.relu(self.conv2(x)))
        x = F.relu(self.conv3(x))
        x = F.relu(self.conv4(x))
        x = pool(F.relu(self.conv5(x)))
        if self.arch == 'torchvision':
            x = F.adaptive_avg_pool2d(x, (6, 6))
        return torch.flatten(x, 1)

    def forward(self, x):
        drop = lambda t: F.dropout(t, self.dropout, self.training)  # noqa: E731
        x = self.features(x)
        if self.arch == 'torchvision':  # torchvision drops before fc6 and fc7
            x = F.relu(self.fc6(drop(x)))
            x = F.relu(self.fc7(drop(x)))
        else:
            x = drop(F.relu(self.fc6(x)))
            x = drop(F.relu(self.fc7(x)))
        return self.fc8(x)


def init_(net, gen):
    # Scaled so activations neither vanish nor explode through the reduced-width nets.
    for name, p in net.named_parameters():
        fan_in = p[0].numel() if p.dim() > 1 else 1
        std = (2.0 / fan_in) ** 0.5 if p.dim() > 1 else 0.1
        with torch.no_grad():
            p.copy_(torch.randn(p.shape, generator=gen) * std)


def golden(arch, channels, input_size, div, fc_div, classes, batch, seed):
    gen = torch.Generator().manual_seed(seed)
    net = AlexNetVariant(arch, classes, channels, input_size, div, fc_div)
    init_(net, gen)
    x = torch.rand(batch, channels, input_size, input_size, generator=gen) * 2 - 1
    labels = torch.randint(0, classes, (batch,), generator=gen)
    logits = net(x)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    out = {'input': x, 'labels': labels.float(), 'logits': logits, 'loss': loss.reshape(1)}
    for name, p in net.named_parameters():
        out[name] = p
        out['grad.' + name] = p.grad
    meta = {'arch': arch, 'channels': str(channels), 'inputSize': str(input_size),
            'widthDivisor': str(div), 'fcDivisor': str(fc_div), 'classes': str(classes)}
    return {k: v.detach().numpy().astype(np.float32) for k, v in out.items()}, meta


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    cases = [('alexnet2012', 3), ('caffenet', 3), ('torchvision', 3), ('d2l', 1)]
    for i, (arch, ch) in enumerate(cases):
        tensors, meta = golden(arch, ch, 67, 8, 32, 10, 2, 100 + i)
        path = os.path.join(OUT, f'{arch}.safetensors')
        write_safetensors(path, tensors, meta)
        print(f'{path}: {os.path.getsize(path)} bytes, loss {tensors["loss"][0]:.6f}')
    if '--full' in sys.argv:
        full = '/tmp/alexnet-golden-full'
        os.makedirs(full, exist_ok=True)
        for arch, size in [('alexnet2012', 227), ('torchvision', 224)]:
            gen = torch.Generator().manual_seed(7)
            net = AlexNetVariant(arch, 1000, 3, size).eval()
            init_(net, gen)
            x = torch.rand(4, 3, size, size, generator=gen) * 2 - 1
            with torch.no_grad():
                logits = net(x)
            params = {k: v.detach().numpy() for k, v in net.state_dict().items()}
            write_safetensors(f'{full}/{arch}.safetensors', params, {})
            np.save(f'{full}/{arch}-input.npy', x.numpy())
            np.save(f'{full}/{arch}-logits.npy', logits.numpy())
            print(f'{full}/{arch}: logits range [{logits.min():.3f}, {logits.max():.3f}]')


if __name__ == '__main__':
    main()
