// Grayscale byte images held in memory (Fashion-MNIST: 28×28, one byte per pixel) and the Split
// that turns them into network input: bilinear resize to the input size, (pixel/255 − mean)/std,
// optional seeded horizontal flip. Batches are prepared on a worker thread (fill-pool.ts) while
// the backend computes the previous batch; the images live in a SharedArrayBuffer so the worker
// reads them without a copy.
// Letters: N images, S source side (28), P network input side.
import type { Split } from './dataset.js';
import { resizeAxis, resizeBilinear } from './resize.js';
import { Rng } from '../util/rng.js';
import type { FillPool } from './fill-pool.js';

/** images: [N, S, S] bytes   labels: [N] */
export interface ByteImages {
  images: Uint8Array;
  labels: Int32Array;
  side: number;
}

/** How bytes become inputs: value = byte·a + b, at P×P. */
export interface FillPlan {
  inputSize: number;
  a: number;
  b: number;
}

export function planFor(inputSize: number, mean: number, std: number): FillPlan {
  return { inputSize, a: 1 / (255 * std), b: -mean / std };
}

/** Puts bytes in a SharedArrayBuffer (once) so worker threads can read them in place. */
export function shareBytes(a: Uint8Array): Uint8Array {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const s = new Uint8Array(new SharedArrayBuffer(a.length));
  s.set(a);
  return s;
}

/** The pure batch preparation, run on a worker or inline.
 *  indices: [B]   x: [B, 1, P, P] */
export function fillBatch(
  images: Uint8Array,
  side: number,
  indices: Int32Array,
  x: Float32Array,
  plan: FillPlan,
  augment: boolean,
  seed: number,
  first = 0,
): void {
  const p = plan.inputSize;
  const axis = resizeAxis(side, p);
  const rng = augment ? new Rng(seed) : null;
  for (let i = 0; rng && i < first; i++) rng.uniform(); // the flips of the batch's earlier samples
  const per = side * side;
  for (let i = 0; i < indices.length; i++) {
    const flip = rng ? rng.uniform() < 0.5 : false;
    resizeBilinear(images, indices[i] * per, side, axis, axis, x, i * p * p, plan.a, plan.b, flip);
  }
}

/** Per-pixel mean and standard deviation of the images, on the 0..1 scale. */
export function byteMeanStd(images: Uint8Array): { mean: number; std: number } {
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < images.length; i++) {
    const v = images[i];
    s += v;
    s2 += v * v;
  }
  const n = Math.max(1, images.length);
  const mean = s / n / 255;
  const variance = s2 / n / (255 * 255) - mean * mean;
  return { mean, std: Math.sqrt(Math.max(variance, 1e-12)) };
}

export class ByteImageSplit implements Split {
  readonly size: number;
  readonly labels: Int32Array;
  readonly sampleShape: readonly [number, number, number];

  /** key: identifies these images inside the pool (registered by the dataset). */
  constructor(
    readonly data: ByteImages,
    readonly plan: FillPlan,
    private readonly pool: FillPool | null,
    private readonly key: string,
  ) {
    this.size = data.labels.length;
    this.labels = data.labels;
    this.sampleShape = [1, plan.inputSize, plan.inputSize];
  }

  async fill(
    indices: Int32Array,
    x: Float32Array,
    augment: boolean,
    seed: number,
    first = 0,
  ): Promise<void> {
    for (const i of indices) {
      if (!(i >= 0 && i < this.size))
        throw new RangeError(`sample index ${i} is outside [0, ${this.size})`);
    }
    if (this.pool) {
      x.set(await this.pool.fill(this.key, indices, this.plan, augment, seed, first));
      return;
    }
    fillBatch(this.data.images, this.data.side, indices, x, this.plan, augment, seed, first);
  }
}
