// Views of a split for controlled experiments: a fixed seeded subset (so every run of an
// experiment sees the same images whatever its own seed), and the paper's crops (§4.1) over any
// split — training batches are random S×S crops (plus mirrors) of the split's R×R inputs, test
// batches the centre crop or the ten views (4 corners + centre, each mirrored).
// Letters: B batch, C channels, R source side, S crop side.
import type { Split } from '../data/dataset.js';
import { centerCrop, drawCrop, type CropParams } from '../data/augment.js';
import { tenCropParams } from '../data/views.js';
import { Rng } from '../util/rng.js';

export class SubsetSplit implements Split {
  readonly size: number;
  readonly labels: Int32Array;
  readonly sampleShape: readonly [number, number, number];

  constructor(
    private readonly inner: Split,
    readonly indices: Int32Array,
  ) {
    this.size = indices.length;
    this.labels = Int32Array.from(indices, (i) => inner.labels[i]);
    this.sampleShape = inner.sampleShape;
  }

  fill(
    indices: Int32Array,
    x: Float32Array,
    augment: boolean,
    seed: number,
    first = 0,
  ): Promise<void> {
    return this.inner.fill(
      Int32Array.from(indices, (i) => this.indices[i]),
      x,
      augment,
      seed,
      first,
    );
  }
}

export class CropSplit implements Split {
  readonly sampleShape: readonly [number, number, number];

  constructor(
    private readonly inner: Split,
    readonly crop: number,
  ) {
    const [c] = inner.sampleShape;
    this.sampleShape = [c, crop, crop];
  }

  get size(): number {
    return this.inner.size;
  }

  get labels(): Int32Array {
    return this.inner.labels;
  }

  /** x: [B, C, S, S]: random crops and mirrors with augment, else the centre crop. */
  async fill(
    indices: Int32Array,
    x: Float32Array,
    augment: boolean,
    seed: number,
    first = 0,
  ): Promise<void> {
    const src = await this.source(indices, augment, seed, first);
    const [, r] = this.inner.sampleShape;
    const rng = new Rng(seed ^ 0x5bd1e995);
    // the crops of the batch's samples before this share (data-parallel ranks)
    for (let k = 0; augment && k < first; k++) drawCrop(rng, r, this.crop);
    indices.forEach((_, k) =>
      this.cut(src, k, augment ? drawCrop(rng, r, this.crop) : centerCrop(r, this.crop), x, k),
    );
  }

  /** x: [B, V, C, S, S] with V = 1 (centre) or 10 (the paper's views), as the evaluator expects. */
  async fillViews(indices: Int32Array, x: Float32Array, mode: 'center' | '10'): Promise<void> {
    const src = await this.source(indices, false, 0);
    const [, r] = this.inner.sampleShape;
    const views = mode === '10' ? tenCropParams(r, this.crop) : [centerCrop(r, this.crop)];
    indices.forEach((_, k) =>
      views.forEach((v, j) => this.cut(src, k, v, x, k * views.length + j)),
    );
  }

  private async source(
    indices: Int32Array,
    augment: boolean,
    seed: number,
    first = 0,
  ): Promise<Float32Array> {
    const [c, h, w] = this.inner.sampleShape;
    const src = new Float32Array(indices.length * c * h * w);
    // The inner split's own augmentation (colour noise; its mirror is redundant with ours).
    await this.inner.fill(indices, src, augment, seed, first);
    return src;
  }

  /** Cuts crop p of source image k into slot `slot` of x. */
  private cut(src: Float32Array, k: number, p: CropParams, x: Float32Array, slot: number): void {
    const [c, r] = this.inner.sampleShape;
    const s = this.crop;
    for (let ch = 0; ch < c; ch++)
      for (let i = 0; i < s; i++) {
        const from = ((k * c + ch) * r + p.y + i) * r + p.x;
        const to = ((slot * c + ch) * s + i) * s;
        if (!p.flip) x.set(src.subarray(from, from + s), to);
        else for (let j = 0; j < s; j++) x[to + j] = src[from + s - 1 - j];
      }
  }
}
