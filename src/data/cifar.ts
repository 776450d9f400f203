// CIFAR-10 in its binary format (the paper's Figure 1 and LRN claims were made on it): a directory
// holding data_batch_1.bin … data_batch_5.bin and test_batch.bin (or the archive's
// cifar-10-batches-bin/ folder inside it). Each record is 3,073 bytes: the label, then the 32×32
// red, green and blue planes. batches.meta.txt, when present, names the classes.
// Inputs: bilinear resize to the input side per channel, (pixel/255 − mean[c]) / std[c] with the
// training split's per-channel statistics; training batches may be mirrored and get the paper's
// PCA colour noise (§4.1), drawn from the batch's seed alone.
// Letters: N images, S = 32, P network input side.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Preprocess } from './presets.js';
import { usage } from '../util/errors.js';
import { readInputFile, readInputText } from '../util/input-file.js';
import { Rng } from '../util/rng.js';
import { drawAlpha } from './augment.js';
import type { Dataset, Split } from './dataset.js';
import { PixelMoments, pcaLighting, type PcaStats } from './pca.js';
import { resizeAxis, resizeBilinear } from './resize.js';

export const CIFAR_CLASSES = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
];
const S = 32;
const PLANE = S * S;
const RECORD = 1 + 3 * PLANE;
const TRAIN_FILES = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);
const TEST_FILE = 'test_batch.bin';

/** The folder holding the .bin files: dir itself or dir/cifar-10-batches-bin, else null. */
export function cifarRoot(dir: string): string | null {
  for (const d of [dir, join(dir, 'cifar-10-batches-bin')])
    if (existsSync(join(d, TRAIN_FILES[0])) && existsSync(join(d, TEST_FILE))) return d;
  return null;
}

export function isCifarDir(dir: string): boolean {
  return cifarRoot(dir) !== null;
}

/** images: [N, 3, S, S] bytes (planes as stored)   labels: [N] */
export interface CifarImages {
  images: Uint8Array;
  labels: Int32Array;
}

export function readCifarFiles(paths: string[], classes: number): CifarImages {
  const bufs = paths.map((p) => {
    const b = readInputFile(p, 2 ** 28);
    if (b.length === 0 || b.length % RECORD !== 0)
      usage(
        `${p}: ${b.length} bytes is not a whole number of CIFAR-10 records (${RECORD} bytes each)`,
      );
    return b;
  });
  const n = bufs.reduce((a, b) => a + b.length / RECORD, 0);
  const images = new Uint8Array(n * 3 * PLANE);
  const labels = new Int32Array(n);
  let i = 0;
  bufs.forEach((b, f) => {
    for (let off = 0; off < b.length; off += RECORD, i++) {
      if (b[off] >= classes)
        usage(`${paths[f]}: record ${off / RECORD} has label ${b[off]}, CIFAR-10 has ${classes}`);
      labels[i] = b[off];
      images.set(b.subarray(off + 1, off + RECORD), i * 3 * PLANE);
    }
  });
  return { images, labels };
}

export interface CifarOptions {
  inputSize: number;
  /** Subtract the training split's per-channel mean and divide by its std (default true). */
  normalize?: boolean;
  /** PCA colour noise on augmented training batches (default true). */
  colorAugment?: boolean;
}

interface Plan {
  inputSize: number;
  /** value = pixel·a[c] + b[c] */
  a: number[];
  b: number[];
  pca: PcaStats | null;
}

export class CifarSplit implements Split {
  readonly size: number;
  readonly labels: Int32Array;
  readonly sampleShape: readonly [number, number, number];
  private readonly axis;

  constructor(
    readonly data: CifarImages,
    private readonly plan: Plan,
  ) {
    this.size = data.labels.length;
    this.labels = data.labels;
    this.sampleShape = [3, plan.inputSize, plan.inputSize];
    this.axis = resizeAxis(S, plan.inputSize);
  }

  /** x: [B, 3, P, P]; with augment, each image is mirrored with probability ½ and shifted
   *  along the RGB principal components (α ~ N(0, 0.1²)), both drawn from `seed`. */
  async fill(
    indices: Int32Array,
    x: Float32Array,
    augment: boolean,
    seed: number,
    first = 0,
  ): Promise<void> {
    const p = this.plan.inputSize;
    const rng = augment ? new Rng(seed) : null;
    for (let k = 0; rng && k < first; k++) {
      // the draws of the batch's samples before this share (data-parallel ranks)
      rng.uniform();
      drawAlpha(rng);
    }
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k];
      if (!(i >= 0 && i < this.size))
        throw new RangeError(`sample index ${i} is outside [0, ${this.size})`);
      const flip = rng ? rng.uniform() < 0.5 : false;
      // α is drawn even without colour noise, so runs with and without it mirror alike.
      const alpha = rng ? drawAlpha(rng) : null;
      const pca = this.plan.pca;
      const shift = alpha && pca ? pcaLighting(pca, alpha) : [0, 0, 0];
      for (let c = 0; c < 3; c++) {
        const a = this.plan.a[c];
        resizeBilinear(
          this.data.images,
          (i * 3 + c) * PLANE,
          S,
          this.axis,
          this.axis,
          x,
          (k * 3 + c) * p * p,
          a,
          this.plan.b[c] + shift[c] * a,
          flip,
        );
      }
    }
  }
}

/** Per-channel mean and std of the training pixels (0..1 scale) and their RGB PCA. */
export function cifarStats(images: Uint8Array): { mean: number[]; std: number[]; pca: PcaStats } {
  const m = new PixelMoments();
  const hwc = new Uint8Array(3 * PLANE);
  for (let off = 0; off < images.length; off += 3 * PLANE) {
    for (let p = 0; p < PLANE; p++)
      for (let c = 0; c < 3; c++) hwc[p * 3 + c] = images[off + c * PLANE + p];
    m.add(hwc);
  }
  const { mean, covariance } = m.unitMoments();
  const std = [0, 4, 8].map((k) => Math.sqrt(Math.max(covariance[k], 1e-12)));
  return { mean, std, pca: m.pca() };
}

export function openCifar(dir: string, opts: CifarOptions): Dataset {
  const root = cifarRoot(dir);
  if (!root) return usage(`${dir}: expected CIFAR-10's ${TRAIN_FILES[0]} and ${TEST_FILE}`, 'data');
  const present = readdirSync(root);
  const trainFiles = TRAIN_FILES.filter((f) => present.includes(f)).map((f) => join(root, f));
  const metaPath = join(root, 'batches.meta.txt');
  const classNames = existsSync(metaPath)
    ? readInputText(metaPath, 2 ** 20)
        .split('\n')
        .map((s) => s.trim())
        .filter(Boolean)
    : [...CIFAR_CLASSES];
  if (classNames.length === 0 || classNames.length > 256)
    usage(`${metaPath}: expected one class name per line`);
  const train = readCifarFiles(trainFiles, classNames.length);
  const test = readCifarFiles([join(root, TEST_FILE)], classNames.length);
  const stats = cifarStats(train.images);
  const mean = opts.normalize === false ? [0, 0, 0] : stats.mean;
  const sd = opts.normalize === false ? [1, 1, 1] : stats.std;
  const plan: Plan = {
    inputSize: opts.inputSize,
    a: sd.map((s) => 1 / (255 * s)),
    b: mean.map((m, c) => -m / sd[c]),
    pca: opts.colorAugment === false ? null : stats.pca,
  };
  const preprocess: Preprocess = {
    colorOrder: 'rgb',
    resize: S,
    cropSize: S,
    pixelScale: 1 / 255,
    mean,
    std: sd,
    invert: false,
  };
  return {
    id: dir,
    classNames,
    train: new CifarSplit(train, plan),
    test: new CifarSplit(test, { ...plan, pca: null }),
    preprocess,
    skipped: [],
    close: async () => {},
  };
}
