// Finite-difference gradient checks for every kernel (pooling: gradcheck-pool.test.ts), through
// the kernel table, on every lane (test/helpers/lanes.ts): the ref backend with float64 storage —
// the tight check, as before — and every backend path in float32 (ref, native at each ISA this
// CPU has, webgpu where it opens). STYLE §4: hit LRN and grouped convolution hardest. Each
// backward is checked through the probe L = Σ forward(·) · r with a random r, whose exact
// gradient is backward(dy = r); the numeric gradient is taken once per case, by central
// differences of the float64 forward (the oracle lane, through the table), at inputs rounded to
// float32 so every lane sees the same point. Where a finite difference is pointless (SGD,
// dropout, which are not gradients of anything) the test checks the exact rule instead.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';

import type { ConvGeom, LrnParams } from '../../src/backend/backend.js';
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
  test(`conv2d ${label}: forward matches the definition, dx/dw/db match central differences`, async (t) => {
    const rng = new Rng(11);
    const x = randn(rng, g.n * g.cIn * g.h * g.w);
    const w = randn(rng, g.cOut * (g.cIn / g.groups) * g.kh * g.kw, 0.5);
    const b = randn(rng, g.cOut);
    const r = randn(rng, g.n * g.cOut * g.ho * g.wo);
    const expected = naiveConv(x, w, b, g);
    const [X, W, B, Y] = [oracle.t(x), oracle.t(w), oracle.t(b), oracle.out(r.length)];
    const probe = (): number => {
      oracle.backend.conv2dForward({ x: X, w: W, b: B, y: Y }, { ...g, relu: false });
      return dot(storage(Y), r);
    };
    const [nx, nw, nb] = numeric(probe, X, W, B);

    await onEveryLane(t, lanes, async (l) => {
      const be = l.backend;
      const [x1, w1, b1, r1] = [l.t(x), l.t(w), l.t(b), l.t(r)];
      const y1 = l.out(r.length),
        yRelu1 = l.out(r.length);
      be.conv2dForward({ x: x1, w: w1, b: b1, y: y1 }, { ...g, relu: false });
      be.conv2dForward({ x: x1, w: w1, b: b1, y: yRelu1 }, { ...g, relu: true });
      const y = await l.read(y1);
      assertNear(l, 'forward vs naive definition', y, expected);
      // relu=true is exactly max(0, ·) of the plain result
      const yRelu = await l.read(yRelu1);
      for (let i = 0; i < y.length; i++) assert.equal(yRelu[i], Math.max(0, y[i]), `relu at ${i}`);

      // Outputs pre-filled with NaN: backward must overwrite, not accumulate.
      const [dx, dw, db] = [l.out(x.length), l.out(w.length), l.out(b.length)];
      be.conv2dBackward({ x: x1, w: w1, dy: r1, dx, dw, db }, g);
      assertGrad(l, 'conv dx', await l.read(dx), nx);
      const dwv = await l.read(dw);
      assertGrad(l, 'conv dw', dwv, nw);
      assertGrad(l, 'conv db', await l.read(db), nb);

      // null outputs are skipped, and the others are unchanged by that
      const dw2 = l.out(w.length);
      be.conv2dBackward({ x: x1, w: w1, dy: r1, dx: null, dw: dw2, db: null }, g);
      assert.deepEqual(await l.read(dw2), dwv);
    });
  });
}

// ---- fully connected ------------------------------------------------------------------------

test('linear: dx/dw/db match central differences; relu flag clamps', async (t) => {
  const rng = new Rng(12);
  const n = 3,
    d = 7,
    f = 5;
  const x = randn(rng, n * d),
    w = randn(rng, f * d),
    b = randn(rng, f),
    r = randn(rng, n * f);
  const want = new Float64Array(n * f); // the definition
  for (let i = 0; i < n; i++)
    for (let o = 0; o < f; o++) {
      let s = b[o];
      for (let k = 0; k < d; k++) s += x[i * d + k] * w[o * d + k];
      want[i * f + o] = s;
    }
  const [X, W, B, Y] = [oracle.t(x), oracle.t(w), oracle.t(b), oracle.out(n * f)];
  const probe = (): number => {
    oracle.backend.linearForward({ x: X, w: W, b: B, y: Y }, { n, d, f, relu: false });
    return dot(storage(Y), r);
  };
  const [nx, nw, nb] = numeric(probe, X, W, B);

  await onEveryLane(t, lanes, async (l) => {
    const be = l.backend;
    const [x1, w1, b1, r1] = [l.t(x), l.t(w), l.t(b), l.t(r)];
    const y1 = l.out(n * f),
      yRelu1 = l.out(n * f);
    be.linearForward({ x: x1, w: w1, b: b1, y: y1 }, { n, d, f, relu: false });
    be.linearForward({ x: x1, w: w1, b: b1, y: yRelu1 }, { n, d, f, relu: true });
    const y = await l.read(y1);
    assertNear(l, 'linear forward vs definition', y, want);
    const yRelu = await l.read(yRelu1);
    for (let i = 0; i < y.length; i++) assert.equal(yRelu[i], Math.max(0, y[i]));

    const [dx, dw, db] = [l.out(x.length), l.out(w.length), l.out(b.length)];
    be.linearBackward({ x: x1, w: w1, dy: r1, dx, dw, db }, { n, d, f });
    assertGrad(l, 'linear dx', await l.read(dx), nx);
    assertGrad(l, 'linear dw', await l.read(dw), nw);
    assertGrad(l, 'linear db', await l.read(db), nb);
  });
});

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
  test(`LRN ${label}: forward matches the formula, dx matches central differences`, async (t) => {
    const p: LrnParams = { n: 2, c: 7, h: 3, w: 2, ...params };
    const rng = new Rng(17);
    const len = p.n * p.c * p.h * p.w;
    const x = randn(rng, len, std);
    const r = randn(rng, len);

    // The formula, written out for every element, independently of the kernel's loops.
    const s = p.alphaScaling === 'per-size' ? p.alpha / p.size : p.alpha;
    const plane = p.h * p.w;
    const wantY = new Float64Array(len),
      wantScale = new Float64Array(len);
    for (let n = 0; n < p.n; n++)
      for (let i = 0; i < p.c; i++)
        for (let q = 0; q < plane; q++) {
          let sum = 0;
          for (let j = 0; j < p.c; j++) {
            if (Math.abs(j - i) <= Math.floor(p.size / 2)) sum += x[(n * p.c + j) * plane + q] ** 2;
          }
          const at = (n * p.c + i) * plane + q;
          wantScale[at] = p.k + s * sum;
          wantY[at] = x[at] / (p.k + s * sum) ** p.beta;
        }

    const [X, Y] = [oracle.t(x), oracle.out(len)];
    const probe = (): number => {
      oracle.backend.lrnForward({ x: X, y: Y, scale: null }, p);
      return dot(storage(Y), r);
    };
    const [nx] = numeric(probe, X);
    await onEveryLane(t, lanes, async (l) => {
      const [x1, y1, sc1] = [l.t(x), l.out(len), l.out(len)];
      l.backend.lrnForward({ x: x1, y: y1, scale: sc1 }, p);
      assertNear(l, 'LRN forward vs formula', await l.read(y1), wantY);
      assertNear(l, 'LRN scale vs formula', await l.read(sc1), wantScale);
      const dx = l.out(len);
      l.backend.lrnBackward({ x: x1, y: y1, scale: sc1, dy: l.t(r), dx }, p);
      assertGrad(l, 'lrn dx', await l.read(dx), nx);
    });
  });
}

test('LRN: absolute α equals per-size α·size, and the two conventions differ', async (t) => {
  const rng = new Rng(18);
  const base = { n: 1, c: 6, h: 2, w: 2, size: 5, beta: 0.75, k: 2 };
  const x = randn(rng, 24, 3);
  await onEveryLane(t, lanes, async (l) => {
    const run = async (alpha: number, alphaScaling: 'absolute' | 'per-size') => {
      const y = l.out(24);
      l.backend.lrnForward({ x: l.t(x), y, scale: null }, { ...base, alpha, alphaScaling });
      return l.read(y);
    };
    const a = await run(0.1, 'absolute'),
      b = await run(0.5, 'per-size'),
      c = await run(0.1, 'per-size');
    let diff = 0;
    for (let i = 0; i < 24; i++) diff = Math.max(diff, Math.abs(a[i] - c[i]));
    assertNear(l, 'absolute(0.1) vs per-size(0.5)', a, b, 1e-15);
    assert.ok(
      diff > 1e-3,
      `absolute and per-size with the same α should differ (max diff ${diff})`,
    );
  });
});

// ---- activations --------------------------------------------------------------------------

for (const kind of ['relu', 'tanh', 'sigmoid'] as const) {
  test(`${kind}: backward from the output matches central differences; in place works`, async (t) => {
    const rng = new Rng(19);
    const x = randn(rng, 60, 2);
    for (let i = 0; i < x.length; i++) if (Math.abs(x[i]) < 1e-3) x[i] = 0.5; // away from relu's kink
    const r = randn(rng, 60);
    const [X, Y] = [oracle.t(x), oracle.out(60)];
    const probe = (): number => {
      oracle.backend.activationForward({ x: X, y: Y }, { kind });
      return dot(storage(Y), r);
    };
    const [nx] = numeric(probe, X);
    await onEveryLane(t, lanes, async (l) => {
      const be = l.backend;
      const y1 = l.out(60);
      be.activationForward({ x: l.t(x), y: y1 }, { kind });
      const dx1 = l.out(60);
      be.activationBackward({ y: y1, dy: l.t(r), dx: dx1 }, { kind });
      const dx = await l.read(dx1);
      assertGrad(l, `${kind} dx`, dx, nx);

      // y may be x, dx may be dy
      const inPlace = l.t(x);
      be.activationForward({ x: inPlace, y: inPlace }, { kind });
      assert.deepEqual(await l.read(inPlace), await l.read(y1));
      const dyInPlace = l.t(r);
      be.activationBackward({ y: y1, dy: dyInPlace, dx: dyInPlace }, { kind });
      assert.deepEqual(await l.read(dyInPlace), dx);
    });
  });
}

// ---- softmax cross-entropy ----------------------------------------------------------------

for (const smoothing of [0, 0.1, 0.5]) {
  test(`softmax cross-entropy, smoothing ${smoothing}: loss value and dlogits`, async (t) => {
    const rng = new Rng(20);
    const n = 4,
      l = 6;
    const logits = randn(rng, n * l, 3);
    logits[5] += 800; // a huge logit must not overflow
    const labels = Int32Array.from([0, 5, 2, 5]);
    const attrs = { n, l, smoothing };

    // The definition, row by row, with a naive log-sum-exp (shifted by the max like the kernel).
    let want = 0;
    for (let i = 0; i < n; i++) {
      const row = Array.from(logits.subarray(i * l, (i + 1) * l));
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((s, z) => s + Math.exp(z - m), 0));
      for (let j = 0; j < l; j++) {
        const q = (j === labels[i] ? 1 - smoothing : 0) + smoothing / l;
        want -= (q * (row[j] - lse)) / n;
      }
    }
    const [Z, P, L] = [oracle.t(logits), oracle.out(n * l), oracle.out(1)];
    const lab = oracle.i32(labels);
    const probe = (): number => {
      oracle.backend.softmaxCrossEntropy(
        { logits: Z, labels: lab, probs: P, dlogits: null, loss: L },
        attrs,
      );
      return storage(L)[0];
    };
    const [nz] = numeric(probe, Z);

    await onEveryLane(t, lanes, async (ln) => {
      const [probs, dlogits, loss] = [ln.out(n * l), ln.out(n * l), ln.out(1)];
      ln.backend.softmaxCrossEntropy(
        { logits: ln.t(logits), labels: ln.i32(labels), probs, dlogits, loss },
        attrs,
      );
      const p = await ln.read(probs);
      for (let i = 0; i < n; i++) {
        let probSum = 0;
        for (let j = 0; j < l; j++) probSum += p[i * l + j];
        assertNear(ln, `row ${i} probabilities sum`, Float64Array.of(probSum), [1]);
      }
      const got = (await ln.read(loss))[0];
      assert.ok(Number.isFinite(got), `loss ${got}`);
      assertNear(
        ln,
        `loss ${got} vs definition ${want}`,
        Float64Array.of(got),
        [want],
        1e-12 * Math.max(1, Math.abs(want)),
      );
      assertGrad(ln, 'softmax CE dlogits', await ln.read(dlogits), nz);
    });
  });
}

// ---- SGD and dropout: exact rules -----------------------------------------------------------

test('sgdUpdate follows the paper exactly: v ← m·v − wd·lr·w − lr·g ; w ← w + v', async (t) => {
  await onEveryLane(t, lanes, async (l) => {
    // Dyadic numbers, so every product and sum is exact in float32 and the comparison can be ===.
    const w = l.t([2, -1, 0.5, 0]);
    const v = l.t([4, 0, -0.5, 1]);
    // v' = 0.5·v − 0.125·w − 0.5·g
    const vWant = [2 - 0.25 - 0.5, 0 + 0.125 - 0.125, -0.25 - 0.0625 + 1, 0.5 - 0 - 2];
    const wWant = [2 + vWant[0], -1 + vWant[1], 0.5 + vWant[2], 0 + vWant[3]];
    l.backend.sgdUpdate(
      { w, g: l.t([1, 0.25, -2, 4]), v, w16: null },
      { lr: 0.5, momentum: 0.5, weightDecay: 0.25 },
    );
    assert.deepEqual([...(await l.read(v))], vWant);
    assert.deepEqual([...(await l.read(w))], wWant);

    // The recipe's constants over several steps, against the rule evaluated in float64.
    const rng = new Rng(21);
    const w0 = randn(rng, 50, 0.01);
    const w32 = l.t(w0),
      v32 = l.t(new Float64Array(50));
    const w64 = Float64Array.from(w0),
      v64 = new Float64Array(50);
    for (let step = 0; step < 5; step++) {
      const grad = randn(rng, 50);
      l.backend.sgdUpdate(
        { w: w32, g: l.t(grad), v: v32, w16: null },
        { lr: 0.01, momentum: 0.9, weightDecay: 5e-4 },
      );
      for (let i = 0; i < 50; i++) {
        v64[i] = 0.9 * v64[i] - 5e-4 * 0.01 * w64[i] - 0.01 * grad[i];
        w64[i] += v64[i];
      }
    }
    const got = await l.read(w32);
    let maxErr = 0;
    for (let i = 0; i < 50; i++) maxErr = Math.max(maxErr, Math.abs(got[i] - w64[i]));
    // ref rounds each operation as written; the other backends fuse multiply-adds and group the
    // terms their own way: a few ulps of |w| ≈ 0.05 (native measured 1.5e-8).
    const bound = l.backend === oracle.backend ? 1e-8 : 4e-8;
    assert.ok(maxErr <= bound, `5 steps vs float64 rule: max abs err ${maxErr} > ${bound}`);
  });
});

test('dropoutApply multiplies by mask·scale exactly (also in place), scale() by the factor', async (t) => {
  await onEveryLane(t, lanes, async (l) => {
    const xs = [1.5, -2, 3, 0.25, -0.5];
    const mask = l.u8([1, 0, 1, 1, 0]);
    const y = l.out(5);
    l.backend.dropoutApply({ x: l.t(xs), mask, y }, { scale: 2 });
    // Dropped entries are the literal product x·0, so a negative x gives −0 (as in PyTorch).
    const yv = await l.read(y);
    assert.deepEqual([...yv], [3, -0, 6, 0.5, -0]);
    const inPlace = l.t(xs);
    l.backend.dropoutApply({ x: inPlace, mask, y: inPlace }, { scale: 2 });
    assert.deepEqual(await l.read(inPlace), yv);

    const z = l.out(5);
    l.backend.scale({ x: l.t(xs), y: z }, { scale: 0.5 });
    const zv = await l.read(z);
    assert.deepEqual([...zv], [0.75, -1, 1.5, 0.125, -0.25]);
    const x = l.t(xs);
    l.backend.scale({ x, y: x }, { scale: 0.5 });
    assert.deepEqual(await l.read(x), zv);
  });
});
