// A tiny network and a synthetic byte-image dataset so training tests run in seconds on the ref
// backend: 3 classes of 8×8 images (a bright bar at a class-specific row, plus noise), resized
// to 12×12 like Fashion-MNIST's 28 → P.
import type { Backend } from '../../src/backend/backend.js';
import { ByteDataset } from '../../src/data/byte-dataset.js';
import type { ByteImages } from '../../src/data/byte-images.js';
import { defaultConfig, type ModelMeta } from '../../src/models/config.js';
import { Net, type LayerSpec } from '../../src/nn/net.js';
import { trainConfigSchema, type TrainConfig } from '../../src/train/presets.js';
import { Rng } from '../../src/util/rng.js';

export const TINY_SPECS: LayerSpec[] = [
  { kind: 'conv', name: 'conv1', out: 4, k: 3, stride: 1, pad: 1, groups: 1 },
  { kind: 'relu', name: 'relu1' },
  { kind: 'maxpool', name: 'pool1', k: 3, stride: 2 },
  { kind: 'conv', name: 'conv2', out: 6, k: 3, stride: 1, pad: 1, groups: 1 },
  { kind: 'relu', name: 'relu2' },
  { kind: 'maxpool', name: 'pool2', k: 3, stride: 2 },
  { kind: 'flatten', name: 'flatten' },
  { kind: 'linear', name: 'fc6', out: 16 },
  { kind: 'relu', name: 'relu6' },
  { kind: 'dropout', name: 'drop6', p: 0.5 },
  { kind: 'linear', name: 'fc8', out: 'classes' },
];

export const TINY_SIZE = 12;

export function tinyNet(backend: Backend, seed = 0): Net {
  return new Net(
    TINY_SPECS,
    { input: [1, TINY_SIZE, TINY_SIZE], classes: 3, dropoutMode: 'inverted' },
    backend,
    seed,
  );
}

function images(n: number, seed: number): ByteImages {
  const rng = new Rng(seed);
  const side = 8;
  const data = new Uint8Array(n * side * side);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    labels[i] = c;
    for (let p = 0; p < side * side; p++) data[i * side * side + p] = rng.int(60);
    const row = 1 + 3 * c;
    for (let x = 0; x < side; x++) data[i * side * side + row * side + x] = 200 + rng.int(55);
  }
  return { images: data, labels, side };
}

export function tinyDataset(
  opts: { workers?: boolean; train?: number; test?: number } = {},
): ByteDataset {
  return new ByteDataset(
    'tiny',
    ['a', 'b', 'c'],
    images(opts.train ?? 192, 1),
    images(opts.test ?? 30, 2),
    [],
    { inputSize: TINY_SIZE, workers: opts.workers ?? false },
  );
}

export function tinyConfig(over: Partial<TrainConfig> = {}): TrainConfig {
  return trainConfigSchema.parse({
    arch: 'd2l',
    data: 'tiny',
    inputSize: TINY_SIZE,
    epochs: 2,
    batch: 16,
    lr: 0.05,
    momentum: 0.9,
    weightDecay: 5e-4,
    schedule: { kind: 'plateau' },
    multipliers: 'caffe',
    init: 'kaiming',
    labelSmoothing: 0.1,
    augment: true,
    normalize: true,
    maxSeconds: null,
    maxTrain: null,
    freeze: [],
    seed: 7,
    ...over,
  });
}

export function tinyMeta(ds: ByteDataset): ModelMeta {
  return {
    config: defaultConfig('d2l', { inputSize: TINY_SIZE, classes: 3 }),
    classNames: ds.classNames,
    preprocess: ds.preprocess,
    dataset: ds.id,
  };
}
