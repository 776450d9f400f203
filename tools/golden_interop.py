#!/usr/bin/python3
"""Fixtures for the interop tests (test/interop/*), written with Debian's python3-torch 1.13,
python3-onnx and hand-encoded protobuf (no Caffe binary needed).

Run with /usr/bin/python3 (the Debian interpreter that has torch):
    /usr/bin/python3 tools/golden_interop.py            # small fixtures → test/fixtures/interop/
    /usr/bin/python3 tools/golden_interop.py --full DIR # a full-size torchvision AlexNet (random
                                                        # weights, ~233 MB) + its logits, not committed

The nets have the variants' exact layer lists with reduced widths (test/interop/tiny.ts has the
same widths). Inputs are not stored: both sides compute x.flat[i] = float32(sin(0.37·i)).
Expected logits are stored as .npy (float32).
"""
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'interop')
CLASSES = 10
WIDTHS = {
    'alexnet2012': dict(conv1=8, conv2=16, conv3=24, conv4=16, conv5=16, fc6=32, fc7=32),
    'torchvision': dict(conv1=8, conv2=12, conv3=16, conv4=8, conv5=8, fc6=32, fc7=32),
}


def det_input(shape):
    n = int(np.prod(shape))
    return torch.from_numpy(np.sin(np.arange(n, dtype=np.float64) * 0.37).astype(np.float32).reshape(shape))


def save_npy(name, t):
    np.save(os.path.join(OUT, name), t.detach().numpy().astype(np.float32))


class TorchvisionLike(nn.Module):
    """torchvision.models.AlexNet's module layout (features.0 … classifier.6) at any widths."""

    def __init__(self, w, classes):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, w['conv1'], 11, 4, 2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
            nn.Conv2d(w['conv1'], w['conv2'], 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
            nn.Conv2d(w['conv2'], w['conv3'], 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(w['conv3'], w['conv4'], 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(w['conv4'], w['conv5'], 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2))
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(0.5), nn.Linear(w['conv5'] * 36, w['fc6']), nn.ReLU(inplace=True),
            nn.Dropout(0.5), nn.Linear(w['fc6'], w['fc7']), nn.ReLU(inplace=True),
            nn.Linear(w['fc7'], classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def caffe_like(w, classes, order):
    """alexnet2012 (LRN then pool) or caffenet (pool then LRN), Caffe's LRN k = 1, named layers."""
    lrn = lambda: nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)
    pool = lambda: nn.MaxPool2d(3, 2)
    block1 = [lrn(), pool()] if order == 'alexnet2012' else [pool(), lrn()]
    block2 = [lrn(), pool()] if order == 'alexnet2012' else [pool(), lrn()]
    layers = [
        ('conv1', nn.Conv2d(3, w['conv1'], 11, 4, 0)), ('relu1', nn.ReLU()), ('n1a', block1[0]), ('n1b', block1[1]),
        ('conv2', nn.Conv2d(w['conv1'], w['conv2'], 5, padding=2, groups=2)), ('relu2', nn.ReLU()), ('n2a', block2[0]), ('n2b', block2[1]),
        ('conv3', nn.Conv2d(w['conv2'], w['conv3'], 3, padding=1)), ('relu3', nn.ReLU()),
        ('conv4', nn.Conv2d(w['conv3'], w['conv4'], 3, padding=1, groups=2)), ('relu4', nn.ReLU()),
        ('conv5', nn.Conv2d(w['conv4'], w['conv5'], 3, padding=1, groups=2)), ('relu5', nn.ReLU()), ('pool5', pool()),
        ('flatten', nn.Flatten()),
        ('fc6', nn.Linear(w['conv5'] * 36, w['fc6'])), ('relu6', nn.ReLU()),
        ('fc7', nn.Linear(w['fc6'], w['fc7'])), ('relu7', nn.ReLU()),
        ('fc8', nn.Linear(w['fc7'], classes)),
    ]
    from collections import OrderedDict
    return nn.Sequential(OrderedDict(layers))


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            fan_in = p[0].numel() if p.dim() > 1 else 1
            p.copy_(torch.randn(p.shape, generator=g) * (np.sqrt(2.0 / fan_in) if p.dim() > 1 else 0.1))


# --- torchvision state dicts -------------------------------------------------------------------

def torchvision_fixtures():
    torch.manual_seed(0)
    m = TorchvisionLike(WIDTHS['torchvision'], CLASSES).eval()
    randomize(m, 1)
    x = det_input((2, 3, 224, 224))
    save_npy('tv_tiny_logits.npy', m(x))
    sd = m.state_dict()
    # Exercise strides and storage offsets: a transposed (non-contiguous) weight and a bias that
    # is a slice of a larger storage.
    w = sd['classifier.4.weight']
    sd['classifier.4.weight'] = w.t().contiguous().t()
    assert not sd['classifier.4.weight'].is_contiguous()
    big = torch.cat([torch.zeros(5), sd['classifier.6.bias'], torch.zeros(3)])
    sd['classifier.6.bias'] = big[5:5 + CLASSES]
    assert sd['classifier.6.bias'].storage_offset() == 5
    torch.save(sd, os.path.join(OUT, 'tv_tiny.pth'))
    torch.save(sd, os.path.join(OUT, 'tv_tiny_legacy.pth'), _use_new_zipfile_serialization=False)
    # half-precision storages
    torch.save({k: v.half() for k, v in m.state_dict().items()}, os.path.join(OUT, 'tv_tiny_half.pth'))
    # the ONNX export of the same net (opset 11): Conv/Relu/MaxPool/AveragePool?/Flatten/Gemm
    torch.onnx.export(m, det_input((1, 3, 224, 224)), os.path.join(OUT, 'tv_tiny.onnx'), opset_version=11,
                      input_names=['input'], output_names=['logits'], dynamic_axes={'input': {0: 'N'}, 'logits': {0: 'N'}})


# --- Caffe models, hand-encoded protobuf -------------------------------------------------------

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7f
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num, wire, payload):
    return varint((num << 3) | wire) + payload


def ld(num, payload):
    return field(num, 2, varint(len(payload)) + payload)


def fixed32f(num, v):
    return field(num, 5, struct.pack('<f', v))


def string(num, s):
    return ld(num, s.encode())


def blob(t, legacy4d):
    data = t.detach().numpy().astype(np.float32).ravel()
    out = ld(5, struct.pack('<%df' % data.size, *data))  # data = 5, packed
    if legacy4d:  # num = 1, channels = 2, height = 3, width = 4 (pre-BlobShape models)
        dims = list(t.shape)
        dims = [1] * (4 - len(dims)) + dims
        for i, d in enumerate(dims):
            out += field(i + 1, 0, varint(d))
    else:  # shape = 7: BlobShape { dim = 1 packed int64 }
        out += ld(7, ld(1, b''.join(varint(d) for d in t.shape)))
    return out


V1_TYPES = {'Convolution': 4, 'InnerProduct': 14, 'LRN': 15, 'Pooling': 17, 'ReLU': 18, 'Dropout': 6, 'Softmax': 20}


def lrn_param(v1):
    p = field(1, 0, varint(5)) + fixed32f(2, 1e-4) + fixed32f(3, 0.75) + fixed32f(5, 1.0)
    return ld(18 if v1 else 118, p)


def caffemodel(model, v1):
    """NetParameter: name = 1; layer = 100 (LayerParameter: name 1, type 2, blobs 7) or the V1
    layers = 2 (V1LayerParameter: name 4, type 5 enum, blobs 6)."""
    net = string(1, 'AlexNet')
    for name, mod in model.named_children():
        if isinstance(mod, nn.Conv2d):
            typ, blobs = 'Convolution', [mod.weight, mod.bias]
        elif isinstance(mod, nn.Linear):
            typ, blobs = 'InnerProduct', [mod.weight, mod.bias]
        elif isinstance(mod, nn.LocalResponseNorm):
            typ, blobs = 'LRN', []
        elif isinstance(mod, nn.MaxPool2d):
            typ, blobs = 'Pooling', []
        elif isinstance(mod, nn.ReLU):
            typ, blobs = 'ReLU', []
        else:
            continue
        cname = {'n1a': 'norm1', 'n1b': 'pool1', 'n2a': 'norm2', 'n2b': 'pool2'}.get(name, name)
        if typ == 'Pooling' and cname.startswith('norm'):
            cname = cname.replace('norm', 'pool')
        if typ == 'LRN' and cname.startswith('pool'):
            cname = cname.replace('pool', 'norm')
        if v1:
            body = string(4, cname) + field(5, 0, varint(V1_TYPES[typ]))
            body += b''.join(ld(6, blob(b, legacy4d=True)) for b in blobs)
            if typ == 'LRN':
                body += lrn_param(True)
            net += ld(2, body)
        else:
            body = string(1, cname) + string(2, typ)
            body += b''.join(ld(7, blob(b, legacy4d=False)) for b in blobs)
            if typ == 'LRN':
                body += lrn_param(False)
            net += ld(100, body)
    return net


def caffe_fixtures():
    for arch, v1, seed in [('alexnet2012', False, 2), ('caffenet', True, 3)]:
        m = caffe_like(WIDTHS['alexnet2012'], CLASSES, arch).eval()
        randomize(m, seed)
        save_npy(f'caffe_{arch}_logits.npy', m(det_input((2, 3, 227, 227))))
        with open(os.path.join(OUT, f'caffe_{arch}.caffemodel'), 'wb') as f:
            f.write(caffemodel(m, v1))


# --- an ONNX graph shaped like the model zoo's bvlcalexnet ---------------------------------------

def zoo_like_onnx():
    """Caffe2-converted layout: Conv with group, LRN, MaxPool with Caffe's ceil-mode end pads
    [0, 0, 1, 1], Reshape to [N, -1] via a shape initializer, Gemm transB, Dropout, Softmax."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    m = caffe_like(WIDTHS['alexnet2012'], CLASSES, 'alexnet2012').eval()
    randomize(m, 4)
    inits, nodes = [], []
    cur = 'data_0'
    def add(op, inputs, name, **attrs):
        nonlocal cur
        out = name + '_1'
        nodes.append(helper.make_node(op, [cur] + inputs, [out], name=name, **attrs))
        cur = out
    for name, mod in m.named_children():
        if isinstance(mod, nn.Conv2d):
            inits += [numpy_helper.from_array(mod.weight.detach().numpy(), name + '_w_0'), numpy_helper.from_array(mod.bias.detach().numpy(), name + '_b_0')]
            p = mod.padding[0]
            add('Conv', [name + '_w_0', name + '_b_0'], name, kernel_shape=list(mod.kernel_size), strides=list(mod.stride), pads=[p] * 4, group=mod.groups)
        elif isinstance(mod, nn.ReLU):
            add('Relu', [], name)
        elif isinstance(mod, nn.LocalResponseNorm):
            add('LRN', [], name, size=5, alpha=1e-4, beta=0.75, bias=1.0)
        elif isinstance(mod, nn.MaxPool2d):
            add('MaxPool', [], name, kernel_shape=[3, 3], strides=[2, 2], pads=[0, 0, 1, 1])
        elif isinstance(mod, nn.Flatten):
            inits.append(numpy_helper.from_array(np.array([0, -1], dtype=np.int64), 'OC2_DUMMY_1'))
            add('Reshape', ['OC2_DUMMY_1'], 'OC2_DUMMY_0')
        elif isinstance(mod, nn.Linear):
            # float_data instead of raw_data, as older converters wrote it
            w = helper.make_tensor(name + '_w_0', TensorProto.FLOAT, list(mod.weight.shape), mod.weight.detach().numpy().ravel().tolist())
            b = helper.make_tensor(name + '_b_0', TensorProto.FLOAT, list(mod.bias.shape), mod.bias.detach().numpy().ravel().tolist())
            inits += [w, b]
            add('Gemm', [name + '_w_0', name + '_b_0'], name, transB=1)
        if name in ('relu6', 'relu7'):
            add('Dropout', [], 'drop' + name[-1], ratio=0.5)
    add('Softmax', [], 'prob')
    graph = helper.make_graph(nodes, 'bvlcalexnet-tiny', [helper.make_tensor_value_info('data_0', TensorProto.FLOAT, [1, 3, 227, 227])],
                              [helper.make_tensor_value_info(cur, TensorProto.FLOAT, [1, CLASSES])], inits)
    model = helper.make_model(graph, producer_name='golden_interop.py', opset_imports=[helper.make_opsetid('', 9)])
    model.ir_version = 4
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(OUT, 'zoo_tiny.onnx'))
    # a graph that is not an AlexNet: a Softsign after conv1
    bad = onnx.load(os.path.join(OUT, 'zoo_tiny.onnx'))
    bn = helper.make_node('Softsign', ['conv1_1'], ['conv1_bn'], name='conv1_softsign')
    bad.graph.node[1].input[0] = 'conv1_bn'
    bad.graph.node.insert(1, bn)
    onnx.save(bad, os.path.join(OUT, 'not_alexnet.onnx'))


def full_torchvision(out_dir):
    import torchvision
    torch.manual_seed(0)
    m = torchvision.models.alexnet().eval()  # random weights: nothing is downloaded
    torch.save(m.state_dict(), os.path.join(out_dir, 'alexnet_full.pth'))
    x = det_input((2, 3, 224, 224))
    np.save(os.path.join(out_dir, 'full_input.npy'), x.numpy())
    with torch.no_grad():
        np.save(os.path.join(out_dir, 'full_logits.npy'), m(x).numpy())
    print('wrote', out_dir)


if __name__ == '__main__':
    if len(sys.argv) == 3 and sys.argv[1] == '--full':
        full_torchvision(sys.argv[2])
        sys.exit(0)
    os.makedirs(OUT, exist_ok=True)
    torchvision_fixtures()
    caffe_fixtures()
    zoo_like_onnx()
    for f in sorted(os.listdir(OUT)):
        print(f'{os.path.getsize(os.path.join(OUT, f)):>9}  {f}')
