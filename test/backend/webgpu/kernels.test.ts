// The WGSL kernels against the ref backend (the oracle), each on small shapes: lavapipe, the CPU
// Vulkan driver these tests run on without a GPU, computes a few GFLOP/s at best.
//
// Tolerance: |webgpu − ref| ≤ tol·(1 + |ref|) per element, tol = 2e-6·(8 + √R) for a reduction
// of length R (float32 sums in another order; the GPU may fuse multiply-adds), 2e-5 for exp, log,
// pow and tanh (WGSL's precision for those is a few ulp, looser than V8's). Pools and the argmax
// exactly. Every group of shapes also runs with storage bindings capped at 4 KiB, so the window
// splitting (fc6's 151 MB weights against lavapipe's 128 MiB limit) is exercised on small
// tensors.
//
// Without the `webgpu` package or an adapter the suite skips, saying why; with CI=true it must run.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  convOutputSize,
  type ConvGeom,
  type LrnParams,
  type PoolGeom,
} from '../../../src/backend/backend.js';
import { refBackend } from '../../../src/backend/ref/index.js';
import type { GpuArray, GpuDevice } from '../../../src/backend/webgpu/device.js';
import { openNodeDevice } from '../../../src/backend/webgpu/node-gpu.js';
import { conv2dBackward, conv2dForward } from '../../../src/backend/webgpu/conv.js';
import { linearBackward, linearForward } from '../../../src/backend/webgpu/linear.js';
import {
  adaptiveShape,
  poolBackward,
  poolForward,
  poolShape,
} from '../../../src/backend/webgpu/pool.js';
import { lrnBackward, lrnForward } from '../../../src/backend/webgpu/lrn.js';
import { softmaxCrossEntropy } from '../../../src/backend/webgpu/loss.js';
import { activationOp, elementwise } from '../../../src/backend/webgpu/elementwise.js';
import { Rng } from '../../../src/util/rng.js';

let devices: { tag: string; dev: GpuDevice }[] = [];
let skip: string | false = false;
try {
  devices = [
    { tag: 'full bindings', dev: await openNodeDevice() },
    { tag: '4 KiB bindings', dev: await openNodeDevice({ bindingLimit: 4096 }) },
  ];
} catch (e) {
  if (process.env.CI === 'true') throw e;
  skip = (e as Error).message;
}

function rand(len: number, rng: Rng, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(len);
  for (let i = 0; i < len; i++) a[i] = lo + (hi - lo) * rng.uniform();
  return a;
}

const tolFor = (r: number) => 2e-6 * (8 + Math.sqrt(r));
const TRANSCENDENTAL = 2e-5;

function expectClose(
  what: string,
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  tol: number,
): void {
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
      `(webgpu ${got[at]}, ref ${want[at]})`,
  );
}

function up(dev: GpuDevice, a: Float32Array | Int32Array | Uint32Array): GpuArray {
  const g = dev.array(a.length);
  dev.write(g, a);
  return g;
}

async function down(dev: GpuDevice, g: GpuArray): Promise<Float32Array> {
  return new Float32Array(await dev.read(g));
}

async function downInt(dev: GpuDevice, g: GpuArray): Promise<Int32Array> {
  return new Int32Array(await dev.read(g));
}

function convGeom(
  n: number,
  cIn: number,
  h: number,
  cOut: number,
  k: number,
  stride: number,
  pad: number,
  groups: number,
): ConvGeom {
  const o = convOutputSize(h, k, stride, pad);
  return {
    n,
    cIn,
    h,
    w: h + 1,
    cOut,
    kh: k,
    kw: k,
    stride,
    pad,
    groups,
    ho: o,
    wo: convOutputSize(h + 1, k, stride, pad),
  };
}

function poolGeom(
  n: number,
  c: number,
  h: number,
  k: number,
  stride: number,
  pad: number,
): PoolGeom {
  return {
    n,
    c,
    h,
    w: h + 2,
    k,
    stride,
    pad,
    ho: convOutputSize(h, k, stride, pad),
    wo: convOutputSize(h + 2, k, stride, pad),
  };
}

describe('webgpu kernels vs ref', { skip }, () => {
  after(() => devices.forEach(({ dev }) => dev.destroy()));

  for (const { tag, dev } of devices.length
    ? devices
    : [{ tag: 'none', dev: null as unknown as GpuDevice }]) {
    it(`linear forward and backward, with and without bias/relu [${tag}]`, async () => {
      const rng = new Rng(1);
      for (const [n, d, f] of [
        [3, 17, 70],
        [5, 64, 33],
        [1, 9, 130],
      ]) {
        const x = rand(n * d, rng),
          w = rand(f * d, rng),
          b = rand(f, rng),
          dy = rand(n * f, rng);
        for (const relu of [false, true]) {
          const want = new Float32Array(n * f);
          refBackend.linearForward(x, w, relu ? null : b, want, n, d, f, relu);
          const y = dev.array(n * f);
          linearForward(dev, up(dev, x), up(dev, w), relu ? null : up(dev, b), y, n, d, f, relu);
          expectClose(`linear y ${n}×${d}→${f}`, await down(dev, y), want, tolFor(d));
        }
        const [dx, dw, db] = [
          new Float32Array(n * d),
          new Float32Array(f * d),
          new Float32Array(f),
        ];
        refBackend.linearBackward(x, w, dy, dx, dw, db, n, d, f);
        const [gdx, gdw, gdb] = [dev.array(n * d), dev.array(f * d), dev.array(f)];
        linearBackward(dev, up(dev, x), up(dev, w), up(dev, dy), gdx, gdw, gdb, n, d, f);
        expectClose('linear dx', await down(dev, gdx), dx, tolFor(f));
        expectClose('linear dw', await down(dev, gdw), dw, tolFor(n));
        expectClose('linear db', await down(dev, gdb), db, tolFor(n));
      }
    });

    it(`convolution forward and backward: groups, strides, padding [${tag}]`, async () => {
      const rng = new Rng(2);
      const geoms = [
        convGeom(2, 3, 13, 8, 5, 2, 2, 1),
        convGeom(2, 4, 9, 6, 3, 1, 1, 2),
        convGeom(1, 2, 19, 4, 11, 4, 1, 1),
        convGeom(3, 6, 5, 6, 1, 1, 0, 3),
      ];
      for (const g of geoms) {
        const cig = g.cIn / g.groups;
        const x = rand(g.n * g.cIn * g.h * g.w, rng);
        const w = rand(g.cOut * cig * g.kh * g.kw, rng);
        const b = rand(g.cOut, rng);
        const dy = rand(g.n * g.cOut * g.ho * g.wo, rng);
        const what = `conv ${JSON.stringify(g)}`;
        for (const relu of [false, true]) {
          const want = new Float32Array(dy.length);
          refBackend.conv2dForward(x, w, b, want, g, relu);
          const y = dev.array(dy.length);
          conv2dForward(dev, up(dev, x), up(dev, w), up(dev, b), y, g, relu);
          expectClose(`${what} y`, await down(dev, y), want, tolFor(cig * g.kh * g.kw));
        }
        const [dx, dw, db] = [
          new Float32Array(x.length),
          new Float32Array(w.length),
          new Float32Array(g.cOut),
        ];
        refBackend.conv2dBackward(x, w, dy, dx, dw, db, g);
        const [gdx, gdw, gdb] = [dev.array(x.length), dev.array(w.length), dev.array(g.cOut)];
        conv2dBackward(dev, up(dev, x), up(dev, w), up(dev, dy), gdx, gdw, gdb, g);
        const r = g.n * g.ho * g.wo;
        expectClose(
          `${what} dx`,
          await down(dev, gdx),
          dx,
          tolFor((g.cOut / g.groups) * g.kh * g.kw),
        );
        expectClose(`${what} dw`, await down(dev, gdw), dw, tolFor(r));
        expectClose(`${what} db`, await down(dev, gdb), db, tolFor(r));
      }
    });

    it(`pooling: max (argmax, ties), average with padding, adaptive [${tag}]`, async () => {
      const rng = new Rng(3);
      for (const g of [
        poolGeom(2, 3, 13, 3, 2, 0),
        poolGeom(1, 2, 8, 3, 2, 1),
        poolGeom(2, 2, 6, 2, 2, 0),
      ]) {
        // Rounded values make ties, which must go to the first maximum in row-major order.
        const x = rand(g.n * g.c * g.h * g.w, rng).map((v) => Math.round(v * 4) / 4);
        const dy = rand(g.n * g.c * g.ho * g.wo, rng);
        const y = new Float32Array(dy.length),
          am = new Int32Array(dy.length),
          dx = new Float32Array(x.length);
        refBackend.maxPoolForward(x, y, am, g);
        refBackend.maxPoolBackward(dy, am, dx, g);
        const [gx, gy, gam, gdx] = [
          up(dev, x),
          dev.array(y.length),
          dev.array(y.length),
          dev.array(x.length),
        ];
        poolForward(dev, 'max', gx, gy, gam, poolShape(g));
        poolBackward(dev, 'max', up(dev, dy), gdx, gam, poolShape(g));
        assert.deepEqual(await down(dev, gy), y, `max pool y ${JSON.stringify(g)}`);
        assert.deepEqual(await downInt(dev, gam), am, 'max pool argmax');
        expectClose('max pool dx', await down(dev, gdx), dx, 1e-6);
        refBackend.avgPoolForward(x, y, g);
        refBackend.avgPoolBackward(dy, dx, g);
        poolForward(dev, 'avg', gx, gy, null, poolShape(g));
        poolBackward(dev, 'avg', up(dev, dy), gdx, null, poolShape(g));
        expectClose('avg pool y', await down(dev, gy), y, 1e-6);
        expectClose('avg pool dx', await down(dev, gdx), dx, 1e-6);
      }
      for (const [h, w, ho, wo] of [
        [13, 13, 6, 6],
        [5, 7, 3, 2],
        [3, 2, 6, 5],
      ]) {
        const x = rand(2 * 3 * h * w, rng),
          dy = rand(2 * 3 * ho * wo, rng);
        const y = new Float32Array(dy.length),
          dx = new Float32Array(x.length);
        refBackend.adaptiveAvgPoolForward(x, y, 2, 3, h, w, ho, wo);
        refBackend.adaptiveAvgPoolBackward(dy, dx, 2, 3, h, w, ho, wo);
        const s = adaptiveShape(2, 3, h, w, ho, wo);
        const [gy, gdx] = [dev.array(y.length), dev.array(x.length)];
        poolForward(dev, 'adaptive', up(dev, x), gy, null, s);
        poolBackward(dev, 'adaptive', up(dev, dy), gdx, null, s);
        expectClose(`adaptive y ${h}×${w}→${ho}×${wo}`, await down(dev, gy), y, 1e-6);
        expectClose('adaptive dx', await down(dev, gdx), dx, 1e-6);
      }
    });

    it(`LRN forward and backward, both alpha scalings [${tag}]`, async () => {
      const rng = new Rng(4);
      for (const alphaScaling of ['per-size', 'absolute'] as const) {
        const p: LrnParams = {
          n: 2,
          c: 7,
          h: 3,
          w: 5,
          size: 5,
          alpha: 0.3,
          beta: 0.75,
          k: 2,
          alphaScaling,
        };
        const len = p.n * p.c * p.h * p.w;
        const x = rand(len, rng, -3, 3),
          dy = rand(len, rng);
        const [y, sc, dx] = [new Float32Array(len), new Float32Array(len), new Float32Array(len)];
        refBackend.lrnForward(x, y, sc, p);
        refBackend.lrnBackward(x, y, sc, dy, dx, p);
        const [gx, gy, gsc, gdx] = [up(dev, x), dev.array(len), dev.array(len), dev.array(len)];
        lrnForward(dev, gx, gy, gsc, p);
        lrnBackward(dev, gx, gy, gsc, up(dev, dy), gdx, p);
        expectClose(`lrn y ${alphaScaling}`, await down(dev, gy), y, TRANSCENDENTAL);
        expectClose('lrn scale', await down(dev, gsc), sc, tolFor(5));
        expectClose('lrn dx', await down(dev, gdx), dx, TRANSCENDENTAL);
      }
    });

    it(`softmax cross-entropy with label smoothing [${tag}]`, async () => {
      const rng = new Rng(5);
      for (const [n, l, eps] of [
        [4, 10, 0],
        [3, 900, 0.1],
        [300, 7, 0.2],
      ]) {
        const z = rand(n * l, rng, -20, 20);
        const labels = Int32Array.from({ length: n }, () => rng.int(l));
        const [probs, dz] = [new Float32Array(n * l), new Float32Array(n * l)];
        const loss = refBackend.softmaxCrossEntropy(z, labels, n, l, eps, probs, dz);
        const [gp, gdz, gl] = [dev.array(n * l), dev.array(n * l), dev.array(1)];
        softmaxCrossEntropy(dev, up(dev, z), up(dev, labels), n, l, eps, gp, gdz, gl);
        const got = (await down(dev, gl))[0];
        expectClose(`loss n=${n} l=${l}`, [got], [loss], TRANSCENDENTAL);
        expectClose('probs', await down(dev, gp), probs, TRANSCENDENTAL);
        expectClose('dlogits', await down(dev, gdz), dz, TRANSCENDENTAL);
      }
    });

    it(`activations, dropout masks, scale, SGD; in place [${tag}]`, async () => {
      const rng = new Rng(6);
      const len = 3001;
      const x = rand(len, rng, -4, 4),
        dy = rand(len, rng);
      for (const kind of ['relu', 'tanh', 'sigmoid'] as const) {
        const [y, dx] = [new Float32Array(len), new Float32Array(len)];
        refBackend.activationForward(kind, x, y);
        refBackend.activationBackward(kind, y, dy, dx);
        const [gy, gdx] = [dev.array(len), dev.array(len)];
        elementwise(dev, activationOp(kind, false), [up(dev, x), gy], len);
        elementwise(dev, activationOp(kind, true), [up(dev, y), up(dev, dy), gdx], len);
        expectClose(`${kind}`, await down(dev, gy), y, TRANSCENDENTAL);
        expectClose(`${kind} backward`, await down(dev, gdx), dx, TRANSCENDENTAL);
        const inPlace = up(dev, x);
        elementwise(dev, activationOp(kind, false), [inPlace, inPlace], len);
        expectClose(`${kind} in place`, await down(dev, inPlace), y, TRANSCENDENTAL);
      }
      const mask = Uint8Array.from({ length: len }, () => (rng.uniform() < 0.5 ? 1 : 0));
      const want = new Float32Array(len);
      refBackend.dropoutApply(x, mask, 2, want);
      const bytes = new Uint8Array(Math.ceil(len / 4) * 4);
      bytes.set(mask);
      const gm = up(dev, new Uint32Array(bytes.buffer));
      const gy = dev.array(len);
      elementwise(dev, 'dropout', [up(dev, x), gm, gy], len, { a: 2 });
      expectClose('dropout', await down(dev, gy), want, 0);
      refBackend.scale(x, 0.5, want);
      elementwise(dev, 'scale', [gy, gy], len, { a: 0.25 });
      const half = want.map((v, i) => v * mask[i]);
      expectClose('scale in place', await down(dev, gy), half, 1e-7);

      const w = rand(len, rng),
        g = rand(len, rng),
        v = rand(len, rng);
      const [gw, gg, gv] = [up(dev, w), up(dev, g), up(dev, v)];
      refBackend.sgdUpdate(w, g, v, 0.01, 0.9, 5e-4);
      elementwise(dev, 'sgd', [gg, gv, gw], len, { a: 0.01, b: 0.9, c: 5e-4 * 0.01 });
      expectClose('sgd w', await down(dev, gw), w, 1e-6);
      expectClose('sgd v', await down(dev, gv), v, 1e-6);
    });
  }
});
