// Training augmentation of the paper (§4.1) as torchvision's `get_params` split: the random
// parameters of a sample (crop corner, flip, colour-noise weights) are drawn from a seeded
// generator, then a pure function applies them. The draws for a batch depend on its seed alone,
// so the main thread draws them and any worker applies them with the same result.
//
// Legend: R = side of the cached image (256), S = network input side (224 or 227),
//         image layout HWC uint8 RGB [R, R, 3]; network input CHW float32 [3, S, S].
import type { Rng } from '../util/rng.js';

/** Where a view is cut from an R×R image, and whether it is mirrored left–right. */
export interface CropParams {
  x: number;
  y: number;
  flip: boolean;
}

/** A crop plus the colour shift to add to every pixel (RGB, pixel units 0..255). */
export interface ViewParams extends CropParams {
  shift: readonly [number, number, number];
}

/** How pixels become network values:
 *  v = ((pixel + shift[c] − meanImage[y, x, c]) · scale − mean[c]) / std[c], channels in `order`. */
export interface Normalize {
  scale: number;
  mean: readonly number[];
  std: readonly number[];
  /** The training set's mean image, [R, R, 3] in pixel units (paper: "subtract the mean activity"). */
  meanImage?: Float32Array;
  /** Output channel order: the cache is RGB; Caffe-converted weights expect BGR. */
  order?: 'rgb' | 'bgr';
}

/** Uniform crop corner in [0, R − S] on each axis and a fair coin for the mirror (paper §4.1). */
export function drawCrop(rng: Rng, srcSize: number, size: number): CropParams {
  const x = rng.int(srcSize - size + 1);
  const y = rng.int(srcSize - size + 1);
  const flip = rng.uniform() < 0.5;
  return { x, y, flip };
}

/** α ~ N(0, std²) per principal component, drawn per image per use (paper: std 0.1). */
export function drawAlpha(rng: Rng, std = 0.1): [number, number, number] {
  return [rng.normal(0, std), rng.normal(0, std), rng.normal(0, std)];
}

/** The centre crop: offset ⌊(R − S)/2⌋ on each axis (Caffe's convention), not mirrored. */
export function centerCrop(srcSize: number, size: number): CropParams {
  const o = Math.floor((srcSize - size) / 2);
  return { x: o, y: o, flip: false };
}

/** Cuts the view `p` out of `src` and writes it normalised into out[outOffset …]: [3, S, S].
 *  The mean image is subtracted at the source location, before mirroring (as Caffe does). */
export function cropInto(
  src: Uint8Array, // [R, R, 3]
  srcSize: number,
  p: ViewParams,
  size: number,
  norm: Normalize,
  out: Float32Array, // [.., 3, S, S]
  outOffset: number,
): void {
  const R = srcSize;
  const S = size;
  if (p.x < 0 || p.y < 0 || p.x + S > R || p.y + S > R) {
    throw new RangeError(`crop ${S}×${S} at (${p.x}, ${p.y}) does not fit a ${R}×${R} image`);
  }
  const plane = S * S;
  const mi = norm.meanImage;
  for (let c = 0; c < 3; c++) {
    const outC = norm.order === 'bgr' ? 2 - c : c;
    const a = norm.scale / norm.std[c];
    const b = -norm.mean[c] / norm.std[c];
    const shift = p.shift[c];
    const base = outOffset + outC * plane;
    // out = (pixel + shift − meanImage)·a + b; mirrored rows are written right to left.
    const b0 = shift * a + b;
    const step = p.flip ? -1 : 1;
    for (let i = 0; i < S; i++) {
      const row = ((p.y + i) * R + p.x) * 3 + c;
      let o = base + i * S + (p.flip ? S - 1 : 0);
      if (mi) {
        for (let s = row, end = row + 3 * S; s < end; s += 3, o += step)
          out[o] = (src[s] - mi[s]) * a + b0;
      } else {
        for (let s = row, end = row + 3 * S; s < end; s += 3, o += step) out[o] = src[s] * a + b0;
      }
    }
  }
}

/** Views of a batch, packed for a worker: [n, 6] = (x, y, flip, shiftR, shiftG, shiftB). */
export function packViews(views: readonly ViewParams[]): Float64Array {
  const a = new Float64Array(views.length * 6);
  views.forEach((v, k) =>
    a.set([v.x, v.y, v.flip ? 1 : 0, v.shift[0], v.shift[1], v.shift[2]], k * 6),
  );
  return a;
}

export function unpackView(a: Float64Array, k: number): ViewParams {
  const o = k * 6;
  return { x: a[o], y: a[o + 1], flip: a[o + 2] !== 0, shift: [a[o + 3], a[o + 4], a[o + 5]] };
}
