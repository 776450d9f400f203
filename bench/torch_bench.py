#!/usr/bin/env python3
"""The PyTorch peer for `npm run bench`: the same networks as alexnet-ts (tools/golden_nets.py's
AlexNetVariant, full width, dropout 0.5), timed for training (forward, cross-entropy, backward,
SGD momentum 0.9 / weight decay 5e-4) and inference on random data. Prints one JSON object per
line. With --export DIR also writes each variant as ONNX (PyTorch's exporter) for onnxruntime.

--precision (repeatable; default fp32):
  fp32     plain float32, NCHW
  bf16     torch.autocast('cpu', dtype=torch.bfloat16): convolutions and matmuls in bfloat16
           (oneDNN), float32 master weights, the backward outside the autocast region as
           PyTorch's AMP recipe says
  bf16-cl  the same with the model and the input in channels_last (NHWC) memory format, the
           layout oneDNN's bfloat16 convolutions prefer

  /usr/bin/python3 bench/torch_bench.py --threads 2 --batch 32 --iterations 5 [--precision bf16-cl] [--export DIR]
"""
import contextlib
import argparse
import json
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'tools'))
from golden_nets import AlexNetVariant  # noqa: E402

SIZES = {'alexnet2012': 227, 'torchvision': 224, 'caffenet': 227}


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--batch', type=int, default=32)
    ap.add_argument('--iterations', type=int, default=5)
    ap.add_argument('--arch', action='append')
    ap.add_argument('--mode', action='append', choices=['train', 'infer'])
    ap.add_argument('--precision', action='append', choices=['fp32', 'bf16', 'bf16-cl'])
    ap.add_argument('--export')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    for arch in a.arch or ['alexnet2012', 'torchvision']:
        size = SIZES[arch]
        net = AlexNetVariant(arch, 1000, 3, size, dropout=0.5)
        if a.export:
            os.makedirs(a.export, exist_ok=True)
            net.eval()
            torch.onnx.export(net, torch.randn(1, 3, size, size), os.path.join(a.export, f'{arch}.onnx'),
                              input_names=['input'], output_names=['logits'],
                              dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}}, opset_version=11)
        y = torch.randint(0, 1000, (a.batch,))
        for precision in a.precision or ['fp32']:
            layout = torch.channels_last if precision == 'bf16-cl' else torch.contiguous_format
            net = net.to(memory_format=layout)
            x = torch.randn(a.batch, 3, size, size).to(memory_format=layout)
            opt = torch.optim.SGD(net.parameters(), lr=1e-4, momentum=0.9, weight_decay=5e-4)

            def autocast():
                if precision == 'fp32':
                    return contextlib.nullcontext()
                return torch.autocast('cpu', dtype=torch.bfloat16)

            for mode in a.mode or ['train', 'infer']:
                def step():
                    if mode == 'infer':
                        net.eval()
                        with torch.no_grad(), autocast():
                            net(x)
                    else:
                        net.train()
                        opt.zero_grad()
                        with autocast():
                            loss = F.cross_entropy(net(x), y)
                        loss.backward()
                        opt.step()
                step()
                times = []
                for _ in range(a.iterations):
                    t0 = time.perf_counter()
                    step()
                    times.append(time.perf_counter() - t0)
                s = median(times)
                print(json.dumps({'peer': 'pytorch', 'version': torch.__version__, 'arch': arch, 'mode': mode,
                                  'precision': precision, 'batch': a.batch, 'threads': a.threads,
                                  'imagesPerSecond': a.batch / s, 'secondsPerBatch': s,
                                  'peakRssMB': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}),
                      flush=True)


if __name__ == '__main__':
    main()
