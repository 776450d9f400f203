#!/usr/bin/env python3
"""The PyTorch CUDA peer for bench/gpu/run.sh: the same networks as alexnet-ts (golden_nets.py's
AlexNetVariant, full width, dropout 0.5), trained (forward, cross-entropy, backward, SGD momentum
0.9 / weight decay 5e-4) and run for inference on random data on the GPU, in fp32 (cuDNN, TF32
off: the same arithmetic as the WebGPU kernels) and in bf16 autocast. One JSON object per line.

  python3 torch_cuda.py --arch alexnet2012 --mode train --batch 128 --precision fp32|bf16
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_nets import AlexNetVariant  # noqa: E402

SHAPES = {'alexnet2012': (3, 227), 'caffenet': (3, 227), 'torchvision': (3, 224), 'd2l': (1, 224)}
CLASSES = {'alexnet2012': 1000, 'caffenet': 1000, 'torchvision': 1000, 'd2l': 10}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--arch', required=True, choices=sorted(SHAPES))
    ap.add_argument('--mode', required=True, choices=['train', 'infer'])
    ap.add_argument('--batch', type=int, default=128)
    ap.add_argument('--precision', choices=['fp32', 'bf16'], default='fp32')
    ap.add_argument('--iterations', type=int, default=20)
    a = ap.parse_args()
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(0)
    dev = torch.device('cuda')
    channels, size = SHAPES[a.arch]
    net = AlexNetVariant(a.arch, CLASSES[a.arch], channels, size, dropout=0.5).to(dev)
    x = torch.randn(a.batch, channels, size, size, device=dev)
    y = torch.randint(0, CLASSES[a.arch], (a.batch,), device=dev)
    opt = torch.optim.SGD(net.parameters(), lr=1e-4, momentum=0.9, weight_decay=5e-4)
    cast = torch.autocast('cuda', dtype=torch.bfloat16, enabled=a.precision == 'bf16')

    def step():
        if a.mode == 'infer':
            net.eval()
            with torch.no_grad(), cast:
                net(x)
        else:
            net.train()
            opt.zero_grad(set_to_none=True)
            with cast:
                loss = F.cross_entropy(net(x), y)
            loss.backward()
            opt.step()

    for _ in range(3):
        step()
    torch.cuda.synchronize()
    times = []
    for _ in range(a.iterations):
        t0 = time.perf_counter()
        step()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    s = sorted(times)[len(times) // 2]
    print(json.dumps({'peer': 'pytorch-cuda', 'version': torch.__version__, 'gpu': torch.cuda.get_device_name(),
                      'arch': a.arch, 'mode': a.mode, 'batch': a.batch, 'precision': a.precision,
                      'imagesPerSecond': a.batch / s, 'secondsPerBatch': s}), flush=True)


if __name__ == '__main__':
    main()
