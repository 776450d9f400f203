// Finite-difference gradient checks for every reference kernel, in float64 on small shapes
// (STYLE §4: hit LRN and grouped convolution hardest). Each backward is checked through the probe
// L = Σ forward(·) · r with a random r, whose exact gradient is backward(dy = r).
// Where a finite difference is ill-defined (max-pool ties) or pointless (SGD, dropout, which are
// not gradients of anything) the test checks the exact expected values instead.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import type { ConvGeom, LrnParams, PoolGeom } from '../../src/backend/backend.js';
import { convOutputSize } from '../../src/backend/backend.js';
import { conv2dBackward, conv2dForward } from '../../src/backend/ref/conv.js';
import {
  activationBackward,
  activationForward,
  dropoutApply,
  scale,
} from '../../src/backend/ref/elementwise.js';
import { linearBackward, linearForward } from '../../src/backend/ref/linear.js';
import { softmaxCrossEntropy } from '../../src/backend/ref/loss.js';
import { lrnBackward, lrnForward } from '../../src/backend/ref/lrn.js';
import {
  adaptiveAvgPoolBackward,
  adaptiveAvgPoolForward,
  avgPoolBackward,
  avgPoolForward,
  maxPoolBackward,
  maxPoolForward,
} from '../../src/backend/ref/pool.js';
import { sgdUpdate } from '../../src/backend/ref/sgd.js';
import { Rng } from '../../src/util/rng.js';
import { type GradTolerance, dot, gradcheck } from '../helpers/gradcheck.js';

// float64 central differences (ε = 1e-6) agree with a correct backward to ~1e-9 relative;
// anything past this tolerance is a bug, not noise.
const TOL: GradTolerance = { atol: 1e-7, rtol: 1e-5 };

function randn(rng: Rng, len: number, std = 1): Float64Array {
  const a = new Float64Array(len);
  for (let i = 0; i < len; i++) a[i] = rng.normal(0, std);
  return a;
}

function assertGrad(
  name: string,
  f: () => number,
  x: Float64Array,
  analytic: Float64Array,
  tol = TOL,
): void {
  const r = gradcheck(name, f, x, analytic, tol);
  assert.ok(r.ok, r.message);
}

// ---- convolution ---------------------------------------------------------------------------

function convGeom(
  n: number,
  cIn: number,
  h: number,
  w: number,
  cOut: number,
  kh: number,
  kw: number,
  stride: number,
  pad: number,
  groups: number,
): ConvGeom {
  return {
    n,
    cIn,
    h,
    w,
    cOut,
    kh,
    kw,
    stride,
    pad,
    groups,
    ho: convOutputSize(h, kh, stride, pad),
    wo: convOutputSize(w, kw, stride, pad),
  };
}

const CONV_CASES: Array<[string, ConvGeom]> = [
  ['groups=2 stride 2 pad 1, odd 7×5', convGeom(2, 4, 7, 5, 6, 3, 3, 2, 1, 2)],
  ['groups=2 stride 1 pad 2, 5×5 kernel (conv2-like)', convGeom(1, 4, 6, 7, 4, 5, 5, 1, 2, 2)],
  [
    'groups=1 stride 4 no pad, 11×11 kernel (conv1-like)',
    convGeom(1, 3, 19, 17, 2, 11, 11, 4, 0, 1),
  ],
  ['groups=1 stride 1 pad 1, non-square 3×2 kernel', convGeom(2, 3, 5, 6, 3, 3, 2, 1, 1, 1)],
  ['groups=3 stride 3 pad 2, kernel larger than stride', convGeom(1, 6, 8, 8, 3, 4, 4, 3, 2, 3)],
];

/** The definition, one output at a time, with no hoisting at all: checks the forward itself. */
function naiveConv(x: Float64Array, w: Float64Array, b: Float64Array, g: ConvGeom): Float64Array {
  const y = new Float64Array(g.n * g.cOut * g.ho * g.wo);
  const cig = g.cIn / g.groups;
  const cog = g.cOut / g.groups;
  for (let n = 0; n < g.n; n++)
    for (let co = 0; co < g.cOut; co++) {
      for (let oy = 0; oy < g.ho; oy++)
        for (let ox = 0; ox < g.wo; ox++) {
          let s = b[co];
          for (let cl = 0; cl < cig; cl++)
            for (let ky = 0; ky < g.kh; ky++)
              for (let kx = 0; kx < g.kw; kx++) {
                const iy = oy * g.stride - g.pad + ky;
                const ix = ox * g.stride - g.pad + kx;
                if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
                const ci = Math.floor(co / cog) * cig + cl;
                s +=
                  w[((co * cig + cl) * g.kh + ky) * g.kw + kx] *
                  x[((n * g.cIn + ci) * g.h + iy) * g.w + ix];
              }
          y[((n * g.cOut + co) * g.ho + oy) * g.wo + ox] = s;
        }
    }
  return y;
}

for (const [label, g] of CONV_CASES) {
  test(`conv2d ${label}: forward matches the definition, dx/dw/db match central differences`, () => {
    const rng = new Rng(11);
    const x = randn(rng, g.n * g.cIn * g.h * g.w);
    const w = randn(rng, g.cOut * (g.cIn / g.groups) * g.kh * g.kw, 0.5);
    const b = randn(rng, g.cOut);
    const r = randn(rng, g.n * g.cOut * g.ho * g.wo);
    const y = new Float64Array(r.length);

    conv2dForward(x, w, b, y, g, false);
    const expected = naiveConv(x, w, b, g);
    let maxErr = 0;
    for (let i = 0; i < y.length; i++) maxErr = Math.max(maxErr, Math.abs(y[i] - expected[i]));
    assert.ok(maxErr <= 1e-12, `forward vs naive definition: max abs err ${maxErr}`);

    // relu=true is exactly max(0, ·) of the plain result
    const yRelu = new Float64Array(y.length);
    conv2dForward(x, w, b, yRelu, g, true);
    for (let i = 0; i < y.length; i++) assert.equal(yRelu[i], Math.max(0, y[i]), `relu at ${i}`);

    // Outputs pre-filled with NaN: backward must overwrite, not accumulate.
    const dx = new Float64Array(x.length).fill(NaN);
    const dw = new Float64Array(w.length).fill(NaN);
    const db = new Float64Array(b.length).fill(NaN);
    conv2dBackward(x, w, r, dx, dw, db, g);

    const probe = (): number => {
      conv2dForward(x, w, b, y, g, false);
      return dot(y, r);
    };
    assertGrad('conv dx', probe, x, dx);
    assertGrad('conv dw', probe, w, dw);
    assertGrad('conv db', probe, b, db);

    // null outputs are skipped, and the others are unchanged by that
    const dw2 = new Float64Array(w.length);
    conv2dBackward(x, w, r, null, dw2, null, g);
    assert.deepEqual(dw2, dw);
  });
}

// ---- fully connected ------------------------------------------------------------------------

test('linear: dx/dw/db match central differences; relu flag clamps', () => {
  const rng = new Rng(12);
  const n = 3,
    d = 7,
    f = 5;
  const x = randn(rng, n * d),
    w = randn(rng, f * d),
    b = randn(rng, f),
    r = randn(rng, n * f);
  const y = new Float64Array(n * f);
  const probe = (): number => {
    linearForward(x, w, b, y, n, d, f, false);
    return dot(y, r);
  };
  probe();
  // forward against the definition
  for (let i = 0; i < n; i++)
    for (let o = 0; o < f; o++) {
      let s = b[o];
      for (let k = 0; k < d; k++) s += x[i * d + k] * w[o * d + k];
      assert.ok(
        Math.abs(y[i * f + o] - s) <= 1e-12,
        `y[${i},${o}] = ${y[i * f + o]}, expected ${s}`,
      );
    }
  const yRelu = new Float64Array(n * f);
  linearForward(x, w, b, yRelu, n, d, f, true);
  for (let i = 0; i < y.length; i++) assert.equal(yRelu[i], Math.max(0, y[i]));

  const dx = new Float64Array(x.length).fill(NaN);
  const dw = new Float64Array(w.length).fill(NaN);
  const db = new Float64Array(b.length).fill(NaN);
  linearBackward(x, w, r, dx, dw, db, n, d, f);
  assertGrad('linear dx', probe, x, dx);
  assertGrad('linear dw', probe, w, dw);
  assertGrad('linear db', probe, b, db);
});

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
  test(`max pool ${label}: dx matches central differences (distinct inputs)`, () => {
    const rng = new Rng(13);
    const x = randn(rng, g.n * g.c * g.h * g.w); // continuous draws: no ties, no near-ties at ε
    const r = randn(rng, g.n * g.c * g.ho * g.wo);
    const y = new Float64Array(r.length);
    const argmax = new Int32Array(r.length);
    const probe = (): number => {
      maxPoolForward(x, y, argmax, g);
      return dot(y, r);
    };
    probe();
    const dx = new Float64Array(x.length).fill(NaN);
    maxPoolBackward(r, argmax, dx, g);
    assertGrad('maxpool dx', probe, x, dx);
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

test('max pool ties: the first maximum in row-major order wins and takes the whole gradient', () => {
  // A constant 5×5 plane: every cell ties. 3×3/2 → 2×2 outputs whose windows start at
  // (0,0) (0,2) (2,0) (2,2), so PyTorch picks flat indices 0, 2, 10, 12; the shared cells
  // (column 2, row 2) must not receive anything beyond what their own window sends.
  const g = poolGeom(1, 1, 5, 5, 3, 2, 0);
  const x = new Float64Array(25).fill(1);
  const y = new Float64Array(4);
  const argmax = new Int32Array(4);
  maxPoolForward(x, y, argmax, g);
  assert.deepEqual([...argmax], [0, 2, 10, 12]);
  const dy = Float64Array.from([1, 10, 100, 1000]);
  const dx = new Float64Array(25).fill(NaN);
  maxPoolBackward(dy, argmax, dx, g);
  const expected = new Float64Array(25);
  expected[0] = 1;
  expected[2] = 10;
  expected[10] = 100;
  expected[12] = 1000;
  assert.deepEqual(dx, expected);

  // Random small integers: many ties inside and across overlapping windows.
  const rng = new Rng(14);
  const gt = poolGeom(2, 3, 9, 10, 3, 2, 1);
  const xt = new Float64Array(gt.n * gt.c * gt.h * gt.w);
  for (let i = 0; i < xt.length; i++) xt[i] = rng.int(3);
  const yt = new Float64Array(gt.n * gt.c * gt.ho * gt.wo);
  const at = new Int32Array(yt.length);
  maxPoolForward(xt, yt, at, gt);
  assert.deepEqual(at, firstMaxRouting(xt, gt));
  const dyt = randn(rng, yt.length);
  const dxt = new Float64Array(xt.length).fill(NaN);
  maxPoolBackward(dyt, at, dxt, gt);
  const routed = new Float64Array(xt.length);
  const want = firstMaxRouting(xt, gt);
  for (let o = 0; o < dyt.length; o++) {
    const plane = Math.floor(o / (gt.ho * gt.wo));
    routed[plane * gt.h * gt.w + want[o]] += dyt[o];
  }
  assert.deepEqual(dxt, routed);
});

// ---- average pooling ----------------------------------------------------------------------

for (const [label, g] of [
  ['3×3 / 2 pad 1 (count_include_pad), 7×6', poolGeom(2, 2, 7, 6, 3, 2, 1)],
  ['2×2 / 2, 6×5', poolGeom(1, 3, 6, 5, 2, 2, 0)],
  ['3×3 / 1 pad 1, 4×4', poolGeom(1, 1, 4, 4, 3, 1, 1)],
] as Array<[string, PoolGeom]>) {
  test(`avg pool ${label}: dx matches central differences`, () => {
    const rng = new Rng(15);
    const x = randn(rng, g.n * g.c * g.h * g.w);
    const r = randn(rng, g.n * g.c * g.ho * g.wo);
    const y = new Float64Array(r.length);
    const probe = (): number => {
      avgPoolForward(x, y, g);
      return dot(y, r);
    };
    probe();
    if (g.pad > 0) {
      // The top-left window holds 4 real cells and 5 padding cells; the divisor is still 9.
      const corner = (x[0] + x[1] + x[g.w] + x[g.w + 1]) / 9;
      assert.ok(Math.abs(y[0] - corner) <= 1e-15, `corner ${y[0]} vs count_include_pad ${corner}`);
    }
    const dx = new Float64Array(x.length).fill(NaN);
    avgPoolBackward(r, dx, g);
    assertGrad('avgpool dx', probe, x, dx);
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
  test(`adaptive avg pool ${h}×${w} → ${ho}×${wo}: dx matches central differences`, () => {
    const rng = new Rng(16);
    const n = 2,
      c = 2;
    const x = randn(rng, n * c * h * w);
    const r = randn(rng, n * c * ho * wo);
    const y = new Float64Array(r.length);
    const probe = (): number => {
      adaptiveAvgPoolForward(x, y, n, c, h, w, ho, wo);
      return dot(y, r);
    };
    probe();
    if (h === 5 && w === 5 && ho === 3) {
      // PyTorch's bins for 5 → 3 are [0,2) [1,4) [3,5): the middle output averages rows/cols 1..3.
      let s = 0;
      for (let iy = 1; iy < 4; iy++) for (let ix = 1; ix < 4; ix++) s += x[iy * w + ix];
      assert.ok(Math.abs(y[1 * wo + 1] - s / 9) <= 1e-15, `centre bin ${y[4]} vs ${s / 9}`);
    }
    const dx = new Float64Array(x.length).fill(NaN);
    adaptiveAvgPoolBackward(r, dx, n, c, h, w, ho, wo);
    assertGrad('adaptive avgpool dx', probe, x, dx);
  });
}

// ---- local response normalisation --------------------------------------------------------

const LRN_CASES: Array<[string, Omit<LrnParams, 'n' | 'c' | 'h' | 'w'>, number]> = [
  [
    'paper n=5 k=2 α=1e-4 β=0.75, per-size',
    { size: 5, alpha: 1e-4, beta: 0.75, k: 2, alphaScaling: 'per-size' },
    1,
  ],
  [
    'paper n=5 k=2 α=1e-4 β=0.75, absolute',
    { size: 5, alpha: 1e-4, beta: 0.75, k: 2, alphaScaling: 'absolute' },
    1,
  ],
  // Inputs of size ~10 with α=1e-4 make s·Σa² ≈ 0.1·k, so the cross-channel term matters too.
  [
    'paper constants, large inputs, per-size',
    { size: 5, alpha: 1e-4, beta: 0.75, k: 2, alphaScaling: 'per-size' },
    10,
  ],
  [
    'α=0.5 (normalisation dominates), per-size',
    { size: 5, alpha: 0.5, beta: 0.75, k: 2, alphaScaling: 'per-size' },
    1,
  ],
  [
    'α=0.5 (normalisation dominates), absolute',
    { size: 5, alpha: 0.5, beta: 0.75, k: 2, alphaScaling: 'absolute' },
    1,
  ],
  [
    'size=3 k=1 β=0.5 α=0.3, absolute',
    { size: 3, alpha: 0.3, beta: 0.5, k: 1, alphaScaling: 'absolute' },
    1,
  ],
];

for (const [label, params, std] of LRN_CASES) {
  test(`LRN ${label}: forward matches the formula, dx matches central differences`, () => {
    const p: LrnParams = { n: 2, c: 7, h: 3, w: 2, ...params };
    const rng = new Rng(17);
    const len = p.n * p.c * p.h * p.w;
    const x = randn(rng, len, std);
    const r = randn(rng, len);
    const y = new Float64Array(len);
    const sc = new Float64Array(len);
    const probe = (): number => {
      lrnForward(x, y, sc, p);
      return dot(y, r);
    };
    probe();

    // The formula, written out for every element, independently of the kernel's loops.
    const s = p.alphaScaling === 'per-size' ? p.alpha / p.size : p.alpha;
    const plane = p.h * p.w;
    let maxErr = 0;
    for (let n = 0; n < p.n; n++)
      for (let i = 0; i < p.c; i++)
        for (let q = 0; q < plane; q++) {
          let sum = 0;
          for (let j = 0; j < p.c; j++) {
            if (Math.abs(j - i) <= Math.floor(p.size / 2)) sum += x[(n * p.c + j) * plane + q] ** 2;
          }
          const at = (n * p.c + i) * plane + q;
          const want = x[at] / (p.k + s * sum) ** p.beta;
          maxErr = Math.max(maxErr, Math.abs(y[at] - want), Math.abs(sc[at] - (p.k + s * sum)));
        }
    assert.ok(maxErr <= 1e-12, `LRN forward vs formula: max abs err ${maxErr}`);

    const dx = new Float64Array(len).fill(NaN);
    lrnBackward(x, y, sc, r, dx, p);
    assertGrad('lrn dx', probe, x, dx);
  });
}

test('LRN: absolute α equals per-size α·size, and the two conventions differ', () => {
  const rng = new Rng(18);
  const base = { n: 1, c: 6, h: 2, w: 2, size: 5, beta: 0.75, k: 2 };
  const x = randn(rng, 24, 3);
  const a = new Float64Array(24),
    b = new Float64Array(24),
    c = new Float64Array(24);
  lrnForward(x, a, null, { ...base, alpha: 0.1, alphaScaling: 'absolute' });
  lrnForward(x, b, null, { ...base, alpha: 0.5, alphaScaling: 'per-size' });
  lrnForward(x, c, null, { ...base, alpha: 0.1, alphaScaling: 'per-size' });
  let same = 0,
    diff = 0;
  for (let i = 0; i < 24; i++) {
    same = Math.max(same, Math.abs(a[i] - b[i]));
    diff = Math.max(diff, Math.abs(a[i] - c[i]));
  }
  assert.ok(same <= 1e-15, `absolute(0.1) vs per-size(0.5): max abs err ${same}`);
  assert.ok(diff > 1e-3, `absolute and per-size with the same α should differ (max diff ${diff})`);
});

// ---- activations --------------------------------------------------------------------------

for (const kind of ['relu', 'tanh', 'sigmoid'] as const) {
  test(`${kind}: backward from the output matches central differences; in place works`, () => {
    const rng = new Rng(19);
    const x = randn(rng, 60, 2);
    for (let i = 0; i < x.length; i++) if (Math.abs(x[i]) < 1e-3) x[i] = 0.5; // away from relu's kink
    const r = randn(rng, 60);
    const y = new Float64Array(60);
    const probe = (): number => {
      activationForward(kind, x, y);
      return dot(y, r);
    };
    probe();
    const dx = new Float64Array(60).fill(NaN);
    activationBackward(kind, y, r, dx);
    assertGrad(`${kind} dx`, probe, x, dx);
    probe(); // the checker's last call left y at a perturbed x

    // y may be x, dx may be dy
    const inPlace = Float64Array.from(x);
    activationForward(kind, inPlace, inPlace);
    assert.deepEqual(inPlace, y);
    const dyInPlace = Float64Array.from(r);
    activationBackward(kind, y, dyInPlace, dyInPlace);
    assert.deepEqual(dyInPlace, dx);
  });
}

// ---- softmax cross-entropy ----------------------------------------------------------------

for (const smoothing of [0, 0.1, 0.5]) {
  test(`softmax cross-entropy, smoothing ${smoothing}: loss value and dlogits`, () => {
    const rng = new Rng(20);
    const n = 4,
      l = 6;
    const logits = randn(rng, n * l, 3);
    logits[5] += 800; // a huge logit must not overflow
    const labels = Int32Array.from([0, 5, 2, 5]);
    const probs = new Float64Array(n * l);
    const dlogits = new Float64Array(n * l).fill(NaN);
    const loss = softmaxCrossEntropy(logits, labels, n, l, smoothing, probs, dlogits);

    // The definition, row by row, with a naive log-sum-exp (shifted by the max like the kernel).
    let want = 0;
    for (let i = 0; i < n; i++) {
      const row = Array.from(logits.subarray(i * l, (i + 1) * l));
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((s, z) => s + Math.exp(z - m), 0));
      let probSum = 0;
      for (let j = 0; j < l; j++) {
        const q = (j === labels[i] ? 1 - smoothing : 0) + smoothing / l;
        want -= (q * (row[j] - lse)) / n;
        probSum += probs[i * l + j];
      }
      assert.ok(Math.abs(probSum - 1) <= 1e-12, `row ${i} probabilities sum to ${probSum}`);
    }
    assert.ok(
      Number.isFinite(loss) && Math.abs(loss - want) <= 1e-12 * Math.max(1, Math.abs(want)),
      `loss ${loss} vs definition ${want}`,
    );

    const probe = (): number => softmaxCrossEntropy(logits, labels, n, l, smoothing, probs, null);
    assertGrad('softmax CE dlogits', probe, logits, dlogits);
  });
}

// ---- SGD and dropout: exact rules -----------------------------------------------------------

test('sgdUpdate follows the paper exactly: v ← m·v − wd·lr·w − lr·g ; w ← w + v', () => {
  // Dyadic numbers, so every product and sum is exact in float32 and the comparison can be ===.
  const w = Float32Array.from([2, -1, 0.5, 0]);
  const g = Float32Array.from([1, 0.25, -2, 4]);
  const v = Float32Array.from([4, 0, -0.5, 1]);
  const lr = 0.5,
    momentum = 0.5,
    wd = 0.25;
  // v' = 0.5·v − 0.125·w − 0.5·g
  const vWant = [2 - 0.25 - 0.5, 0 + 0.125 - 0.125, -0.25 - 0.0625 + 1, 0.5 - 0 - 2];
  const wWant = [2 + vWant[0], -1 + vWant[1], 0.5 + vWant[2], 0 + vWant[3]];
  sgdUpdate(w, g, v, lr, momentum, wd);
  assert.deepEqual([...v], vWant);
  assert.deepEqual([...w], wWant);

  // The recipe's constants over several steps, against the rule evaluated in float64.
  const rng = new Rng(21);
  const w32 = Float32Array.from(randn(rng, 50, 0.01)),
    v32 = new Float32Array(50);
  const w64 = Float64Array.from(w32),
    v64 = new Float64Array(50);
  for (let step = 0; step < 5; step++) {
    const grad = randn(rng, 50);
    sgdUpdate(w32, Float32Array.from(grad), v32, 0.01, 0.9, 5e-4);
    for (let i = 0; i < 50; i++) {
      v64[i] = 0.9 * v64[i] - 5e-4 * 0.01 * w64[i] - 0.01 * Math.fround(grad[i]);
      w64[i] += v64[i];
    }
  }
  let maxErr = 0;
  for (let i = 0; i < 50; i++) maxErr = Math.max(maxErr, Math.abs(w32[i] - w64[i]));
  assert.ok(maxErr <= 1e-8, `5 float32 steps vs float64 rule: max abs err ${maxErr}`);
});

test('dropoutApply multiplies by mask·scale exactly (also in place), scale() by the factor', () => {
  const x = Float32Array.from([1.5, -2, 3, 0.25, -0.5]);
  const mask = Uint8Array.from([1, 0, 1, 1, 0]);
  const y = new Float32Array(5).fill(NaN);
  dropoutApply(x, mask, 2, y);
  // Dropped entries are the literal product x·0, so a negative x gives −0 (as in PyTorch).
  assert.deepEqual([...y], [3, -0, 6, 0.5, -0]);
  const inPlace = Float32Array.from(x);
  dropoutApply(inPlace, mask, 2, inPlace);
  assert.deepEqual(inPlace, y);

  const z = new Float32Array(5);
  scale(x, 0.5, z);
  assert.deepEqual([...z], [0.75, -1, 1.5, 0.125, -0.25]);
  scale(x, 0.5, x);
  assert.deepEqual(x, z);
});
