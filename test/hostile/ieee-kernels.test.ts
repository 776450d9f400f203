// NaN and ±Inf through every native kernel, on every instruction-set path this CPU has and at 1
// and 2 threads, against the reference backend: the same positions must be NaN (and the same
// infinite), as in PyTorch. A kernel that maps NaN to a number (ReLU as `x > 0 ? x : 0`, a max
// with its operands swapped, a dropped NaN written as 0) turns a broken input into confident
// logits. The last test runs a whole network: a NaN pixel gives NaN logits on native like ref.
//
// The AVX-512 paths run only where the CPU has AVX-512 (configs() lists what this one has).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  convOutputSize,
  hostData,
  type ConvGeom,
  type LrnParams,
  type PoolGeom,
} from '../../src/backend/backend.js';
import { refBackend } from '../../src/backend/ref/index.js';
import { nativeBackend, nativeBinding, nativeLoadError } from '../../src/backend/native/index.js';
import type { Isa } from '../../src/backend/native/binding.js';
import { initialize } from '../../src/models/init.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Rng } from '../../src/util/rng.js';
import { positional, type Positional } from '../helpers/positional.js';
import { scaledNet } from '../helpers/scaled.js';

const required = process.env.CI === 'true';
const skip = !nativeBackend && !required ? `native addon unavailable: ${nativeLoadError}` : false;
const ref = positional(refBackend);
const SPECIALS = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];

/** Uniform values in [−1, 1) with `count` specials (NaN, +Inf, −Inf in turn, or only `only`)
 *  at random positions, and a few −0. */
function hostile(len: number, rng: Rng, count: number, only?: number): Float32Array {
  const a = new Float32Array(len);
  for (let i = 0; i < len; i++) a[i] = 2 * rng.uniform() - 1;
  for (let s = 0; s < count; s++)
    a[Math.floor(rng.uniform() * len)] = only ?? SPECIALS[s % SPECIALS.length];
  for (let s = 0; s < 3; s++) a[Math.floor(rng.uniform() * len)] = -0;
  return a;
}

/** NaN where ref has NaN, the same infinity where ref is infinite, finite values close. */
function expectSame(what: string, got: ArrayLike<number>, want: ArrayLike<number>): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < got.length; i++) {
    const g = got[i];
    const w = want[i];
    const ok = Number.isNaN(w)
      ? Number.isNaN(g)
      : Number.isFinite(w)
        ? Math.abs(g - w) <= 1e-4 * (1 + Math.abs(w))
        : g === w;
    if (!ok) assert.fail(`${what}: element ${i} is ${g} on native, ${w} on ref`);
  }
}

function configs(): { isa: Isa; threads: number }[] {
  const order: Isa[] = ['scalar', 'avx2', 'avx512', 'avx512bf16'];
  const best = nativeBinding!.supportedIsa();
  // avx512bf16 runs avx512's fp32 kernels (it adds only bfloat16 GEMMs): tested once, at the top
  const isas = order
    .slice(0, order.indexOf(best) + 1)
    .filter((isa) => isa !== 'avx512' || best !== 'avx512bf16');
  return isas.flatMap((isa) => [1, 2].map((threads) => ({ isa, threads })));
}

/** body(native, tag) under every configuration; ref is the same every time. */
function everywhere(body: (nb: Positional, tag: string) => void): void {
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
  hw: number,
  cOut: number,
  k: number,
  s: number,
  pad: number,
  groups: number,
): ConvGeom {
  const o = convOutputSize(hw, k, s, pad);
  return { n, cIn, h: hw, w: hw, cOut, kh: k, kw: k, stride: s, pad, groups, ho: o, wo: o };
}

function poolGeom(n: number, c: number, hw: number, k: number, s: number, pad: number): PoolGeom {
  const o = convOutputSize(hw, k, s, pad);
  return { n, c, h: hw, w: hw, k, stride: s, pad, ho: o, wo: o };
}

describe('IEEE NaN/Inf semantics: native kernels vs ref', { skip }, () => {
  let savedIsa: Isa;
  let savedThreads: number;
  before(() => {
    if (required)
      assert.ok(nativeBackend, `CI=true but the addon did not load: ${nativeLoadError}`);
    savedIsa = nativeBinding!.isa();
    savedThreads = nativeBinding!.getThreads();
  });
  after(() => {
    nativeBinding!.setIsa(savedIsa);
    nativeBinding!.setThreads(savedThreads);
  });

  it('convolution forward (fused bias + ReLU epilogues) and backward', () => {
    const rng = new Rng(17);
    // batch-parallel and few-image paths, full and edge GEMM tiles, groups, 1×1, padding.
    // With padding, only x carries specials into the forward and dW, and dy only into dX: the
    // ref skips padded taps where native multiplies them by zero, so a NaN weight (or a NaN dy
    // in dW) at a tap that reads padding is NaN on native and finite on ref — both defensible
    // (im2col pads with zeros, direct convolutions skip), neither a NaN hidden from the input.
    const cases = [
      convGeom(1, 3, 23, 8, 11, 4, 0, 1),
      convGeom(5, 4, 9, 6, 5, 1, 2, 2),
      convGeom(4, 8, 5, 20, 3, 1, 1, 1),
      convGeom(2, 6, 7, 40, 1, 1, 0, 2),
      convGeom(6, 4, 6, 16, 3, 1, 0, 1),
    ];
    for (const g of cases) {
      for (const only of [...SPECIALS, undefined]) {
        const padded = g.pad > 0;
        const x = hostile(g.n * g.cIn * g.h * g.w, rng, 2, only);
        const w = hostile((g.cOut * g.cIn * g.kh * g.kw) / g.groups, rng, padded ? 0 : 1, only);
        const b = hostile(g.cOut, rng, only === undefined ? 1 : 0);
        const ySize = g.n * g.cOut * g.ho * g.wo;
        const dy = hostile(ySize, rng, 2, only);
        const dyW = padded ? hostile(ySize, rng, 0) : dy; // the dy behind dW
        const want = { y: new Float32Array(ySize), yr: new Float32Array(ySize) };
        ref.conv2dForward(x, w, b, want.y, g, false);
        ref.conv2dForward(x, w, b, want.yr, g, true);
        const wdx = new Float32Array(x.length);
        const wdw = new Float32Array(w.length);
        const wdb = new Float32Array(g.cOut);
        ref.conv2dBackward(x, w, dy, wdx, null, wdb, g);
        ref.conv2dBackward(x, w, dyW, null, wdw, null, g);
        const what = `conv ${JSON.stringify(g)} special ${only}`;
        everywhere((nb, tag) => {
          const y = new Float32Array(ySize);
          nb.conv2dForward(x, w, b, y, g, false);
          expectSame(`${what} y ${tag}`, y, want.y);
          nb.conv2dForward(x, w, b, y, g, true);
          expectSame(`${what} relu(y) ${tag}`, y, want.yr);
          const dx = new Float32Array(x.length);
          const dw = new Float32Array(w.length);
          const db = new Float32Array(g.cOut);
          nb.conv2dBackward(x, w, dy, dx, null, db, g);
          nb.conv2dBackward(x, w, dyW, null, dw, null, g);
          expectSame(`${what} dx ${tag}`, dx, wdx);
          expectSame(`${what} dw ${tag}`, dw, wdw);
          expectSame(`${what} db ${tag}`, db, wdb);
        });
      }
    }
  });

  it('fully connected forward (GEMV, GEMM, transposed tall-skinny; fused ReLU) and backward', () => {
    const rng = new Rng(18);
    // n ≤ 4: GEMV; n = 8, d = 300, f = 400: transposed tall-skinny; n = 20, f = 30: plain GEMM
    for (const [n, d, f] of [
      [3, 50, 20],
      [8, 300, 400],
      [20, 40, 30],
    ]) {
      for (const only of [...SPECIALS, undefined]) {
        const x = hostile(n * d, rng, 2, only);
        const w = hostile(f * d, rng, 2, only);
        const b = hostile(f, rng, 1, only);
        const dy = hostile(n * f, rng, 2, only);
        const wy = new Float32Array(n * f);
        const wyr = new Float32Array(n * f);
        ref.linearForward(x, w, b, wy, n, d, f, false);
        ref.linearForward(x, w, b, wyr, n, d, f, true);
        const wdx = new Float32Array(n * d);
        const wdw = new Float32Array(f * d);
        const wdb = new Float32Array(f);
        ref.linearBackward(x, w, dy, wdx, wdw, wdb, n, d, f);
        const what = `linear ${n}×${d}→${f} special ${only}`;
        everywhere((nb, tag) => {
          const y = new Float32Array(n * f);
          nb.linearForward(x, w, b, y, n, d, f, false);
          expectSame(`${what} y ${tag}`, y, wy);
          nb.linearForward(x, w, b, y, n, d, f, true);
          expectSame(`${what} relu(y) ${tag}`, y, wyr);
          const dx = new Float32Array(n * d);
          const dw = new Float32Array(f * d);
          const db = new Float32Array(f);
          nb.linearBackward(x, w, dy, dx, dw, db, n, d, f);
          expectSame(`${what} dx ${tag}`, dx, wdx);
          expectSame(`${what} dw ${tag}`, dw, wdw);
          expectSame(`${what} db ${tag}`, db, wdb);
        });
      }
    }
  });

  it('max pooling forward (with and without argmax: the fast stride-2 path) and backward', () => {
    const rng = new Rng(19);
    for (const g of [
      poolGeom(2, 3, 27, 3, 2, 0),
      poolGeom(2, 2, 13, 3, 2, 1),
      poolGeom(1, 3, 9, 2, 1, 0),
    ]) {
      for (const only of [...SPECIALS, undefined]) {
        const x = hostile(g.n * g.c * g.h * g.w, rng, 4, only);
        const outLen = g.n * g.c * g.ho * g.wo;
        const wy = new Float32Array(outLen);
        const wam = new Int32Array(outLen);
        ref.maxPoolForward(x, wy, wam, g);
        const dy = hostile(outLen, rng, 2, only);
        const wdx = new Float32Array(x.length);
        ref.maxPoolBackward(dy, wam, wdx, g);
        const what = `maxpool ${JSON.stringify(g)} special ${only}`;
        everywhere((nb, tag) => {
          const y = new Float32Array(outLen);
          nb.maxPoolForward(x, y, null, g);
          expectSame(`${what} y (no argmax) ${tag}`, y, wy);
          const am = new Int32Array(outLen);
          nb.maxPoolForward(x, y, am, g);
          expectSame(`${what} y ${tag}`, y, wy);
          assert.deepEqual(am, wam, `${what} argmax ${tag}`);
          const dx = new Float32Array(x.length);
          nb.maxPoolBackward(dy, am, dx, g);
          expectSame(`${what} dx ${tag}`, dx, wdx);
        });
      }
    }
  });

  it('average and adaptive average pooling, forward and backward', () => {
    const rng = new Rng(20);
    for (const only of [...SPECIALS, undefined]) {
      const g = poolGeom(2, 3, 9, 3, 2, 1);
      const x = hostile(g.n * g.c * g.h * g.w, rng, 3, only);
      const outLen = g.n * g.c * g.ho * g.wo;
      const wy = new Float32Array(outLen);
      ref.avgPoolForward(x, wy, g);
      const dy = hostile(outLen, rng, 2, only);
      const wdx = new Float32Array(x.length);
      ref.avgPoolBackward(dy, wdx, g);
      // adaptive: 6×6 from 6×6 (the copy path) and from 13×13 (overlapping bins)
      const adaptive = [6, 13].map((hw) => {
        const ax = hostile(2 * 3 * hw * hw, rng, 3, only);
        const ay = new Float32Array(2 * 3 * 36);
        ref.adaptiveAvgPoolForward(ax, ay, 2, 3, hw, hw, 6, 6);
        const ady = hostile(ay.length, rng, 2, only);
        const adx = new Float32Array(ax.length);
        ref.adaptiveAvgPoolBackward(ady, adx, 2, 3, hw, hw, 6, 6);
        return { hw, ax, ay, ady, adx };
      });
      everywhere((nb, tag) => {
        const y = new Float32Array(outLen);
        nb.avgPoolForward(x, y, g);
        expectSame(`avgpool y special ${only} ${tag}`, y, wy);
        const dx = new Float32Array(x.length);
        nb.avgPoolBackward(dy, dx, g);
        expectSame(`avgpool dx special ${only} ${tag}`, dx, wdx);
        for (const a of adaptive) {
          const ay = new Float32Array(a.ay.length);
          nb.adaptiveAvgPoolForward(a.ax, ay, 2, 3, a.hw, a.hw, 6, 6);
          expectSame(`adaptive ${a.hw}→6 y special ${only} ${tag}`, ay, a.ay);
          const adx = new Float32Array(a.ax.length);
          nb.adaptiveAvgPoolBackward(a.ady, adx, 2, 3, a.hw, a.hw, 6, 6);
          expectSame(`adaptive ${a.hw}→6 dx special ${only} ${tag}`, adx, a.adx);
        }
      });
    }
  });

  it('LRN forward and backward', () => {
    const rng = new Rng(21);
    for (const only of [...SPECIALS, undefined]) {
      const p: LrnParams = {
        n: 2,
        c: 9,
        h: 5,
        w: 7,
        size: 5,
        alpha: 1e-4,
        beta: 0.75,
        k: 2,
        alphaScaling: 'per-size',
      };
      for (const beta of [0.75, 0.6]) {
        const q = { ...p, beta };
        const len = q.n * q.c * q.h * q.w;
        const x = hostile(len, rng, 3, only);
        const dy = hostile(len, rng, 2, only);
        const wy = new Float32Array(len);
        const wsc = new Float32Array(len);
        ref.lrnForward(x, wy, wsc, q);
        const wdx = new Float32Array(len);
        ref.lrnBackward(x, wy, wsc, dy, wdx, q);
        everywhere((nb, tag) => {
          const y = new Float32Array(len);
          const sc = new Float32Array(len);
          nb.lrnForward(x, y, sc, q);
          expectSame(`lrn β=${beta} y special ${only} ${tag}`, y, wy);
          expectSame(`lrn β=${beta} scale special ${only} ${tag}`, sc, wsc);
          const dx = new Float32Array(len);
          nb.lrnBackward(x, y, sc, dy, dx, q);
          expectSame(`lrn β=${beta} dx special ${only} ${tag}`, dx, wdx);
        });
      }
    }
  });

  it('activations (ReLU keeps NaN and −0), dropout (a dropped NaN is NaN), scale', () => {
    const rng = new Rng(22);
    const len = 1000;
    for (const only of [...SPECIALS, undefined]) {
      const x = hostile(len, rng, 20, only);
      const dy = hostile(len, rng, 20, only);
      const mask = Uint8Array.from({ length: len }, () => (rng.uniform() < 0.5 ? 1 : 0));
      for (const kind of ['relu', 'tanh', 'sigmoid'] as const) {
        const wy = new Float32Array(len);
        ref.activationForward(kind, x, wy);
        const wdx = new Float32Array(len);
        ref.activationBackward(kind, x, dy, wdx); // y = x: NaN and ±Inf as outputs too
        everywhere((nb, tag) => {
          const y = new Float32Array(len);
          nb.activationForward(kind, x, y);
          expectSame(`${kind} forward special ${only} ${tag}`, y, wy);
          if (kind === 'relu')
            for (let i = 0; i < len; i++)
              if (!Object.is(y[i], wy[i]) && !Number.isNaN(wy[i]))
                assert.fail(`relu(${x[i]}) is ${y[i]} on native, ${wy[i]} on ref ${tag}`);
          const dx = new Float32Array(len);
          nb.activationBackward(kind, x, dy, dx);
          expectSame(`${kind} backward special ${only} ${tag}`, dx, wdx);
        });
      }
      const wd = new Float32Array(len);
      ref.dropoutApply(x, mask, 2, wd);
      const ws = new Float32Array(len);
      ref.scale(x, 0.5, ws);
      everywhere((nb, tag) => {
        const y = new Float32Array(len);
        nb.dropoutApply(x, mask, 2, y);
        expectSame(`dropout special ${only} ${tag}`, y, wd);
        nb.scale(x, 0.5, y);
        expectSame(`scale special ${only} ${tag}`, y, ws);
      });
    }
  });

  it('softmax cross-entropy: NaN and ±Inf logits, with and without label smoothing', () => {
    const l = 7;
    const rows: [string, number[], number][] = [
      ['finite', [0.1, -0.3, 2, 0.5, -1, 0, 0.7], 2],
      ['a NaN', [0.1, Number.NaN, 2, 0.5, -1, 0, 0.7], 2],
      ['a +Inf', [0.1, -0.3, Infinity, 0.5, -1, 0, 0.7], 4],
      ['a −Inf off the label', [0.1, -Infinity, 2, 0.5, -1, 0, 0.7], 2],
      ['a −Inf at the label', [0.1, -0.3, -Infinity, 0.5, -1, 0, 0.7], 2],
      ['all −Inf', Array<number>(l).fill(-Infinity), 0],
    ];
    for (const smoothing of [0, 0.1]) {
      for (const [name, row, label] of rows) {
        const logits = Float32Array.from(row);
        const labels = Int32Array.of(label);
        const wp = new Float32Array(l);
        const wd = new Float32Array(l);
        const wl = ref.softmaxCrossEntropy(logits, labels, 1, l, smoothing, wp, wd);
        everywhere((nb, tag) => {
          const p = new Float32Array(l);
          const d = new Float32Array(l);
          const loss = nb.softmaxCrossEntropy(logits, labels, 1, l, smoothing, p, d);
          const what = `softmax CE, ${name}, smoothing ${smoothing} ${tag}`;
          expectSame(`${what}: loss`, [loss], [wl]);
          expectSame(`${what}: probs`, p, wp);
          expectSame(`${what}: dlogits`, d, wd);
        });
      }
    }
  });

  it('SGD with NaN and ±Inf in weights, gradients and velocities', () => {
    const rng = new Rng(23);
    const len = 500;
    for (const only of [...SPECIALS, undefined]) {
      for (const momentum of [0, 0.9]) {
        const w0 = hostile(len, rng, 5, only);
        const g = hostile(len, rng, 5, only);
        const v0 = hostile(len, rng, 5, only);
        const ww = w0.slice();
        const wv = v0.slice();
        ref.sgdUpdate(ww, g, wv, 0.01, momentum, 5e-4);
        everywhere((nb, tag) => {
          const w = w0.slice();
          const v = v0.slice();
          nb.sgdUpdate(w, g, v, 0.01, momentum, 5e-4);
          expectSame(`sgd momentum ${momentum} w special ${only} ${tag}`, w, ww);
          expectSame(`sgd momentum ${momentum} v special ${only} ${tag}`, v, wv);
        });
      }
    }
  });

  it('a whole network: a NaN or Inf pixel gives the logits ref gives (NaN), native like ref', () => {
    // torchvision has no LRN, so nothing but the ReLUs and pools can hide the NaN; alexnet2012
    // goes through LRN too.
    for (const arch of ['torchvision', 'alexnet2012'] as const) {
      const nets = [refBackend, nativeBackend!].map((b) => {
        const net = scaledNet(arch, 3, 67, 8, 32, 10, b);
        initialize(net, 'kaiming', 5);
        return net;
      });
      const rng = new Rng(24);
      const per = 3 * 67 * 67;
      const x = new Tensor([3, 3, 67, 67], hostile(3 * per, rng, 0));
      x.data[per + 1000] = Number.NaN; // image 1: one NaN pixel
      x.data[2 * per + 2000] = Infinity; // image 2: one +Inf pixel
      const want = hostData(refBackend, nets[0].forward(x, false));
      for (let j = 0; j < 10; j++) {
        assert.ok(
          Number.isFinite(want[j]),
          `${arch} ref: the clean image's logit ${j} is ${want[j]}`,
        );
        assert.ok(
          Number.isNaN(want[10 + j]),
          `${arch} ref: the NaN image's logit ${j} is ${want[10 + j]}`,
        );
      }
      everywhere((_nb, tag) => {
        const got = hostData(nativeBackend!, nets[1].forward(x, false));
        expectSame(`${arch} logits ${tag}`, got, want);
      });
    }
  });
});
