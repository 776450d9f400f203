// Reference pooling: max (the paper's overlapping 3×3 / stride 2), average, and adaptive average
// (torchvision's AdaptiveAvgPool2d((6, 6))). All work plane by plane: the N·C planes of an NCHW
// tensor are independent, so every kernel loops over `plane = n·C + c` and then over one map.
//
// Letters: N batch, C channels, H×W input map, Ho×Wo output map, K window side.

import { convOutputSize, type PoolGeom } from '../backend.js';
import type { FloatArray } from './float.js';
import type { HostKernels } from '../host.js';

function checkGeom(g: PoolGeom): void {
  const ho = convOutputSize(g.h, g.k, g.stride, g.pad);
  const wo = convOutputSize(g.w, g.k, g.stride, g.pad);
  if (g.ho !== ho || g.wo !== wo) {
    throw new Error(
      `pool: output ${g.ho}×${g.wo} given, but the geometry gives ${ho}×${wo} (floor mode)`,
    );
  }
}

// ---- max pooling -------------------------------------------------------------------------

/** Max pooling, floor mode; padded cells never win (they count as −∞, as in PyTorch).
 *  argmax, when given, receives per output the flat index iy·W + ix of the winner within its own
 *  [H, W] plane — the same convention as PyTorch's return_indices.
 *  Ties: the FIRST maximum in row-major scan order wins (strict `>`), which is PyTorch's rule, so
 *  the gradient of a tie goes where PyTorch sends it. A NaN wins too (PyTorch's
 *  `val > maxval || isnan(val)`, kept literally so NaNs propagate the same way).
 *  x: [N, C, H, W]   y: [N, C, Ho, Wo]   argmax: [N, C, Ho, Wo] | null */
export function maxPoolForward(
  x: FloatArray,
  y: FloatArray,
  argmax: Int32Array | null,
  g: PoolGeom,
): void {
  checkGeom(g);
  const { n, c, h, w, k, stride, pad, ho, wo } = g;
  for (let plane = 0; plane < n * c; plane++) {
    const xBase = plane * h * w;
    const yBase = plane * ho * wo;
    for (let oy = 0; oy < ho; oy++) {
      const yFirst = Math.max(0, oy * stride - pad);
      const yEnd = Math.min(h, oy * stride - pad + k);
      for (let ox = 0; ox < wo; ox++) {
        const xFirst = Math.max(0, ox * stride - pad);
        const xEnd = Math.min(w, ox * stride - pad + k);
        let best = -Infinity;
        let bestIdx = yFirst * w + xFirst; // PyTorch's starting index (kept if all are −∞)
        for (let iy = yFirst; iy < yEnd; iy++) {
          for (let ix = xFirst; ix < xEnd; ix++) {
            const v = x[xBase + iy * w + ix];
            if (v > best || Number.isNaN(v)) {
              best = v;
              bestIdx = iy * w + ix;
            }
          }
        }
        y[yBase + oy * wo + ox] = best;
        if (argmax) argmax[yBase + oy * wo + ox] = bestIdx;
      }
    }
  }
}

/** Routes each dy to the input cell that won its window. Windows overlap (3×3 / 2), so one input
 *  cell can win several windows: its gradient is the sum.
 *  dy: [N, C, Ho, Wo]   argmax: [N, C, Ho, Wo]   dx: [N, C, H, W] (overwritten) */
export function maxPoolBackward(
  dy: FloatArray,
  argmax: Int32Array,
  dx: FloatArray,
  g: PoolGeom,
): void {
  checkGeom(g);
  const { n, c, h, w, ho, wo } = g;
  dx.fill(0);
  for (let plane = 0; plane < n * c; plane++) {
    const xBase = plane * h * w;
    const yBase = plane * ho * wo;
    for (let o = 0; o < ho * wo; o++) dx[xBase + argmax[yBase + o]] += dy[yBase + o];
  }
}

// ---- average pooling ---------------------------------------------------------------------

/** The window of output (oy, ox) along one axis, and its divisor length, as PyTorch's
 *  avg_pool2d computes them with count_include_pad=True: the length counts padding cells (the
 *  window is clipped only at size + pad), then the summed range is clipped to the real input. */
function avgWindow(
  o: number,
  g: PoolGeom,
  size: number,
): { first: number; end: number; len: number } {
  const start = o * g.stride - g.pad;
  const stop = Math.min(start + g.k, size + g.pad);
  return { first: Math.max(0, start), end: Math.min(stop, size), len: stop - start };
}

/** Average pooling, floor mode, padding counted in the divisor (count_include_pad=True).
 *  x: [N, C, H, W]   y: [N, C, Ho, Wo] */
export function avgPoolForward(x: FloatArray, y: FloatArray, g: PoolGeom): void {
  checkGeom(g);
  const { n, c, h, w, ho, wo } = g;
  for (let plane = 0; plane < n * c; plane++) {
    const xBase = plane * h * w;
    const yBase = plane * ho * wo;
    for (let oy = 0; oy < ho; oy++) {
      const wy = avgWindow(oy, g, h);
      for (let ox = 0; ox < wo; ox++) {
        const wx = avgWindow(ox, g, w);
        let sum = 0;
        for (let iy = wy.first; iy < wy.end; iy++) {
          for (let ix = wx.first; ix < wx.end; ix++) sum += x[xBase + iy * w + ix];
        }
        y[yBase + oy * wo + ox] = sum / (wy.len * wx.len);
      }
    }
  }
}

/** Each dy is shared equally (÷ the same divisor as the forward) among its window's real cells.
 *  dy: [N, C, Ho, Wo]   dx: [N, C, H, W] (overwritten) */
export function avgPoolBackward(dy: FloatArray, dx: FloatArray, g: PoolGeom): void {
  checkGeom(g);
  const { n, c, h, w, ho, wo } = g;
  dx.fill(0);
  for (let plane = 0; plane < n * c; plane++) {
    const xBase = plane * h * w;
    const yBase = plane * ho * wo;
    for (let oy = 0; oy < ho; oy++) {
      const wy = avgWindow(oy, g, h);
      for (let ox = 0; ox < wo; ox++) {
        const wx = avgWindow(ox, g, w);
        const share = dy[yBase + oy * wo + ox] / (wy.len * wx.len);
        for (let iy = wy.first; iy < wy.end; iy++) {
          for (let ix = wx.first; ix < wx.end; ix++) dx[xBase + iy * w + ix] += share;
        }
      }
    }
  }
}

// ---- adaptive average pooling ------------------------------------------------------------

/** PyTorch's adaptive bins along one axis: output i averages input [⌊i·size/out⌋, ⌈(i+1)·size/out⌉).
 *  When out does not divide size, neighbouring bins overlap by one cell (e.g. 5 → 3: [0,2) [1,4) [3,5)). */
function adaptiveBin(i: number, size: number, out: number): { first: number; end: number } {
  return { first: Math.floor((i * size) / out), end: Math.ceil(((i + 1) * size) / out) };
}

/** x: [N, C, H, W]   y: [N, C, Ho, Wo] */
export function adaptiveAvgPoolForward(
  x: FloatArray,
  y: FloatArray,
  n: number,
  c: number,
  h: number,
  w: number,
  ho: number,
  wo: number,
): void {
  for (let plane = 0; plane < n * c; plane++) {
    const xBase = plane * h * w;
    const yBase = plane * ho * wo;
    for (let oy = 0; oy < ho; oy++) {
      const by = adaptiveBin(oy, h, ho);
      for (let ox = 0; ox < wo; ox++) {
        const bx = adaptiveBin(ox, w, wo);
        let sum = 0;
        for (let iy = by.first; iy < by.end; iy++) {
          for (let ix = bx.first; ix < bx.end; ix++) sum += x[xBase + iy * w + ix];
        }
        y[yBase + oy * wo + ox] = sum / ((by.end - by.first) * (bx.end - bx.first));
      }
    }
  }
}

/** dy: [N, C, Ho, Wo]   dx: [N, C, H, W] (overwritten; overlapping bins add) */
export function adaptiveAvgPoolBackward(
  dy: FloatArray,
  dx: FloatArray,
  n: number,
  c: number,
  h: number,
  w: number,
  ho: number,
  wo: number,
): void {
  dx.fill(0);
  for (let plane = 0; plane < n * c; plane++) {
    const xBase = plane * h * w;
    const yBase = plane * ho * wo;
    for (let oy = 0; oy < ho; oy++) {
      const by = adaptiveBin(oy, h, ho);
      for (let ox = 0; ox < wo; ox++) {
        const bx = adaptiveBin(ox, w, wo);
        const share = dy[yBase + oy * wo + ox] / ((by.end - by.first) * (bx.end - bx.first));
        for (let iy = by.first; iy < by.end; iy++) {
          for (let ix = bx.first; ix < bx.end; ix++) dx[xBase + iy * w + ix] += share;
        }
      }
    }
  }
}

/** This file's kernels, bound to the table (src/backend/kernels.ts). */
export const poolKernels = {
  maxPoolForward: ({ x, y, argmax }, g) =>
    maxPoolForward(x.data, y.data, argmax ? argmax.data : null, g),
  maxPoolBackward: ({ dy, argmax, dx }, g) => maxPoolBackward(dy.data, argmax.data, dx.data, g),
  avgPoolForward: ({ x, y }, g) => avgPoolForward(x.data, y.data, g),
  avgPoolBackward: ({ dy, dx }, g) => avgPoolBackward(dy.data, dx.data, g),
  adaptiveAvgPoolForward: ({ x, y }, a) =>
    adaptiveAvgPoolForward(x.data, y.data, a.n, a.c, a.h, a.w, a.ho, a.wo),
  adaptiveAvgPoolBackward: ({ dy, dx }, a) =>
    adaptiveAvgPoolBackward(dy.data, dx.data, a.n, a.c, a.h, a.w, a.ho, a.wo),
} satisfies HostKernels;
