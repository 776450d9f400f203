// The native backend against the reference (the oracle), kernel by kernel, over many shapes:
// odd sizes, groups 1 and 2, strides 1/2/4, padding, kernels 11/5/3/1, batch 1 and 5, at 1 and
// 2 threads, and on every instruction-set path this CPU has (amx, avx512bf16, avx512, avx2, scalar — switched in
// process with the binding's setIsa).
//
// Tolerance: |native − ref| ≤ tol·(1 + |ref|) per element, tol = 1e-6·(8 + √R) where R is the
// length of the longest reduction behind an output (a float32 sum of R terms of size ~1 drifts
// by ~√R ulps when the order changes: GEMM blocking reorders the sums). Elementwise kernels,
// pools and the argmax must match to 1e-6 (pools and argmax exactly).
//
// With CI=true the addon is REQUIRED; elsewhere the suite skips with a message if it did not build.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  convOutputSize,
  type ConvGeom,
  type LrnParams,
  type PoolGeom,
} from '../../src/backend/backend.js';
import { refBackend } from '../../src/backend/ref/index.js';
import { floatToBf16 } from '../../src/backend/ref/elementwise.js';
import { nativeBackend, nativeBinding, nativeLoadError } from '../../src/backend/native/index.js';
import type { Isa } from '../../src/backend/native/binding.js';
import { selectBackend } from '../../src/backend/index.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Rng } from '../../src/util/rng.js';
import { positional, type Positional } from '../helpers/positional.js';

const required = process.env.CI === 'true';
const skip = !nativeBackend && !required ? `native addon unavailable: ${nativeLoadError}` : false;

const ISA_ORDER: Isa[] = ['scalar', 'avx2', 'avx512', 'avx512bf16', 'amx'];
const ref = positional(refBackend);

function rand(len: number, rng: Rng, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(len);
  for (let i = 0; i < len; i++) a[i] = lo + (hi - lo) * rng.uniform();
  return a;
}

function tolFor(reduction: number): number {
  return 1e-6 * (8 + Math.sqrt(reduction));
}

function expectClose(what: string, got: Float32Array, want: Float32Array, tol: number): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < got.length; i++) {
    const e = Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i]));
    if (!(e <= worst)) {
      worst = e;
      at = i;
    }
  }
  assert.ok(
    worst <= tol,
    `${what}: max scaled error ${worst.toExponential(2)} > ${tol.toExponential(2)} at ${at} ` +
      `(native ${got[at]}, ref ${want[at]})`,
  );
}

/** Every (ISA, threads) configuration to run the native kernels under. */
function configs(): { isa: Isa; threads: number }[] {
  const best = nativeBinding!.supportedIsa();
  // avx512bf16 and amx run avx512's fp32 kernels (they add only bfloat16 GEMMs): the AVX-512
  // levels tested once, at the top
  const isas = ISA_ORDER.slice(0, ISA_ORDER.indexOf(best) + 1)
    .filter((isa) => isa === best || ISA_ORDER.indexOf(isa) < ISA_ORDER.indexOf('avx512'))
    .reverse();
  const out: { isa: Isa; threads: number }[] = [];
  for (const isa of isas) for (const threads of [1, 2]) out.push({ isa, threads });
  return out;
}

/** Runs `body` under every configuration, naming the configuration in any failure. */
function underEveryConfig(body: (nb: Positional, tag: string) => void): void {
  const nb = positional(nativeBackend!);
  for (const { isa, threads } of configs()) {
    nativeBinding!.setIsa(isa);
    nativeBackend!.setThreads(threads);
    body(nb, `[${isa}, ${threads} thread${threads > 1 ? 's' : ''}]`);
  }
}

function convGeom(
  n: number,
  cIn: number,
  h: number,
  w: number,
  cOut: number,
  k: number,
  stride: number,
  pad: number,
  groups: number,
  kw = k,
): ConvGeom {
  return {
    n,
    cIn,
    h,
    w,
    cOut,
    kh: k,
    kw,
    stride,
    pad,
    groups,
    ho: convOutputSize(h, k, stride, pad),
    wo: convOutputSize(w, kw, stride, pad),
  };
}

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

describe('native backend vs ref', { skip }, () => {
  let savedIsa: Isa;
  let savedThreads: number;
  before(() => {
    if (required)
      assert.ok(nativeBackend, `CI=true but the native addon did not load: ${nativeLoadError}`);
    savedIsa = nativeBinding!.isa();
    savedThreads = nativeBinding!.getThreads();
  });
  after(() => {
    nativeBinding!.setIsa(savedIsa);
    nativeBinding!.setThreads(savedThreads);
  });

  it('raw GEMM, all transposes, odd sizes and several depth slices', () => {
    const rng = new Rng(1);
    const shapes: [number, number, number][] = [
      [1, 1, 1],
      [15, 33, 7],
      [29, 65, 300],
      [100, 47, 513],
      [3, 200, 20],
      [14, 32, 256],
      [4, 70, 1000],
      [5, 9, 17],
      // tall and skinny (≥ 64 row tiles, ≤ 64 columns): fc layers' transposed path, edge rows
      [1000, 40, 300],
      [910, 32, 512],
    ];
    for (const [m, n, k] of shapes) {
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          const a = rand(m * k, rng);
          const b = rand(k * n, rng);
          const c0 = rand(m * n, rng);
          const want = new Float32Array(m * n);
          for (let i = 0; i < m; i++) {
            for (let j = 0; j < n; j++) {
              let s = 0;
              for (let p = 0; p < k; p++)
                s += (ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
              want[i * n + j] = s;
            }
          }
          const wantAcc = want.map((v, i) => v + c0[i]);
          underEveryConfig((_nb, tag) => {
            const c = new Float32Array(m * n).fill(Number.NaN); // beta = 0 must not read C
            nativeBinding!.gemm(ta, tb, m, n, k, a, ta ? m : k, b, tb ? k : n, 0, c, n);
            expectClose(
              `gemm ${m}×${n}×${k} ${ta ? 'T' : 'N'}${tb ? 'T' : 'N'} ${tag}`,
              c,
              want,
              tolFor(k),
            );
            const c1 = c0.slice();
            nativeBinding!.gemm(ta, tb, m, n, k, a, ta ? m : k, b, tb ? k : n, 1, c1, n);
            expectClose(`gemm beta=1 ${m}×${n}×${k} ${tag}`, c1, wantAcc, tolFor(k));
          });
        }
      }
    }
  });

  const convCases: ConvGeom[] = [
    convGeom(1, 3, 23, 23, 8, 11, 4, 0, 1), // conv1-like: 11×11 stride 4
    convGeom(3, 1, 17, 19, 7, 11, 4, 1, 1), // d2l conv1: 1 channel, pad 1, non-square
    convGeom(5, 4, 9, 11, 6, 5, 1, 2, 2), // conv2-like: 5×5 pad 2, two towers
    convGeom(2, 6, 7, 7, 4, 3, 2, 1, 2), // stride 2
    convGeom(5, 3, 6, 5, 5, 1, 1, 0, 1), // 1×1
    convGeom(1, 2, 13, 13, 3, 3, 1, 1, 1),
    convGeom(5, 8, 3, 3, 12, 3, 1, 1, 2), // tiny maps: images batched into one GEMM
    convGeom(5, 24, 9, 9, 40, 5, 1, 2, 1), // Kc = 600 spans several depth slices; Co > MR; dX in row blocks
    convGeom(5, 256, 3, 3, 4, 3, 1, 1, 1), // tiny maps, Kc = 2304: col2im's offset table, two row blocks
    convGeom(2, 5, 12, 10, 3, 3, 4, 2, 1, 5), // stride 4 with padding, non-square kernel
    // the phase-split stride-4 panels: output rows wrapping inside a panel, Co > MR; batch 1
    // split by columns (19×18 ≥ 128 positions per thread) and by rows, and the batch-parallel path
    convGeom(1, 3, 79, 75, 20, 11, 4, 2, 1),
    convGeom(2, 3, 63, 59, 30, 11, 4, 2, 1),
    convGeom(5, 3, 39, 41, 17, 11, 4, 0, 1),
    convGeom(1, 4, 35, 35, 6, 11, 4, 1, 2), // two towers at stride 4, batch 1
    convGeom(1, 2, 20, 20, 5, 5, 3, 1, 1), // stride 3
    convGeom(1, 16, 13, 13, 40, 3, 1, 1, 1), // 13×13 at batch 1: threads split the channels
    // 1×1 maps: every lane its own run, so the panels gather (AVX2's 8 lanes hold 8 runs)
    convGeom(5, 4, 3, 3, 5, 3, 1, 0, 1),
    convGeom(6, 2, 3, 3, 4, 3, 2, 0, 1), // the same at stride 2 (the phase-split panels)
  ];

  for (const g of convCases) {
    const name = `conv ${g.n}×${g.cIn}×${g.h}×${g.w} → ${g.cOut}, k ${g.kh}×${g.kw} s${g.stride} p${g.pad} G${g.groups}`;
    it(`${name}: forward (bias, ReLU) and backward (dx, dw, db)`, () => {
      const rng = new Rng(g.n * 1000 + g.cIn * 10 + g.kh);
      const cig = g.cIn / g.groups;
      const x = rand(g.n * g.cIn * g.h * g.w, rng);
      const w = rand(g.cOut * cig * g.kh * g.kw, rng);
      const b = rand(g.cOut, rng);
      const dy = rand(g.n * g.cOut * g.ho * g.wo, rng);
      const ySize = g.n * g.cOut * g.ho * g.wo;
      const want = { y: new Float32Array(ySize), yRelu: new Float32Array(ySize) };
      ref.conv2dForward(x, w, null, want.y, g, false);
      ref.conv2dForward(x, w, b, want.yRelu, g, true);
      const rdx = new Float32Array(x.length);
      const rdw = new Float32Array(w.length);
      const rdb = new Float32Array(b.length);
      ref.conv2dBackward(x, w, dy, rdx, rdw, rdb, g);
      const kc = cig * g.kh * g.kw;
      underEveryConfig((nb, tag) => {
        const y = new Float32Array(ySize).fill(Number.NaN);
        nb.conv2dForward(x, w, null, y, g, false);
        expectClose(`${name} y ${tag}`, y, want.y, tolFor(kc));
        nb.conv2dForward(x, w, b, y, g, true);
        expectClose(`${name} relu(y + b) ${tag}`, y, want.yRelu, tolFor(kc));
        const dx = new Float32Array(x.length).fill(Number.NaN); // outputs are overwritten
        const dw = new Float32Array(w.length).fill(Number.NaN);
        const db = new Float32Array(b.length).fill(Number.NaN);
        nb.conv2dBackward(x, w, dy, dx, dw, db, g);
        expectClose(`${name} dx ${tag}`, dx, rdx, tolFor((g.cOut / g.groups) * g.kh * g.kw));
        expectClose(`${name} dw ${tag}`, dw, rdw, tolFor(g.n * g.ho * g.wo));
        expectClose(`${name} db ${tag}`, db, rdb, tolFor(g.n * g.ho * g.wo));
        // null outputs are skipped, the others still right; and runs repeat bit for bit
        const dw2 = new Float32Array(w.length);
        nb.conv2dBackward(x, w, dy, null, dw2, null, g);
        assert.deepEqual(dw2, dw, `${name} dw reproducible ${tag}`);
        const dx2 = new Float32Array(x.length);
        nb.conv2dBackward(x, w, dy, dx2, null, null, g);
        expectClose(`${name} dx alone ${tag}`, dx2, rdx, tolFor((g.cOut / g.groups) * g.kh * g.kw));
      });
    });
  }

  it('linear forward and backward, odd sizes', () => {
    const rng = new Rng(7);
    for (const [n, d, f] of [
      [1, 1, 1],
      [5, 37, 19],
      [3, 300, 70],
      [130, 33, 40],
      [1, 513, 10],
      [2, 45, 11], // the GEMV at 2 and 4 rows, depth tails, a part group of rows of w
      [4, 77, 23],
      [9, 70, 37],
      [32, 300, 129],
      [32, 600, 1000],
      [33, 520, 900],
    ]) {
      const x = rand(n * d, rng);
      const w = rand(f * d, rng);
      const b = rand(f, rng);
      const dy = rand(n * f, rng);
      const ry = new Float32Array(n * f);
      const ryr = new Float32Array(n * f);
      ref.linearForward(x, w, null, ry, n, d, f, false);
      ref.linearForward(x, w, b, ryr, n, d, f, true);
      const rdx = new Float32Array(n * d);
      const rdw = new Float32Array(f * d);
      const rdb = new Float32Array(f);
      ref.linearBackward(x, w, dy, rdx, rdw, rdb, n, d, f);
      underEveryConfig((nb, tag) => {
        const what = `linear ${n}×${d}→${f} ${tag}`;
        const y = new Float32Array(n * f);
        nb.linearForward(x, w, null, y, n, d, f, false);
        expectClose(`${what} y`, y, ry, tolFor(d));
        nb.linearForward(x, w, b, y, n, d, f, true);
        expectClose(`${what} relu(y + b)`, y, ryr, tolFor(d));
        const dx = new Float32Array(n * d).fill(Number.NaN);
        const dw = new Float32Array(f * d).fill(Number.NaN);
        const db = new Float32Array(f).fill(Number.NaN);
        nb.linearBackward(x, w, dy, dx, dw, db, n, d, f);
        expectClose(`${what} dx`, dx, rdx, tolFor(f));
        expectClose(`${what} dw`, dw, rdw, tolFor(n));
        expectClose(`${what} db`, db, rdb, tolFor(n));
        nb.linearBackward(x, w, dy, null, null, db, n, d, f);
        expectClose(`${what} db alone`, db, rdb, tolFor(n));
      });
    }
  });

  it('max pooling: values, argmax (first maximum wins ties), backward', () => {
    const rng = new Rng(11);
    const cases = [
      poolGeom(1, 3, 13, 13, 3, 2, 0),
      poolGeom(5, 2, 7, 9, 2, 2, 1),
      poolGeom(2, 4, 6, 6, 3, 1, 1),
      poolGeom(1, 1, 55, 55, 3, 2, 0),
    ];
    for (const g of cases) {
      // Values from a small integer set, so ties are common.
      const x = new Float32Array(g.n * g.c * g.h * g.w).map(
        () => Math.floor(rng.uniform() * 4) - 2,
      );
      const dy = rand(g.n * g.c * g.ho * g.wo, rng);
      const ry = new Float32Array(dy.length);
      const ram = new Int32Array(dy.length);
      ref.maxPoolForward(x, ry, ram, g);
      const rdx = new Float32Array(x.length);
      ref.maxPoolBackward(dy, ram, rdx, g);
      underEveryConfig((nb, tag) => {
        const what = `maxpool ${JSON.stringify(g)} ${tag}`;
        const y = new Float32Array(dy.length);
        const am = new Int32Array(dy.length);
        nb.maxPoolForward(x, y, am, g);
        assert.deepEqual(y, ry, `${what} y`);
        assert.deepEqual(am, ram, `${what} argmax`);
        nb.maxPoolForward(x, y, null, g);
        assert.deepEqual(y, ry, `${what} y without argmax`);
        const dx = new Float32Array(x.length).fill(Number.NaN);
        nb.maxPoolBackward(dy, am, dx, g);
        expectClose(`${what} dx`, dx, rdx, 1e-6);
      });
    }
  });

  it('average and adaptive average pooling, forward and backward', () => {
    const rng = new Rng(13);
    for (const g of [
      poolGeom(2, 3, 7, 9, 3, 2, 1),
      poolGeom(1, 2, 6, 6, 2, 2, 0),
      poolGeom(5, 1, 5, 5, 3, 1, 1),
    ]) {
      const x = rand(g.n * g.c * g.h * g.w, rng);
      const dy = rand(g.n * g.c * g.ho * g.wo, rng);
      const ry = new Float32Array(dy.length);
      const rdx = new Float32Array(x.length);
      ref.avgPoolForward(x, ry, g);
      ref.avgPoolBackward(dy, rdx, g);
      underEveryConfig((nb, tag) => {
        const y = new Float32Array(dy.length);
        const dx = new Float32Array(x.length).fill(Number.NaN);
        nb.avgPoolForward(x, y, g);
        nb.avgPoolBackward(dy, dx, g);
        expectClose(`avgpool ${JSON.stringify(g)} y ${tag}`, y, ry, 1e-6);
        expectClose(`avgpool ${JSON.stringify(g)} dx ${tag}`, dx, rdx, 1e-6);
      });
    }
    for (const [n, c, h, w, ho, wo] of [
      [2, 3, 13, 13, 6, 6],
      [1, 2, 5, 7, 3, 2],
      [5, 1, 6, 6, 6, 6],
      [1, 4, 7, 7, 1, 1],
      [1, 1, 3, 3, 6, 6],
    ]) {
      const x = rand(n * c * h * w, rng);
      const dy = rand(n * c * ho * wo, rng);
      const ry = new Float32Array(dy.length);
      const rdx = new Float32Array(x.length);
      ref.adaptiveAvgPoolForward(x, ry, n, c, h, w, ho, wo);
      ref.adaptiveAvgPoolBackward(dy, rdx, n, c, h, w, ho, wo);
      underEveryConfig((nb, tag) => {
        const y = new Float32Array(dy.length);
        const dx = new Float32Array(x.length).fill(Number.NaN);
        nb.adaptiveAvgPoolForward(x, y, n, c, h, w, ho, wo);
        nb.adaptiveAvgPoolBackward(dy, dx, n, c, h, w, ho, wo);
        expectClose(`adaptive ${h}×${w}→${ho}×${wo} y ${tag}`, y, ry, 1e-6);
        expectClose(`adaptive ${h}×${w}→${ho}×${wo} dx ${tag}`, dx, rdx, 1e-6);
      });
    }
  });

  it('LRN forward and backward, both alpha conventions', () => {
    const rng = new Rng(17);
    const cases: LrnParams[] = [
      { n: 2, c: 7, h: 5, w: 3, size: 5, alpha: 1e-4, beta: 0.75, k: 2, alphaScaling: 'per-size' },
      { n: 1, c: 9, h: 4, w: 4, size: 5, alpha: 1e-4, beta: 0.75, k: 2, alphaScaling: 'absolute' },
      // large alpha and k = 1 so the cross-channel term is not negligible
      { n: 5, c: 6, h: 3, w: 2, size: 3, alpha: 0.5, beta: 0.75, k: 1, alphaScaling: 'per-size' },
      { n: 1, c: 4, h: 2, w: 3, size: 5, alpha: 0.3, beta: 0.6, k: 1.5, alphaScaling: 'absolute' },
      { n: 1, c: 2, h: 1, w: 1, size: 5, alpha: 0.3, beta: 0.75, k: 1, alphaScaling: 'per-size' },
    ];
    for (const p of cases) {
      const len = p.n * p.c * p.h * p.w;
      const x = rand(len, rng, -3, 3);
      const dy = rand(len, rng);
      const ry = new Float32Array(len);
      const rs = new Float32Array(len);
      const rdx = new Float32Array(len);
      ref.lrnForward(x, ry, rs, p);
      ref.lrnBackward(x, ry, rs, dy, rdx, p);
      underEveryConfig((nb, tag) => {
        const what = `lrn ${JSON.stringify(p)} ${tag}`;
        const y = new Float32Array(len);
        const s = new Float32Array(len);
        const dx = new Float32Array(len).fill(Number.NaN);
        nb.lrnForward(x, y, s, p);
        expectClose(`${what} y`, y, ry, 1e-5);
        expectClose(`${what} scale`, s, rs, 1e-6);
        nb.lrnBackward(x, y, s, dy, dx, p);
        expectClose(`${what} dx`, dx, rdx, 1e-5);
        const y2 = new Float32Array(len);
        nb.lrnForward(x, y2, null, p);
        expectClose(`${what} y without scale`, y2, ry, 1e-5);
      });
    }
  });

  it('activations, dropout, scale (also in place)', () => {
    const rng = new Rng(19);
    for (const len of [1, 17, 100_003]) {
      const x = rand(len, rng, -4, 4);
      const dy = rand(len, rng);
      const mask = new Uint8Array(len).map(() => (rng.uniform() < 0.5 ? 1 : 0));
      for (const kind of ['relu', 'tanh', 'sigmoid'] as const) {
        const ry = new Float32Array(len);
        const rdx = new Float32Array(len);
        ref.activationForward(kind, x, ry);
        ref.activationBackward(kind, ry, dy, rdx);
        underEveryConfig((nb, tag) => {
          const y = x.slice();
          nb.activationForward(kind, y, y);
          expectClose(`${kind} forward in place ${len} ${tag}`, y, ry, 1e-6);
          const dx = dy.slice();
          nb.activationBackward(kind, ry, dx, dx);
          expectClose(`${kind} backward in place ${len} ${tag}`, dx, rdx, 1e-6);
        });
      }
      const rdrop = new Float32Array(len);
      ref.dropoutApply(x, mask, 2, rdrop);
      const rscale = new Float32Array(len);
      ref.scale(x, 0.5, rscale);
      underEveryConfig((nb, tag) => {
        const y = new Float32Array(len);
        nb.dropoutApply(x, mask, 2, y);
        expectClose(`dropout ${len} ${tag}`, y, rdrop, 0);
        const z = x.slice();
        nb.scale(z, 0.5, z);
        expectClose(`scale in place ${len} ${tag}`, z, rscale, 0);
      });
    }
  });

  it('softmax cross-entropy with and without label smoothing', () => {
    const rng = new Rng(23);
    for (const [n, l] of [
      [1, 1],
      [5, 10],
      [3, 1000],
      [128, 10],
    ]) {
      const logits = rand(n * l, rng, -8, 8);
      const labels = new Int32Array(n).map(() => rng.int(l));
      for (const eps of [0, 0.1]) {
        const rp = new Float32Array(n * l);
        const rd = new Float32Array(n * l);
        const rloss = ref.softmaxCrossEntropy(logits, labels, n, l, eps, rp, rd);
        underEveryConfig((nb, tag) => {
          const p = new Float32Array(n * l);
          const d = new Float32Array(n * l);
          const loss = nb.softmaxCrossEntropy(logits, labels, n, l, eps, p, d);
          assert.ok(
            Math.abs(loss - rloss) <= 1e-5 * (1 + Math.abs(rloss)),
            `loss ${loss} vs ${rloss} ${tag}`,
          );
          expectClose(`probs ${n}×${l} ε=${eps} ${tag}`, p, rp, 1e-6);
          expectClose(`dlogits ${n}×${l} ε=${eps} ${tag}`, d, rd, 1e-6);
          const loss2 = nb.softmaxCrossEntropy(logits, labels, n, l, eps, p, null);
          assert.ok(Math.abs(loss2 - rloss) <= 1e-5 * (1 + Math.abs(rloss)));
        });
      }
    }
  });

  it("SGD: the paper's rule; given w16, the new w in bfloat16 too (the cast's rounding)", () => {
    const rng = new Rng(29);
    for (const len of [1, 33, 2049, 70_001]) {
      const w0 = rand(len, rng);
      const g = rand(len, rng);
      const v0 = rand(len, rng);
      const rw = w0.slice();
      const rv = v0.slice();
      ref.sgdUpdate(rw, g, rv, 0.01, 0.9, 5e-4);
      underEveryConfig((nb, tag) => {
        for (const w16 of [null, new Uint16Array(len).fill(0xffff)]) {
          const w = w0.slice();
          const v = v0.slice();
          nb.sgdUpdate(w, g, v, 0.01, 0.9, 5e-4, w16);
          expectClose(`sgd w ${len} ${tag}`, w, rw, 1e-7);
          expectClose(`sgd v ${len} ${tag}`, v, rv, 1e-7);
          if (!w16) continue;
          const want = new Uint16Array(len);
          floatToBf16(w, want);
          assert.deepEqual(w16, want, `sgd w16 ${len} ${tag}`);
        }
      });
    }
  });

  it('bad arguments become one-line errors naming the kernel and argument, never a crash', () => {
    const nb = nativeBackend!;
    const g = convGeom(1, 2, 5, 5, 3, 3, 1, 1, 1);
    const x = new Tensor([1, 2, 5, 5]);
    const w = new Tensor([3, 2, 3, 3]);
    const conv = (y: Tensor, geom: ConvGeom): void =>
      nb.conv2dForward({ x, w, b: null, y }, { ...geom, relu: false });
    assert.throws(() => conv(new Tensor([74]), g), /conv2dForward: y has 74 elements, expected 75/);
    assert.throws(() => conv(new Tensor([75]), { ...g, ho: 4 }), /conv2dForward: ho\/wo/);
    assert.throws(() => conv(new Tensor([75]), { ...g, groups: 2 }), /divisible by groups/);
    assert.throws(
      () => conv(new Tensor([75]), { ...g, pad: -1 }),
      /conv2dForward: attribute pad must be an integer ≥ 0/,
    );
    assert.throws(
      () =>
        nb.linearForward(
          { x: Tensor.of('int32', [4]) as never, w: new Tensor([4]), b: null, y: new Tensor([4]) },
          { n: 2, d: 2, f: 2, relu: false },
        ),
      /linearForward: x must be float32, got int32/,
    );
    assert.throws(
      () =>
        nb.linearForward(
          { x: new Float32Array(4) as never, w: new Tensor([4]), b: null, y: new Tensor([4]) },
          { n: 2, d: 2, f: 2, relu: false },
        ),
      /linearForward: x must be a tensor/,
    );
    assert.throws(
      () =>
        nb.softmaxCrossEntropy(
          {
            logits: new Tensor([4]),
            labels: Tensor.of('int32', [2], new Int32Array([0, 2])),
            probs: new Tensor([4]),
            dlogits: null,
            loss: new Tensor([1]),
          },
          { n: 2, l: 2, smoothing: 0 },
        ),
      /label 2 at row 1/,
    );
    assert.throws(
      () =>
        nb.maxPoolBackward(
          {
            dy: new Tensor([1]),
            argmax: Tensor.of('int32', [1], new Int32Array([9])),
            dx: new Tensor([4]),
          },
          poolGeom(1, 1, 2, 2, 2, 2, 0),
        ),
      /argmax/,
    );
    assert.throws(() => nativeBinding!.setIsa('sse9' as Isa), /unknown ISA/);
  });

  it('reports an ISA and a plausible peak; selectBackend picks native', () => {
    assert.ok(ISA_ORDER.includes(nativeBinding!.isa()));
    const peak = nativeBinding!.peakGflops(0.05);
    assert.ok(peak > 0.5 && peak < 1e5, `peak ${peak}`);
    assert.equal(selectBackend(undefined).name, 'native');
    assert.equal(selectBackend('native', 2).getThreads(), 2);
    assert.equal(selectBackend('ref').name, 'ref');
  });
});
