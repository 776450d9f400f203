// Small model files and data for the figure, lab and dashboard tests: reduced-width variants of
// the real networks (their config names the variant, so every command can load them), PNG images
// and an IDX directory of 10 classes whose class is a bright bar's row.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { refBackend } from '../../src/backend/ref/index.js';
import { buildNet } from '../../src/models/alexnet.js';
import { saveModel } from '../../src/models/checkpoint.js';
import { defaultConfig, type Arch, type ModelMeta } from '../../src/models/config.js';
import { initialize } from '../../src/models/init.js';
import type { VariantInput } from '../../src/models/variants.js';
import { variantSchema } from '../../src/models/variants.js';
import { Rng } from '../../src/util/rng.js';
import { encodeIdx } from './idx.js';

export const TINY_VARIANT: VariantInput = { width: 1 / 12, fc: 32 };

/** Writes a randomly initialised reduced-width model file and returns its path. */
export function writeTinyModel(
  dir: string,
  arch: Arch,
  opts: { channels?: number; classes?: number; inputSize?: number; classNames?: string[] } = {},
): string {
  const config = defaultConfig(arch, {
    inputSize: opts.inputSize ?? 67,
    channels: opts.channels ?? 3,
    classes: opts.classes ?? 10,
    variant: variantSchema.parse(TINY_VARIANT),
  });
  const net = buildNet(config, refBackend);
  initialize(net, 'xavier', 3);
  const gray = config.channels === 1;
  const meta: ModelMeta = {
    config,
    classNames: opts.classNames ?? Array.from({ length: config.classes }, (_, i) => `class ${i}`),
    preprocess: {
      colorOrder: gray ? 'gray' : 'rgb',
      resize: gray ? 28 : 80,
      cropSize: gray ? 28 : 67,
      pixelScale: 1 / 255,
      mean: gray ? [0.2] : [0.5, 0.5, 0.5],
      std: gray ? [0.3] : [0.25, 0.25, 0.25],
      invert: false,
    },
  };
  const path = join(dir, `${arch}-${config.channels}.safetensors`);
  saveModel(path, net, meta);
  return path;
}

/** A w × h RGB PNG of stripes whose hue depends on `seed`. */
export async function writeImage(path: string, seed: number, w = 90, h = 70): Promise<void> {
  const px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 3; c++)
        px[(y * w + x) * 3 + c] = (Math.sin((x + y * seed) * 0.2 + c * seed) * 120 + 128) & 255;
  await sharp(px, { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toFile(path);
}

/** Images [n, 28, 28] of 10 classes: class c is a bright bar at row 2 + 2c, plus noise. */
export function barImages(n: number, seed: number): { images: Uint8Array; labels: Uint8Array } {
  const rng = new Rng(seed);
  const images = new Uint8Array(n * 784);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 10;
    labels[i] = c;
    for (let p = 0; p < 784; p++) images[i * 784 + p] = rng.int(50);
    for (let x = 2; x < 26; x++) images[i * 784 + (2 + 2 * c) * 28 + x] = 200 + rng.int(55);
  }
  return { images, labels };
}

/** An IDX directory (Fashion-MNIST's four files) of bar images. */
export function writeIdxDir(dir: string, train: number, test: number): string {
  mkdirSync(dir, { recursive: true });
  const tr = barImages(train, 1);
  const te = barImages(test, 2);
  writeFileSync(join(dir, 'train-images-idx3-ubyte'), encodeIdx([train, 28, 28], tr.images));
  writeFileSync(join(dir, 'train-labels-idx1-ubyte'), encodeIdx([train], tr.labels));
  writeFileSync(join(dir, 't10k-images-idx3-ubyte'), encodeIdx([test, 28, 28], te.images));
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), encodeIdx([test], te.labels));
  return dir;
}

/** Mean and standard deviation of a PNG's pixel values, with its size. */
export async function pngStats(
  path: string,
): Promise<{ width: number; height: number; mean: number; std: number }> {
  const { data, info } = await sharp(path).raw().toBuffer({ resolveWithObject: true });
  let s = 0;
  let s2 = 0;
  for (const v of data) {
    s += v;
    s2 += v * v;
  }
  const mean = s / data.length;
  return {
    width: info.width,
    height: info.height,
    mean,
    std: Math.sqrt(s2 / data.length - mean * mean),
  };
}
