// Finite-difference gradient checks of the pooling kernels (max, average, adaptive average),
// through the kernel table on every lane, as gradcheck.test.ts does for the others: central
// differences of the float64 forward on the oracle lane against each lane's backward; max-pool
// ties (where a difference is ill-defined) by exact routing to PyTorch's first maximum.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';

import type { PoolGeom } from '../../src/backend/backend.js';
import { convOutputSize } from '../../src/backend/backend.js';
import { Rng } from '../../src/util/rng.js';
import { dot } from '../helpers/gradcheck.js';
import {
  assertGrad,
  assertNear,
  everyLane,
  numeric,
  onEveryLane,
  oracle,
  randn,
  storage,
} from '../helpers/lanes.js';

const { lanes, close } = await everyLane();
after(close);

// ---- max pooling ------------------------------------------------------------------------------

function poolGeom(
  n: number,
  c: number,
  h: number,
  w: number,
  k: number,
  stride: number,
  pad: number,
): PoolGeom {
  return {
    n,
    c,
    h,
    w,
    k,
    stride,
    pad,
    ho: convOutputSize(h, k, stride, pad),
    wo: convOutputSize(w, k, stride, pad),
  };
}

for (const [label, g] of [
  ['3×3 / 2 overlapping, 9×8', poolGeom(2, 3, 9, 8, 3, 2, 0)],
  ['3×3 / 2 overlapping, pad 1, 7×7', poolGeom(1, 2, 7, 7, 3, 2, 1)],
  ['2×2 / 2 non-overlapping, 6×5', poolGeom(1, 2, 6, 5, 2, 2, 0)],
] as Array<[string, PoolGeom]>) {
  test(`max pool ${label}: dx matches central differences (distinct inputs)`, async (t) => {
    const rng = new Rng(13);
    const x = randn(rng, g.n * g.c * g.h * g.w); // continuous draws: no ties, no near-ties at ε
    const r = randn(rng, g.n * g.c * g.ho * g.wo);
    const [X, Y, A] = [oracle.t(x), oracle.out(r.length), oracle.i32(new Int32Array(r.length))];
    const probe = (): number => {
      oracle.backend.maxPoolForward({ x: X, y: Y, argmax: A }, g);
      return dot(storage(Y), r);
    };
    const [nx] = numeric(probe, X);
    await onEveryLane(t, lanes, async (l) => {
      const argmax = l.i32(new Int32Array(r.length));
      l.backend.maxPoolForward({ x: l.t(x), y: l.out(r.length), argmax }, g);
      const dx = l.out(x.length);
      l.backend.maxPoolBackward({ dy: l.t(r), argmax, dx }, g);
      assertGrad(l, 'maxpool dx', await l.read(dx), nx);
    });
  });
}

/** Brute force: the first maximum of each window in row-major order (PyTorch's rule). */
function firstMaxRouting(x: Float64Array, g: PoolGeom): Int32Array {
  const idx = new Int32Array(g.n * g.c * g.ho * g.wo);
  for (let p = 0; p < g.n * g.c; p++)
    for (let oy = 0; oy < g.ho; oy++)
      for (let ox = 0; ox < g.wo; ox++) {
        const cells: number[] = [];
        for (let ky = 0; ky < g.k; ky++)
          for (let kx = 0; kx < g.k; kx++) {
            const iy = oy * g.stride - g.pad + ky,
              ix = ox * g.stride - g.pad + kx;
            if (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w) cells.push(iy * g.w + ix);
          }
        const values = cells.map((q) => x[p * g.h * g.w + q]);
        idx[(p * g.ho + oy) * g.wo + ox] = cells[values.indexOf(Math.max(...values))];
      }
  return idx;
}

test('max pool ties: the first maximum in row-major order wins and takes the whole gradient', async (t) => {
  await onEveryLane(t, lanes, async (l) => {
    const be = l.backend;
    // A constant 5×5 plane: every cell ties. 3×3/2 → 2×2 outputs whose windows start at
    // (0,0) (0,2) (2,0) (2,2), so PyTorch picks flat indices 0, 2, 10, 12; the shared cells
    // (column 2, row 2) must not receive anything beyond what their own window sends.
    const g = poolGeom(1, 1, 5, 5, 3, 2, 0);
    const argmax = l.i32(new Int32Array(4));
    be.maxPoolForward({ x: l.t(new Float64Array(25).fill(1)), y: l.out(4), argmax }, g);
    assert.deepEqual([...(await l.read(argmax))], [0, 2, 10, 12]);
    const dx = l.out(25);
    be.maxPoolBackward({ dy: l.t([1, 10, 100, 1000]), argmax, dx }, g);
    const expected = new Float64Array(25);
    expected[0] = 1;
    expected[2] = 10;
    expected[10] = 100;
    expected[12] = 1000;
    assert.deepEqual(await l.read(dx), expected);

    // Random small integers: many ties inside and across overlapping windows.
    const rng = new Rng(14);
    const gt = poolGeom(2, 3, 9, 10, 3, 2, 1);
    const xt = new Float64Array(gt.n * gt.c * gt.h * gt.w);
    for (let i = 0; i < xt.length; i++) xt[i] = rng.int(3);
    const ny = gt.n * gt.c * gt.ho * gt.wo;
    const at = l.i32(new Int32Array(ny));
    be.maxPoolForward({ x: l.t(xt), y: l.out(ny), argmax: at }, gt);
    const want = firstMaxRouting(xt, gt);
    assert.deepEqual(Int32Array.from(await l.read(at)), want);
    const dyt = randn(rng, ny);
    const dxt = l.out(xt.length);
    be.maxPoolBackward({ dy: l.t(dyt), argmax: at, dx: dxt }, gt);
    const routed = new Float64Array(xt.length);
    for (let o = 0; o < dyt.length; o++) {
      const plane = Math.floor(o / (gt.ho * gt.wo));
      routed[plane * gt.h * gt.w + want[o]] += dyt[o];
    }
    // float32 lanes sum in float32: at most 3 overlapping windows send to one cell
    assertNear(l, 'routed gradient', await l.read(dxt), routed, 0);
  });
});

// ---- average pooling ----------------------------------------------------------------------

for (const [label, g] of [
  ['3×3 / 2 pad 1 (count_include_pad), 7×6', poolGeom(2, 2, 7, 6, 3, 2, 1)],
  ['2×2 / 2, 6×5', poolGeom(1, 3, 6, 5, 2, 2, 0)],
  ['3×3 / 1 pad 1, 4×4', poolGeom(1, 1, 4, 4, 3, 1, 1)],
] as Array<[string, PoolGeom]>) {
  test(`avg pool ${label}: dx matches central differences`, async (t) => {
    const rng = new Rng(15);
    const x = randn(rng, g.n * g.c * g.h * g.w);
    const r = randn(rng, g.n * g.c * g.ho * g.wo);
    const [X, Y] = [oracle.t(x), oracle.out(r.length)];
    const probe = (): number => {
      oracle.backend.avgPoolForward({ x: X, y: Y }, g);
      return dot(storage(Y), r);
    };
    const [nx] = numeric(probe, X);
    await onEveryLane(t, lanes, async (l) => {
      const y = l.out(r.length);
      l.backend.avgPoolForward({ x: l.t(x), y }, g);
      if (g.pad > 0) {
        // The top-left window holds 4 real cells and 5 padding cells; the divisor is still 9.
        const corner = (x[0] + x[1] + x[g.w] + x[g.w + 1]) / 9;
        assertNear(
          l,
          'count_include_pad corner',
          (await l.read(y)).subarray(0, 1),
          [corner],
          1e-15,
        );
      }
      const dx = l.out(x.length);
      l.backend.avgPoolBackward({ dy: l.t(r), dx }, g);
      assertGrad(l, 'avgpool dx', await l.read(dx), nx);
    });
  });
}

// ---- adaptive average pooling -------------------------------------------------------------

for (const [h, w, ho, wo] of [
  [5, 5, 3, 3],
  [13, 13, 6, 6],
  [13, 11, 6, 4],
  [6, 6, 6, 6],
  [4, 7, 1, 1],
]) {
  test(`adaptive avg pool ${h}×${w} → ${ho}×${wo}: dx matches central differences`, async (t) => {
    const rng = new Rng(16);
    const n = 2,
      c = 2;
    const geom = { n, c, h, w, ho, wo };
    const x = randn(rng, n * c * h * w);
    const r = randn(rng, n * c * ho * wo);
    const [X, Y] = [oracle.t(x), oracle.out(r.length)];
    const probe = (): number => {
      oracle.backend.adaptiveAvgPoolForward({ x: X, y: Y }, geom);
      return dot(storage(Y), r);
    };
    const [nx] = numeric(probe, X);
    await onEveryLane(t, lanes, async (l) => {
      const y = l.out(r.length);
      l.backend.adaptiveAvgPoolForward({ x: l.t(x), y }, geom);
      if (h === 5 && w === 5 && ho === 3) {
        // PyTorch's bins for 5 → 3 are [0,2) [1,4) [3,5): the middle output averages rows/cols 1..3.
        let s = 0;
        for (let iy = 1; iy < 4; iy++) for (let ix = 1; ix < 4; ix++) s += x[iy * w + ix];
        assertNear(l, 'centre bin', (await l.read(y)).subarray(4, 5), [s / 9], 1e-15);
      }
      const dx = l.out(x.length);
      l.backend.adaptiveAvgPoolBackward({ dy: l.t(r), dx }, geom);
      assertGrad(l, 'adaptive avgpool dx', await l.read(dx), nx);
    });
  });
}
