// The bfloat16 oracle (kernels.ts, "Precision"): a GEMM kernel called with a bfloat16 w on ref
// gives EXACTLY the float32 ref kernel run on the pre-rounded inputs (w widened, x and dy rounded
// to bfloat16 by `cast`), and db is the sum of the unrounded dy. The native backend, through the
// fallback a Net puts around it, agrees within float32 accumulation order; webgpu declines bfloat16
// GEMM calls, so they fall back there too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../../src/backend/backend.js';
import { withFallback } from '../../src/backend/fallback.js';
import { convOutputSize, type KernelName } from '../../src/backend/kernels.js';
import { nativeBackend } from '../../src/backend/native/index.js';
import { refBackend } from '../../src/backend/ref/index.js';
import { WebgpuBackend } from '../../src/backend/webgpu/index.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Rng } from '../../src/util/rng.js';

const GEMM: readonly KernelName[] = [
  'conv2dForward',
  'conv2dBackward',
  'linearForward',
  'linearBackward',
];

function random(shape: number[], rng: Rng): Tensor {
  const t = new Tensor(shape);
  for (let i = 0; i < t.size; i++) t.data[i] = rng.normal();
  return t;
}
function toBf16(x: Tensor): Tensor<'bfloat16'> {
  const y = Tensor.of('bfloat16', x.shape);
  refBackend.cast({ x, y }, {});
  return y;
}
function widen(x: Tensor<'bfloat16'>): Tensor {
  const y = new Tensor(x.shape);
  refBackend.cast({ x, y }, {});
  return y;
}
const rounded = (x: Tensor): Tensor => widen(toBf16(x));
const zeros = (t: Tensor): Tensor => new Tensor(t.shape);

const g = { n: 2, cIn: 4, h: 7, w: 6, cOut: 6, kh: 3, kw: 3, stride: 2, pad: 1, groups: 2 };
const conv = {
  ...g,
  ho: convOutputSize(g.h, g.kh, g.stride, g.pad),
  wo: convOutputSize(g.w, g.kw, g.stride, g.pad),
};
const lin = { n: 3, d: 37, f: 5 };

interface Case {
  x: Tensor;
  w: Tensor;
  dy: Tensor;
  b: Tensor;
}
function convCase(seed: number): Case {
  const rng = new Rng(seed);
  return {
    x: random([conv.n, conv.cIn, conv.h, conv.w], rng),
    w: random([conv.cOut, conv.cIn / conv.groups, conv.kh, conv.kw], rng),
    dy: random([conv.n, conv.cOut, conv.ho, conv.wo], rng),
    b: random([conv.cOut], rng),
  };
}
function linCase(seed: number): Case {
  const rng = new Rng(seed);
  return {
    x: random([lin.n, lin.d], rng),
    w: random([lin.f, lin.d], rng),
    dy: random([lin.n, lin.f], rng),
    b: random([lin.f], rng),
  };
}

/** Forward y, backward dx, dw, db of one case on `be` with the given w. */
function runAll(
  be: Backend,
  kind: 'conv' | 'linear',
  c: Case,
  w: Tensor | Tensor<'bfloat16'>,
  x = c.x,
  dy = c.dy,
) {
  const y = new Tensor(kind === 'conv' ? [conv.n, conv.cOut, conv.ho, conv.wo] : [lin.n, lin.f]);
  const [dx, dw, db] = [zeros(c.x), zeros(c.w), zeros(c.b)];
  if (kind === 'conv') {
    be.conv2dForward({ x, w, b: c.b, y }, { ...conv, relu: true });
    be.conv2dBackward({ x, w, dy, dx, dw, db }, conv);
  } else {
    be.linearForward({ x, w, b: c.b, y }, { ...lin, relu: true });
    be.linearBackward({ x, w, dy, dx, dw, db }, lin);
  }
  return { y: y.data, dx: dx.data, dw: dw.data, db: db.data };
}

for (const kind of ['conv', 'linear'] as const) {
  test(`ref ${kind} with bfloat16 w equals the float32 ref on pre-rounded inputs, bit for bit`, () => {
    const c = kind === 'conv' ? convCase(1) : linCase(2);
    const w16 = toBf16(c.w);
    const mixed = runAll(refBackend, kind, c, w16);
    const oracle = runAll(refBackend, kind, c, widen(w16), rounded(c.x), rounded(c.dy));
    assert.deepEqual(mixed.y, oracle.y);
    assert.deepEqual(mixed.dx, oracle.dx);
    assert.deepEqual(mixed.dw, oracle.dw);
    // db sums the unrounded dy: exactly the float32 call's db.
    assert.deepEqual(mixed.db, runAll(refBackend, kind, c, c.w).db);
    // x and dy really are rounded: the widened w alone on unrounded x / dy gives other values.
    const unrounded = runAll(refBackend, kind, c, widen(w16));
    assert.notDeepEqual(mixed.y, unrounded.y);
    assert.notDeepEqual(mixed.dx, unrounded.dx);
    assert.notDeepEqual(mixed.dw, unrounded.dw);
  });
}

/** |a − b| ≤ 1e-5 · (1 + |b|) elementwise: the same rounded products, summed in another order. */
function assertClose(a: Float32Array, b: Float32Array, what: string): void {
  for (let i = 0; i < a.length; i++)
    if (!(Math.abs(a[i] - b[i]) <= 1e-5 * (1 + Math.abs(b[i]))))
      assert.fail(`${what}[${i}]: ${a[i]} vs ref ${b[i]}`);
}

test('a bfloat16 GEMM call on native (with the fallback a Net adds) agrees with ref', (t) => {
  if (!nativeBackend) return t.skip('native addon not loaded');
  const native = withFallback(nativeBackend, refBackend, GEMM);
  for (const kind of ['conv', 'linear'] as const) {
    const c = kind === 'conv' ? convCase(3) : linCase(4);
    const w16 = toBf16(c.w);
    const got = runAll(native, kind, c, w16);
    const want = runAll(refBackend, kind, c, w16);
    for (const k of ['y', 'dx', 'dw', 'db'] as const) assertClose(got[k], want[k], `${kind} ${k}`);
  }
});

test('webgpu declines bfloat16 GEMM calls (they fall back) and takes float32 ones', () => {
  const supports = WebgpuBackend.prototype.supports;
  for (const k of GEMM) {
    assert.equal(supports.call(null, k, ['float32', 'bfloat16']), false, k);
    assert.equal(supports.call(null, k, ['float32']), true, k);
  }
});
