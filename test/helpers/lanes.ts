// The lanes a kernel-level gradient check runs on, each calling kernels through the kernel table
// (backend[kernel](tensors, attrs), checked against the declaration) with its own tensors:
//   - 'ref (float64)': the ref backend on tensors with float64 storage. The table declares
//     float32, and checkCall looks only at the handle's dtype and size, while the ref kernel
//     bodies are written over either array type — so the same table call computes in float64,
//     the precision a central-difference check at the tight tolerance needs. Host-only: these
//     handles are never given to another backend.
//   - every backend path of everyBackendPath() (ref, native at each ISA, webgpu) in float32,
//     with data moved through the edges (upload, await download).
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { Backend, TensorHandle } from '../../src/backend/backend.js';
import { refBackend } from '../../src/backend/ref/index.js';
import { Tensor } from '../../src/tensor/tensor.js';
import type { Rng } from '../../src/util/rng.js';
import { everyBackendPath } from './backends.js';
import { compareGradients, numericGradient, type GradTolerance } from './gradcheck.js';

export type F = TensorHandle<'float32'>;

export interface Lane {
  label: string;
  backend: Backend;
  /** Storage is float64 (the ref oracle lane). */
  f64: boolean;
  select(): void;
  /** A float32 tensor holding `data` (float64 storage on the oracle lane). */
  t(data: ArrayLike<number>): F;
  /** A tensor of n NaNs: a kernel must overwrite it. */
  out(n: number): F;
  i32(data: ArrayLike<number>): TensorHandle<'int32'>;
  u8(data: ArrayLike<number>): TensorHandle<'uint8'>;
  /** The values of `h`, after the queued work that writes it. */
  read(h: TensorHandle): Promise<Float64Array>;
}

/** A float32-labelled host tensor over float64 storage (see the header). */
function f64Tensor(data: Float64Array): F {
  const t = Object.create(Tensor.prototype) as { shape: number[]; dtype: string; data: unknown };
  Object.assign(t, { shape: [data.length], dtype: 'float32', data });
  return t as unknown as F;
}

function lane(label: string, backend: Backend, select: () => void, f64: boolean): Lane {
  const up = <T extends Tensor<'float32'> | Tensor<'int32'> | Tensor<'uint8'>>(t: T) =>
    backend.upload(t as Tensor<never>) as unknown as TensorHandle<T['dtype']>;
  return {
    label,
    backend,
    f64,
    select,
    t: (data) =>
      f64
        ? f64Tensor(Float64Array.from(data))
        : up(new Tensor([data.length], Float32Array.from(data))),
    out: (n) =>
      f64
        ? f64Tensor(new Float64Array(n).fill(NaN))
        : up(new Tensor([n], new Float32Array(n).fill(NaN))),
    i32: (data) => up(Tensor.of('int32', [data.length], Int32Array.from(data))),
    u8: (data) => up(Tensor.of('uint8', [data.length], Uint8Array.from(data))),
    read: async (h) => {
      if (f64) return (h as unknown as { data: Float64Array }).data;
      backend.flush();
      return Float64Array.from((await backend.download(h)).data as ArrayLike<number>);
    },
  };
}

/** The float64 ref lane, synchronous: what the central differences evaluate. */
export const oracle: Lane = lane('ref (float64)', refBackend, () => {}, true);

/** The oracle lane, then every backend path in float32. `close()` as everyBackendPath's. */
export async function everyLane(): Promise<{ lanes: Lane[]; close(): void }> {
  const { paths, close } = await everyBackendPath();
  return {
    lanes: [oracle, ...paths.map((p) => lane(p.label, p.backend, p.select, false))],
    close,
  };
}

/** The float64 storage of an oracle-lane tensor (perturbed in place by the differences). */
export function storage(h: F): Float64Array {
  return (h as unknown as { data: Float64Array }).data;
}

// ---- what the gradient checks share ------------------------------------------------------

// float64 central differences (ε = 1e-6) agree with a correct backward to ~1e-9 relative;
// anything past this tolerance is a bug, not noise.
export const TOL: GradTolerance = { atol: 1e-7, rtol: 1e-5 };
/** A float32 backward against the float64 differences: float32 sums of up to a few hundred terms
 *  of size ~1. Every float32 lane here passes at 1/30 of it (worst: conv dx, tanh dx). */
export const TOL32: GradTolerance = { atol: 4e-6, rtol: 2e-5 };
/** A float32 forward against its float64 definition: |got − want| ≤ FWD32·(1 + |want|). */
export const FWD32 = 2e-5;

export function randn(rng: Rng, len: number, std = 1): Float64Array {
  const a = new Float64Array(len);
  for (let i = 0; i < len; i++) a[i] = Math.fround(rng.normal(0, std)); // exact in float32
  return a;
}

/** The analytic gradient of a lane against the numeric one, at the lane's tolerance. */
export function assertGrad(
  l: Lane,
  name: string,
  analytic: Float64Array,
  numeric: Float64Array,
): void {
  const r = compareGradients(`${name} on ${l.label}`, analytic, numeric, l.f64 ? TOL : TOL32);
  assert.ok(r.ok, r.message);
}

/** A forward against its definition: 1e-12 absolute (or `tol64`) in float64, FWD32 in float32. */
export function assertNear(
  l: Lane,
  what: string,
  got: Float64Array,
  want: ArrayLike<number>,
  tol64 = 1e-12,
): void {
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    const tol = l.f64 ? tol64 : FWD32 * (1 + Math.abs(want[i]));
    const err = Math.abs(got[i] - want[i]);
    const e = err === 0 ? 0 : err / tol; // NaN, and any error at tolerance 0, fail
    if (!(e <= worst)) worst = e;
  }
  assert.ok(worst <= 1, `${what} on ${l.label}: error ${worst.toExponential(2)}× the tolerance`);
}

/** Runs `body` as one subtest per lane, with the lane's ISA selected. */
export async function onEveryLane(
  t: TestContext,
  lanes: readonly Lane[],
  body: (l: Lane) => Promise<void>,
): Promise<void> {
  for (const l of lanes)
    await t.test(l.label, async () => {
      l.select();
      await body(l);
    });
}

/** Numeric ∂(probe)/∂(each of `xs`), by central differences on the oracle lane. */
export function numeric(probe: () => number, ...xs: F[]): Float64Array[] {
  return xs.map((x) => numericGradient(probe, storage(x)));
}
