// Reference fully connected layer: y = x · wᵀ + b, PyTorch's layout (w is [out, in]) so weights
// interchange without a transpose. Every inner loop runs along D, contiguous in x, w, dx and dw.
//
// Letters: N batch, D input features, F output features.

import type { FloatArray } from './float.js';
import type { HostKernels } from '../host.js';

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

/** This file's kernels, bound to the table (src/backend/kernels.ts). */
export const linearKernels = {
  linearForward: ({ x, w, b, y }, a) =>
    linearForward(x.data, w.data, b ? b.data : null, y.data, a.n, a.d, a.f, a.relu),
  linearBackward: ({ x, w, dy, dx, dw, db }, a) =>
    linearBackward(
      x.data,
      w.data,
      dy.data,
      dx ? dx.data : null,
      dw ? dw.data : null,
      db ? db.data : null,
      a.n,
      a.d,
      a.f,
    ),
} satisfies HostKernels;
