// The paper's SGD update (§5), for one parameter tensor:
//   v ← momentum·v − weightDecay·lr·w − lr·g
//   w ← w + v
// Note v here is the paper's velocity, which already includes −lr; torch.optim.SGD keeps
// buf = momentum·buf + (g + wd·w) and steps w −= lr·buf instead. With a constant lr the two agree
// with v = −lr·buf; when lr changes mid-run they differ (the paper's v keeps the old lr's steps).
//
// w, g, v: the same length, any shape (flat). w and v are updated in place; w16, when given,
// gets the new w in bfloat16 (the cast kernel's rounding).

import type { FloatArray } from './float.js';
import type { HostKernels } from '../host.js';
import { floatToBf16 } from './elementwise.js';

export function sgdUpdate(
  w: FloatArray,
  g: FloatArray,
  v: FloatArray,
  lr: number,
  momentum: number,
  weightDecay: number,
): void {
  const len = w.length;
  const decay = weightDecay * lr;
  for (let i = 0; i < len; i++) {
    const vi = momentum * v[i] - decay * w[i] - lr * g[i];
    v[i] = vi;
    w[i] += vi;
  }
}

/** This file's kernels, bound to the table (src/backend/kernels.ts). */
export const sgdKernels = {
  sgdUpdate: ({ w, g, v, w16 }, a) => {
    sgdUpdate(w.data, g.data, v.data, a.lr, a.momentum, a.weightDecay);
    if (w16) floatToBf16(w.data as Float32Array, w16.data);
  },
} satisfies HostKernels;
