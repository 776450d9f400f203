// Reference fully connected layer: y = x · wᵀ + b, PyTorch's layout (w is [out, in]) so weights
// interchange without a transpose. Every inner loop runs along D, contiguous in x, w, dx and dw.
//
// Letters: N batch, D input features, F output features.

import type { FloatArray } from './float.js';
import type { HostKernels } from '../host.js';
import { roundedToBf16, widened } from './mixed.js';

/** y = x · wᵀ + b, then ReLU if `relu`.
 *  x: [N, D]   w: [F, D]   b: [F] | null   y: [N, F] (overwritten) */
export function linearForward(
  x: FloatArray,
  w: FloatArray,
  b: FloatArray | null,
  y: FloatArray,
  n: number,
  d: number,
  f: number,
  relu: boolean,
): void {
  for (let ni = 0; ni < n; ni++) {
    const xRow = ni * d;
    for (let fi = 0; fi < f; fi++) {
      const wRow = fi * d;
      let acc = b ? b[fi] : 0;
      for (let di = 0; di < d; di++) acc += x[xRow + di] * w[wRow + di];
      y[ni * f + fi] = relu && acc < 0 ? 0 : acc;
    }
  }
}

/** dx = dy · w,  dw = dyᵀ · x,  db = Σ_n dy (each overwritten; null ones skipped).
 *  x: [N, D]   w: [F, D]   dy: [N, F]   dx: [N, D] | null   dw: [F, D] | null   db: [F] | null */
export function linearBackward(
  x: FloatArray,
  w: FloatArray,
  dy: FloatArray,
  dx: FloatArray | null,
  dw: FloatArray | null,
  db: FloatArray | null,
  n: number,
  d: number,
  f: number,
): void {
  if (dx) {
    dx.fill(0);
    for (let ni = 0; ni < n; ni++) {
      for (let fi = 0; fi < f; fi++) {
        const g = dy[ni * f + fi];
        const wRow = fi * d;
        const dxRow = ni * d;
        for (let di = 0; di < d; di++) dx[dxRow + di] += g * w[wRow + di];
      }
    }
  }
  if (dw) {
    dw.fill(0);
    for (let fi = 0; fi < f; fi++) {
      const dwRow = fi * d;
      for (let ni = 0; ni < n; ni++) {
        const g = dy[ni * f + fi];
        const xRow = ni * d;
        for (let di = 0; di < d; di++) dw[dwRow + di] += g * x[xRow + di];
      }
    }
  }
  if (db) {
    for (let fi = 0; fi < f; fi++) {
      let s = 0;
      for (let ni = 0; ni < n; ni++) s += dy[ni * f + fi];
      db[fi] = s;
    }
  }
}

/** This file's kernels, bound to the table (src/backend/kernels.ts). A bfloat16 w makes the call
 *  mixed precision (mixed.ts): x and dy are rounded copies, db sums the unrounded dy. */
export const linearKernels = {
  linearForward: ({ x, w, b, y }, a) => {
    const xs = w.dtype === 'bfloat16' ? roundedToBf16(x.data) : x.data;
    linearForward(xs, widened(w.data), b ? b.data : null, y.data, a.n, a.d, a.f, a.relu);
  },
  linearBackward: ({ x, w, dy, dx, dw, db }, a) => {
    const bf = w.dtype === 'bfloat16';
    const dys = bf && (dx || dw) ? roundedToBf16(dy.data) : dy.data;
    const xs = bf && dw ? roundedToBf16(x.data) : x.data;
    const { n, d, f } = a;
    const wf = widened(w.data);
    linearBackward(xs, wf, dys, dx ? dx.data : null, dw ? dw.data : null, null, n, d, f);
    if (db) linearBackward(x.data, wf, dy.data, null, null, db.data, n, d, f);
  },
} satisfies HostKernels;
