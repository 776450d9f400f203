// Importers against framework outputs: torchvision state dicts (zip, legacy, half) written by
// PyTorch, Caffe models (new and V1 layer formats) and ONNX graphs (PyTorch's export, a
// model-zoo-shaped Caffe2 conversion, our own export). Fixtures: tools/golden_interop.py.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { importCaffe } from '../../src/interop/caffe.js';
import { importOnnx } from '../../src/interop/onnx-import.js';
import { netToOnnx } from '../../src/interop/onnx-export.js';
import { encodeModel } from '../../src/interop/onnx-proto.js';
import { readTorchFile, stateDictTensors } from '../../src/interop/torch-file.js';
import { importTorchvision, mapTorchvisionKeys } from '../../src/interop/torchvision.js';
import { IMAGENET_CLASSES } from '../../src/interop/imagenet-classes.js';
import type { ModelConfig } from '../../src/models/config.js';
import { readNpy } from '../../src/tensor/npy.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { UsageError } from '../../src/util/errors.js';
import { writeFileAtomic } from '../../src/util/atomic.js';
import { tmpdir } from 'node:os';
import { maxRelError, tinyConfig, tinyNet } from './tiny.js';
import { hostTensor } from '../../src/backend/backend.js';

const FIX = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'interop');

/** The input both sides compute: x.flat[i] = float32(sin(0.37·i)). */
function detInput(shape: number[]): Tensor {
  const t = new Tensor(shape);
  for (let i = 0; i < t.size; i++) t.data[i] = Math.sin(i * 0.37);
  return t;
}

function logitsOf(config: ModelConfig, tensors: Map<string, Tensor>, x: Tensor): Tensor {
  const net = tinyNet(config);
  net.loadStateDict(tensors, 'fixture');
  return hostTensor(net.backend, net.forward(x, false));
}

function check(name: string, got: Float32Array, want: Float32Array, tol = 1e-4): void {
  const err = maxRelError(got, want);
  console.log(`# ${name}: max relative error ${err.toExponential(2)}`);
  assert.ok(err < tol, `${name}: max relative error ${err}`);
}

test('ImageNet class names: 1000, torchvision order', () => {
  assert.equal(IMAGENET_CLASSES.length, 1000);
  assert.equal(IMAGENET_CLASSES[0], 'tench');
  assert.equal(IMAGENET_CLASSES[281], 'tabby');
  assert.equal(new Set(IMAGENET_CLASSES).size >= 998, true); // torchvision has two duplicated names
});

for (const file of ['tv_tiny.pth', 'tv_tiny_legacy.pth']) {
  test(`torchvision state dict (${file}) reproduces PyTorch's logits`, () => {
    const tensors = mapTorchvisionKeys(
      stateDictTensors(readTorchFile(join(FIX, file)), file),
      file,
    );
    assert.deepEqual(
      [...tensors.keys()].sort(),
      ['conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'fc6', 'fc7', 'fc8']
        .flatMap((l) => [`${l}.bias`, `${l}.weight`])
        .sort(),
    );
    const want = readNpy(join(FIX, 'tv_tiny_logits.npy'));
    check(
      file,
      logitsOf(tinyConfig('torchvision'), tensors, detInput([2, 3, 224, 224])).data,
      want.data,
    );
  });
}

test('torchvision state dict with float16 storages', () => {
  const half = mapTorchvisionKeys(
    stateDictTensors(readTorchFile(join(FIX, 'tv_tiny_half.pth')), 'half'),
    'half',
  );
  const full = mapTorchvisionKeys(
    stateDictTensors(readTorchFile(join(FIX, 'tv_tiny.pth')), 'full'),
    'full',
  );
  let worst = 0;
  for (const [k, t] of full) worst = Math.max(worst, maxRelError(half.get(k)!.data, t.data));
  console.log(
    `# float16 storages: max relative error ${worst.toExponential(2)} (float16 rounding)`,
  );
  assert.ok(worst < 1e-3);
});

test('torchvision import carries the metadata: config, class names, preprocessing', () => {
  const { meta } = importTorchvision(join(FIX, 'tv_tiny.pth'));
  assert.equal(meta.config.arch, 'torchvision');
  assert.equal(meta.config.classes, 10);
  assert.deepEqual(meta.classNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  assert.deepEqual(meta.preprocess, {
    preset: 'torchvision',
    resample: 'pil-bilinear',
    colorOrder: 'rgb',
    resize: 256,
    cropSize: 224,
    pixelScale: 1 / 255,
    mean: [0.485, 0.456, 0.406],
    std: [0.229, 0.224, 0.225],
    invert: false,
  });
});

test('torchvision keys that are not AlexNet are refused', () => {
  assert.throws(
    () => mapTorchvisionKeys(new Map([['layer1.0.conv1.weight', new Tensor([1])]]), 'resnet.pth'),
    (e: unknown) =>
      e instanceof UsageError && /layer1\.0\.conv1\.weight/.test((e as Error).message),
  );
});

for (const arch of ['alexnet2012', 'caffenet'] as const) {
  test(`Caffe model (${arch}) reproduces PyTorch's logits, with Caffe's conventions`, () => {
    const { tensors, meta } = importCaffe(join(FIX, `caffe_${arch}.caffemodel`), {});
    assert.equal(meta.config.arch, arch); // recognised from the layer order
    assert.equal(meta.config.lrnK, 1);
    assert.equal(meta.config.inputSize, 227);
    assert.deepEqual(
      { ...meta.preprocess },
      {
        preset: 'caffe',
        resample: 'sharp-cubic',
        colorOrder: 'bgr',
        resize: 256,
        cropSize: 227,
        pixelScale: 1,
        mean: [104, 117, 123],
        std: [1, 1, 1],
        invert: false,
      },
    );
    const want = readNpy(join(FIX, `caffe_${arch}_logits.npy`));
    check(
      `caffe ${arch}`,
      logitsOf(meta.config, tensors, detInput([2, 3, 227, 227])).data,
      want.data,
    );
  });
}

test('Caffe: --arch that contradicts the layer order is refused', () => {
  assert.throws(
    () => importCaffe(join(FIX, 'caffe_alexnet2012.caffemodel'), { arch: 'caffenet' }),
    (e: unknown) => e instanceof UsageError && /LRN before pooling/.test((e as Error).message),
  );
});

test('ONNX: a model-zoo-shaped bvlcalexnet graph imports as alexnet2012 and matches onnxruntime', async () => {
  const path = join(FIX, 'zoo_tiny.onnx');
  const { tensors, meta } = importOnnx(path, {});
  assert.equal(meta.config.arch, 'alexnet2012');
  assert.equal(meta.config.inputSize, 227);
  assert.equal(meta.config.lrnK, 1);
  assert.equal(meta.preprocess?.colorOrder, 'bgr');
  const x = detInput([1, 3, 227, 227]);
  const logits = logitsOf(meta.config, tensors, x).data;
  const session = await ort.InferenceSession.create(path);
  const out = await session.run({ data_0: new ort.Tensor('float32', x.data, [1, 3, 227, 227]) });
  const prob = out[session.outputNames[0]].data as Float32Array;
  const max = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  check(
    'zoo-shaped ONNX (softmax)',
    e.map((v) => v / sum),
    prob,
  );
});

test('ONNX: PyTorch-exported torchvision AlexNet imports and reproduces PyTorch', () => {
  const { tensors, meta } = importOnnx(join(FIX, 'tv_tiny.onnx'), {});
  assert.equal(meta.config.arch, 'torchvision');
  assert.equal(meta.preprocess?.colorOrder, 'rgb');
  const want = readNpy(join(FIX, 'tv_tiny_logits.npy'));
  check(
    'torch.onnx.export torchvision',
    logitsOf(meta.config, tensors, detInput([2, 3, 224, 224])).data,
    want.data,
  );
});

test('ONNX: a graph that is not an AlexNet names the first node that does not fit', () => {
  assert.throws(
    () => importOnnx(join(FIX, 'not_alexnet.onnx'), {}),
    (e: unknown) =>
      e instanceof UsageError &&
      /conv1_softsign/.test((e as Error).message) &&
      !(e as Error).message.includes('\n'),
  );
});

test('ONNX: our own export round-trips (classic dropout, absolute LRN alpha, metadata)', () => {
  const config = tinyConfig('alexnet2012', {
    inputSize: 224,
    dropoutMode: 'classic',
    lrnAlphaScaling: 'absolute',
    lrnK: 2,
  });
  const net = tinyNet(config, 5);
  const path = join(tmpdir(), `alexnet-roundtrip-${process.pid}.onnx`);
  writeFileAtomic(
    path,
    encodeModel(
      netToOnnx(net, { config, classNames: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'] }),
    ),
  );
  const { tensors, meta } = importOnnx(path, {});
  assert.equal(meta.config.dropoutMode, 'classic');
  assert.equal(meta.config.lrnAlphaScaling, 'absolute');
  assert.equal(meta.config.inputSize, 224);
  assert.equal(meta.classNames?.[9], 'j');
  for (const [k, t] of net.stateDict()) assert.deepEqual(tensors.get(k)!.data, t.data, k);
});
