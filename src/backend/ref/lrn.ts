// Reference cross-channel local response normalisation (paper §3.3, SPEC §1):
//
//   scale_i = k + s · Σ_{j ∈ W(i)} a_j²,   W(i) = [max(0, i − ⌊size/2⌋), min(C − 1, i + ⌊size/2⌋)]
//   b_i     = a_i · scale_i^(−β)
//
// with s = alpha/size for alphaScaling 'per-size' (what the original cuda-convnet code, Caffe and
// PyTorch compute, and the default) and s = alpha for 'absolute' (the formula as printed in the
// paper, which omits the /size). The window is cut at the channel edges, not wrapped or padded
// with anything but zeros — so edge channels sum fewer squares, exactly as in Caffe/PyTorch.
// For an even `size` this symmetric window is size+1 wide, as the contract's formula says;
// PyTorch's even-size window is asymmetric instead, so golden files use odd sizes only (AlexNet: 5).
//
// Letters: N batch, C channels, H×W map. Channel i of pixel p in image n sits at
// ((n·C + i)·H + y)·W + x, so walking channels at a fixed pixel strides by H·W.

import type { LrnParams } from '../backend.js';
import type { FloatArray } from './float.js';
import type { HostKernels } from '../host.js';

function alphaPerSquare(p: LrnParams): number {
  return p.alphaScaling === 'per-size' ? p.alpha / p.size : p.alpha;
}

/** x, y: [N, C, H, W]   scale: [N, C, H, W] | null (receives k + s·Σa², kept for backward) */
export function lrnForward(
  x: FloatArray,
  y: FloatArray,
  scale: FloatArray | null,
  p: LrnParams,
): void {
  const { n, c, h, w, k, beta } = p;
  const s = alphaPerSquare(p);
  const half = Math.floor(p.size / 2);
  const plane = h * w;
  for (let ni = 0; ni < n; ni++) {
    const base = ni * c * plane;
    for (let i = 0; i < c; i++) {
      const jFirst = Math.max(0, i - half);
      const jLast = Math.min(c - 1, i + half);
      const out = base + i * plane;
      for (let q = 0; q < plane; q++) {
        let sumSq = 0;
        for (let j = jFirst; j <= jLast; j++) {
          const a = x[base + j * plane + q];
          sumSq += a * a;
        }
        const sc = k + s * sumSq;
        if (scale) scale[out + q] = sc;
        y[out + q] = x[out + q] * Math.pow(sc, -beta);
      }
    }
  }
}

/** Backward of b_i = a_i · scale_i^(−β). Differentiating, with y_j = b_j:
 *    ∂L/∂a_i = dy_i · scale_i^(−β)  −  2·β·s · a_i · Σ_{j : i ∈ W(j)} dy_j · y_j / scale_j
 *  (the second term: a_i appears in the sum of every channel j whose window holds i; the window
 *  is symmetric, so those j are exactly W(i)).
 *  x, y, scale, dy, dx: [N, C, H, W] — scale and y from lrnForward on this x; dx overwritten. */
export function lrnBackward(
  x: FloatArray,
  y: FloatArray,
  scale: FloatArray,
  dy: FloatArray,
  dx: FloatArray,
  p: LrnParams,
): void {
  const { n, c, h, w, beta } = p;
  const s = alphaPerSquare(p);
  const half = Math.floor(p.size / 2);
  const plane = h * w;
  const coef = 2 * beta * s;
  for (let ni = 0; ni < n; ni++) {
    const base = ni * c * plane;
    for (let i = 0; i < c; i++) {
      const jFirst = Math.max(0, i - half);
      const jLast = Math.min(c - 1, i + half);
      const at = base + i * plane;
      for (let q = 0; q < plane; q++) {
        let cross = 0;
        for (let j = jFirst; j <= jLast; j++) {
          const o = base + j * plane + q;
          cross += (dy[o] * y[o]) / scale[o];
        }
        dx[at + q] = dy[at + q] * Math.pow(scale[at + q], -beta) - coef * x[at + q] * cross;
      }
    }
  }
}

/** This file's kernels, bound to the table (src/backend/kernels.ts). */
export const lrnKernels = {
  lrnForward: ({ x, y, scale: s }, p) => lrnForward(x.data, y.data, s ? s.data : null, p),
  lrnBackward: ({ x, y, scale: s, dy, dx }, p) =>
    lrnBackward(x.data, y.data, s.data, dy.data, dx.data, p),
} satisfies HostKernels;
