#!/usr/bin/env python3
"""Loss-trajectory golden files (as llm.c's test_gpt2.c): ten SGD steps of every AlexNet variant at
reduced width, in PyTorch, and the loss of each step.

Each variant starts from the parameters, input batch and labels of its whole-network fixture
(test/fixtures/nets/ARCH.safetensors, made by tools/golden_nets.py), so nothing is stored twice.
The recipe is the paper's (§5): momentum 0.9, weight decay 5e-4, constant learning rate 0.001, with
bvlc_alexnet's multipliers as our layer specs declare them (weights lr ×1 / decay ×1, biases lr ×2 /
decay ×0), through torch.optim.SGD (equal to the paper's rule v ← μv − λεw − ε∂L/∂w, w ← w + v,
for a constant learning rate ε). The same fixed batch is used at every step, as llm.c does.

Dropout is ON (p = 0.5, inverted scaling ×2) with masks drawn here and stored in the fixture
(`mask.<layer>.<step>`, uint8, [N, features]); the test feeds alexnet-ts exactly these masks, so
both frameworks compute the same function. The arithmetic is float64 (the fixture's float32
values, widened), so the fixture is the exact trajectory to the precision that matters.

Output: test/fixtures/trajectory/ARCH.safetensors with `loss` [10] (float32; loss[s] is the
cross-entropy of step s, before its update) and the masks; metadata states the recipe.

Run with Debian's PyTorch:  /usr/bin/python3 tools/golden_trajectory.py
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from golden_nets import AlexNetVariant  # noqa: E402
from safetensors_io import read_safetensors, write_safetensors  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures')
NETS = os.path.join(ROOT, 'nets')
OUT = os.path.join(ROOT, 'trajectory')

STEPS = 10
LR, MOMENTUM, WEIGHT_DECAY = 0.001, 0.9, 5e-4
BIAS_LR_MULT, BIAS_DECAY_MULT = 2.0, 0.0  # bvlc_alexnet's, the default of src/nn/layer.ts
P = 0.5


def forward(net, x, masks):
    """net's forward (golden_nets.AlexNetVariant) with dropout as the given 0/1 masks ×1/(1−p)."""
    drop = lambda t, m: t * (m.to(t.dtype) / (1 - P))  # noqa: E731
    x = net.features(x)
    if net.arch == 'torchvision':  # dropout before fc6 and fc7
        x = F.relu(net.fc6(drop(x, masks[0])))
        x = F.relu(net.fc7(drop(x, masks[1])))
    else:
        x = drop(F.relu(net.fc6(x)), masks[0])
        x = drop(F.relu(net.fc7(x)), masks[1])
    return net.fc8(x)


def trajectory(arch, seed):
    t, m = read_safetensors(os.path.join(NETS, f'{arch}.safetensors'))
    channels, size, classes = int(m['channels']), int(m['inputSize']), int(m['classes'])
    net = AlexNetVariant(arch, classes, channels, size, int(m['widthDivisor']), int(m['fcDivisor']))
    net = net.double()
    with torch.no_grad():
        for name, p in net.named_parameters():
            p.copy_(torch.from_numpy(t[name].astype(np.float64)))
    x = torch.from_numpy(t['input'].astype(np.float64))
    labels = torch.from_numpy(t['labels'].astype(np.int64))
    n = x.shape[0]
    # The features each dropout layer sees, in forward order.
    with torch.no_grad():
        flat = net.features(x).shape[1]
    widths = [flat, net.fc6.out_features] if arch == 'torchvision' else [net.fc6.out_features] * 2
    names = ['drop6', 'drop7']

    weights = [p for name, p in net.named_parameters() if name.endswith('.weight')]
    biases = [p for name, p in net.named_parameters() if name.endswith('.bias')]
    sgd = torch.optim.SGD(
        [
            {'params': weights, 'lr': LR, 'weight_decay': WEIGHT_DECAY},
            {'params': biases, 'lr': LR * BIAS_LR_MULT, 'weight_decay': WEIGHT_DECAY * BIAS_DECAY_MULT},
        ],
        lr=LR,
        momentum=MOMENTUM,
    )
    gen = torch.Generator().manual_seed(seed)
    out, losses = {}, []
    for step in range(STEPS):
        masks = [(torch.rand(n, w, generator=gen) < 1 - P).to(torch.uint8) for w in widths]
        for name, mask in zip(names, masks):
            out[f'mask.{name}.{step}'] = mask.numpy()
        sgd.zero_grad()
        loss = F.cross_entropy(forward(net, x, masks), labels)
        loss.backward()
        sgd.step()
        losses.append(loss.item())
    out['loss'] = np.array(losses, dtype=np.float32)
    meta = {'arch': arch, 'net': f'nets/{arch}.safetensors', 'steps': str(STEPS), 'lr': str(LR),
            'momentum': str(MOMENTUM), 'weightDecay': str(WEIGHT_DECAY), 'multipliers': 'caffe',
            'dropout': str(P), 'dropoutMode': 'inverted'}
    return out, meta


def main():
    os.makedirs(OUT, exist_ok=True)
    for i, arch in enumerate(['alexnet2012', 'caffenet', 'torchvision', 'd2l']):
        tensors, meta = trajectory(arch, 200 + i)
        path = os.path.join(OUT, f'{arch}.safetensors')
        write_safetensors(path, tensors, meta)
        print(f'{path}: {os.path.getsize(path)} bytes, losses',
              ' '.join(f'{v:.5f}' for v in tensors['loss']))


if __name__ == '__main__':
    main()
