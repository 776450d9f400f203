// Reduced-width AlexNets for the interop tests: each variant's exact layer list (kernels, strides,
// pads, groups, LRN, pooling, dropout placement and names) with small channel counts, so fixtures
// stay tiny and the reference backend runs them in milliseconds. tools/golden_interop.py builds
// the same nets in PyTorch with these widths.
import { refBackend } from '../../src/backend/ref/index.js';
import { layerSpecs } from '../../src/models/alexnet.js';
import { defaultConfig, type Arch, type ModelConfig } from '../../src/models/config.js';
import { Net, type LayerSpec } from '../../src/nn/net.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Rng } from '../../src/util/rng.js';
import { hostData } from '../../src/backend/backend.js';

export const TINY_WIDTHS: Record<Arch, Record<string, number>> = {
  alexnet2012: { conv1: 8, conv2: 16, conv3: 24, conv4: 16, conv5: 16, fc6: 32, fc7: 32 },
  caffenet: { conv1: 8, conv2: 16, conv3: 24, conv4: 16, conv5: 16, fc6: 32, fc7: 32 },
  torchvision: { conv1: 8, conv2: 12, conv3: 16, conv4: 8, conv5: 8, fc6: 32, fc7: 32 },
  d2l: { conv1: 8, conv2: 16, conv3: 24, conv4: 16, conv5: 16, fc6: 32, fc7: 32 },
};
export const TINY_CLASSES = 10;

export function tinySpecs(config: ModelConfig): LayerSpec[] {
  const widths = TINY_WIDTHS[config.arch];
  return layerSpecs(config).map((s) =>
    (s.kind === 'conv' || s.kind === 'linear') && widths[s.name] !== undefined
      ? { ...s, out: widths[s.name] }
      : s,
  );
}

export function tinyConfig(arch: Arch, over: Partial<ModelConfig> = {}): ModelConfig {
  return defaultConfig(arch, { classes: TINY_CLASSES, ...over });
}

export function tinyNet(config: ModelConfig, seed = 1): Net {
  const net = new Net(
    tinySpecs(config),
    {
      input: [config.channels, config.inputSize, config.inputSize],
      classes: config.classes,
      dropoutMode: config.dropoutMode,
    },
    refBackend,
    seed,
  );
  const rng = new Rng(seed);
  for (const p of net.params) {
    const data = hostData(net.backend, p.value);
    const fanIn = p.shape.length > 1 ? data.length / p.shape[0] : 1;
    const sd = p.shape.length > 1 ? Math.sqrt(2 / fanIn) : 0.1;
    for (let i = 0; i < data.length; i++) data[i] = sd * rng.normal();
  }
  return net;
}

export function randomInput(shape: number[], seed = 7): Tensor {
  const rng = new Rng(seed);
  const x = new Tensor(shape);
  for (let i = 0; i < x.size; i++) x.data[i] = rng.normal();
  return x;
}

/** max |a − b| / max(1, max |b|) — relative to the output's scale. */
export function maxRelError(a: Float32Array, b: Float32Array): number {
  let err = 0;
  let scale = 1;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  for (let i = 0; i < a.length; i++) err = Math.max(err, Math.abs(a[i] - b[i]));
  return err / scale;
}
