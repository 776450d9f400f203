// Every kernel of the table on the webgpu backend against the ref backend (the oracle), through
// the Backend interface (upload, kernel call, download), on small shapes: lavapipe, the CPU
// Vulkan driver these tests run on without a GPU, computes a few GFLOP/s at best. The cases are
// data: a kernel, its attributes, and where random inputs will not do, how to make them; the
// arguments, their shapes and which of them the kernel writes come from the kernel table.
//
// Tolerance: |webgpu − ref| ≤ tol·(1 + |ref|) per element, tol = 2e-6·(8 + √R) for a reduction
// of length R (float32 sums in another order; the GPU may fuse multiply-adds); 2e-5 where exp,
// log, pow or tanh enter (WGSL allows a few ulp more than V8's); pools, argmax, masks exactly.
// Every case also runs on a second device whose storage bindings are capped at 4 KiB, so the
// window splitting (fc6's 151 MB weights against lavapipe's 128 MiB limit) runs on small tensors.
//
// Without the `webgpu` package or an adapter the suite skips, saying why; with CI=true it must run.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { convOutputSize, type Backend, type TensorHandle } from '../../../src/backend/backend.js';
import type { TensorDecl } from '../../../src/backend/declare.js';
import { KERNELS, KERNEL_NAMES, type KernelName } from '../../../src/backend/kernels.js';
import { refBackend } from '../../../src/backend/ref/index.js';
import type { GpuDevice } from '../../../src/backend/webgpu/device.js';
import { webgpuBackend } from '../../../src/backend/webgpu/index.js';
import { openNodeDevice } from '../../../src/backend/webgpu/node-gpu.js';
import { Tensor, sizeOf, type DType, type Shape } from '../../../src/tensor/tensor.js';
import { Rng } from '../../../src/util/rng.js';

const devices: { tag: string; dev: GpuDevice }[] = [];
let skip: string | false = false;
try {
  devices.push({ tag: 'full bindings', dev: await openNodeDevice() });
  devices.push({ tag: '4 KiB bindings', dev: await openNodeDevice({ bindingLimit: 4096 }) });
} catch (e) {
  if (process.env.CI === 'true') throw e;
  skip = (e as Error).message;
}

type Attrs = Record<string, unknown>;
type Inputs = Record<string, Tensor<DType> | null>;
interface Case {
  kernel: KernelName;
  attrs: Attrs;
  /** Inputs random data will not do for (labels, a forward's outputs); the rest are drawn. */
  inputs?: (rng: Rng, attrs: Attrs) => Inputs;
  /** Arguments passed as null. */
  nulls?: string[];
  tol: number;
}

const tolFor = (r: number) => 2e-6 * (8 + Math.sqrt(r));
const TRANSCENDENTAL = 2e-5;

function conv(
  n: number,
  cIn: number,
  h: number,
  cOut: number,
  k: number,
  stride: number,
  pad: number,
  groups: number,
): Attrs {
  const w = h + 1;
  const [ho, wo] = [convOutputSize(h, k, stride, pad), convOutputSize(w, k, stride, pad)];
  return { n, cIn, h, w, cOut, kh: k, kw: k, stride, pad, groups, ho, wo };
}

function pool(n: number, c: number, h: number, k: number, stride: number, pad: number): Attrs {
  const w = h + 2;
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

function uniform(rng: Rng, shape: Shape, lo = -1, hi = 1, round = 0): Tensor {
  const t = new Tensor(shape);
  for (let i = 0; i < t.size; i++) {
    const v = lo + (hi - lo) * rng.uniform();
    t.data[i] = round ? Math.round(v * round) / round : v;
  }
  return t;
}

/** A forward run on ref, for backward cases that need its outputs (argmax, LRN scale). */
function refOutputs(kernel: KernelName, attrs: Attrs, inputs: Inputs): Inputs {
  const all = { ...inputs };
  for (const [name, d] of Object.entries(KERNELS[kernel].args) as [string, TensorDecl<Attrs>][])
    if (d.writes) all[name] = Tensor.of(d.dtypes[0], d.shape!(attrs));
  (refBackend[kernel] as unknown as (t: Inputs, a: Attrs) => void)(all, attrs);
  return all;
}

const convCases = [
  conv(2, 3, 13, 8, 5, 2, 2, 1),
  conv(2, 4, 9, 6, 3, 1, 1, 2),
  conv(1, 2, 19, 4, 11, 4, 1, 1),
  conv(3, 6, 5, 6, 1, 1, 0, 3),
];
const poolCases = [pool(2, 3, 13, 3, 2, 0), pool(1, 2, 8, 3, 2, 1), pool(2, 2, 6, 2, 2, 0)];
const adaptiveCases = [
  [13, 13, 6, 6],
  [5, 7, 3, 2],
  [3, 2, 6, 5],
].map(([h, w, ho, wo]) => ({ n: 2, c: 3, h, w, ho, wo }));
const lrnCase = (alphaScaling: string) => ({
  n: 2,
  c: 7,
  h: 3,
  w: 5,
  size: 5,
  alpha: 0.3,
  beta: 0.75,
  k: 2,
  alphaScaling,
});
const len = 3001;

const CASES: Case[] = [
  ...convCases.flatMap((a): Case[] => {
    const g = a as {
      n: number;
      cIn: number;
      cOut: number;
      kh: number;
      kw: number;
      groups: number;
      ho: number;
      wo: number;
    };
    const forward = tolFor((g.cIn / g.groups) * g.kh * g.kw);
    const backward = tolFor(Math.max(g.n * g.ho * g.wo, (g.cOut / g.groups) * g.kh * g.kw));
    return [
      { kernel: 'conv2dForward', attrs: { ...a, relu: false }, tol: forward },
      { kernel: 'conv2dForward', attrs: { ...a, relu: true }, nulls: ['b'], tol: forward },
      { kernel: 'conv2dBackward', attrs: a, tol: backward },
    ];
  }),
  { kernel: 'conv2dBackward', attrs: convCases[1], nulls: ['dx', 'db'], tol: tolFor(2 * 9 * 10) },
  ...[
    [3, 17, 70],
    [5, 64, 33],
    [1, 9, 130],
  ].flatMap(([n, d, f]): Case[] => [
    { kernel: 'linearForward', attrs: { n, d, f, relu: false }, tol: tolFor(d) },
    { kernel: 'linearForward', attrs: { n, d, f, relu: true }, nulls: ['b'], tol: tolFor(d) },
    { kernel: 'linearBackward', attrs: { n, d, f }, tol: tolFor(f) },
  ]),
  ...poolCases.flatMap((a): Case[] => {
    // Values rounded to quarters make ties: the first maximum in row-major order must win.
    const x = (rng: Rng) => uniform(rng, [a.n, a.c, a.h, a.w] as number[], -1, 1, 4);
    return [
      { kernel: 'maxPoolForward', attrs: a, inputs: (rng) => ({ x: x(rng) }), tol: 0 },
      {
        kernel: 'maxPoolBackward',
        attrs: a,
        inputs: (rng, at) => ({ argmax: refOutputs('maxPoolForward', at, { x: x(rng) }).argmax }),
        tol: 1e-6,
      },
      { kernel: 'avgPoolForward', attrs: a, tol: 1e-6 },
      { kernel: 'avgPoolBackward', attrs: a, tol: 1e-6 },
    ];
  }),
  ...adaptiveCases.flatMap((a): Case[] => [
    { kernel: 'adaptiveAvgPoolForward', attrs: a, tol: 1e-6 },
    { kernel: 'adaptiveAvgPoolBackward', attrs: a, tol: 1e-6 },
  ]),
  ...['per-size', 'absolute'].flatMap((s): Case[] => {
    const x = (rng: Rng) => uniform(rng, [2, 7, 3, 5], -3, 3);
    return [
      {
        kernel: 'lrnForward',
        attrs: lrnCase(s),
        inputs: (rng) => ({ x: x(rng) }),
        tol: TRANSCENDENTAL,
      },
      {
        kernel: 'lrnBackward',
        attrs: lrnCase(s),
        inputs: (rng, at) => {
          const f = refOutputs('lrnForward', at, { x: x(rng) });
          return { x: f.x, y: f.y, scale: f.scale };
        },
        tol: TRANSCENDENTAL,
      },
    ];
  }),
  ...['relu', 'tanh', 'sigmoid'].flatMap((kind): Case[] => [
    {
      kernel: 'activationForward',
      attrs: { kind },
      inputs: (rng) => ({ x: uniform(rng, [len], -4, 4) }),
      tol: TRANSCENDENTAL,
    },
    {
      kernel: 'activationBackward',
      attrs: { kind },
      inputs: (rng) => ({ y: uniform(rng, [len], -1, 1) }),
      tol: TRANSCENDENTAL,
    },
  ]),
  {
    kernel: 'dropoutApply',
    attrs: { scale: 2 },
    inputs: (rng) => ({
      x: uniform(rng, [len]),
      mask: Tensor.of(
        'uint8',
        [len],
        Uint8Array.from({ length: len }, () => (rng.uniform() < 0.5 ? 1 : 0)),
      ),
    }),
    tol: 0,
  },
  { kernel: 'scale', attrs: { scale: 0.5 }, inputs: (rng) => ({ x: uniform(rng, [len]) }), tol: 0 },
  ...[
    [4, 10, 0],
    [3, 900, 0.1],
    [300, 7, 0.2],
  ].flatMap(([n, l, smoothing]): Case[] => [
    {
      kernel: 'softmaxCrossEntropy',
      attrs: { n, l, smoothing },
      inputs: (rng) => ({
        logits: uniform(rng, [n, l], -20, 20),
        labels: Tensor.of(
          'int32',
          [n],
          Int32Array.from({ length: n }, () => rng.int(l)),
        ),
      }),
      tol: TRANSCENDENTAL,
    },
  ]),
  // Rounding ties to even, a NaN (quiet, sign kept), ±0 and odd lengths (a half-filled word).
  ...(
    [
      ['float32', 'bfloat16'],
      ['bfloat16', 'float32'],
      ['float32', 'float32'],
    ] as const
  ).map(([from, to]): Case => ({
    kernel: 'cast',
    attrs: {},
    inputs: (rng) => {
      const f = uniform(rng, [len], -3, 3);
      const bits = new Uint32Array(f.data.buffer);
      bits[0] = 0x3f808000; // exactly halfway between two bfloat16 values: rounds to even
      bits[1] = 0x3f818000;
      bits[2] = 0xffc00001; // a negative NaN
      bits[3] = 0x80000000; // −0
      const x =
        from === 'float32'
          ? f
          : Tensor.of(
              'bfloat16',
              [len],
              Uint16Array.from(bits, (b) => b >>> 16),
            );
      return { x, y: Tensor.of(to, [len]) };
    },
    tol: 0,
  })),
  {
    kernel: 'sgdUpdate',
    attrs: { lr: 0.01, momentum: 0.9, weightDecay: 5e-4 },
    inputs: (rng) => ({ w: uniform(rng, [len]), v: uniform(rng, [len]) }),
    nulls: ['w16'], // the bfloat16 copy is the host backends' (supports: float32 only)
    tol: 1e-6,
  },
];

/** Draws every input the case did not give; writes args start as zeros (or the given value,
 *  for those read and written: sgd's w and v). */
function makeInputs(c: Case, rng: Rng): Inputs {
  const given = c.inputs?.(rng, c.attrs) ?? {};
  const out: Inputs = {};
  let first: Shape | null = null;
  for (const [name, d] of Object.entries(KERNELS[c.kernel].args) as [string, TensorDecl<Attrs>][]) {
    if (c.nulls?.includes(name)) {
      out[name] = null;
      continue;
    }
    const shape: Shape = d.shape ? d.shape(c.attrs) : (given[name]?.shape ?? first!);
    first ??= shape;
    if (given[name]) out[name] = given[name];
    else if (d.writes) out[name] = Tensor.of(d.dtypes[0], shape);
    else out[name] = uniform(rng, shape);
    assert.equal(out[name]!.size, sizeOf(shape), `${c.kernel}: ${name} size`);
  }
  return out;
}

function copy(t: Tensor<DType>): Tensor<DType> {
  return Tensor.of(t.dtype, t.shape, t.data.slice() as never);
}

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

async function runCase(gpu: Backend, c: Case, seed: number): Promise<void> {
  const inputs = makeInputs(c, new Rng(seed));
  const refArgs: Inputs = {};
  const gpuArgs: Record<string, TensorHandle | null> = {};
  for (const [name, t] of Object.entries(inputs)) {
    refArgs[name] = t && copy(t);
    gpuArgs[name] = t && gpu.upload(copy(t));
  }
  (refBackend[c.kernel] as unknown as (t: Inputs, a: Attrs) => void)(refArgs, c.attrs);
  (gpu[c.kernel] as (t: Record<string, TensorHandle | null>, a: Attrs) => void)(gpuArgs, c.attrs);
  const what = `${c.kernel} ${JSON.stringify(c.attrs)}`;
  for (const [name, d] of Object.entries(KERNELS[c.kernel].args) as [string, TensorDecl<Attrs>][]) {
    if (!d.writes || !gpuArgs[name]) continue;
    const got = (await gpu.download(gpuArgs[name]!)).data;
    const want = refArgs[name]!.data;
    if (d.dtypes[0] === 'int32') assert.deepEqual(got, want, `${what}: ${name}`);
    else expectClose(`${what}: ${name}`, got, want, c.tol);
  }
}

describe('webgpu backend vs ref, kernel by kernel', { skip }, () => {
  after(() => devices.forEach(({ dev }) => dev.destroy()));

  it('the cases cover every kernel of the table', () => {
    const covered = new Set(CASES.map((c) => c.kernel));
    assert.deepEqual(
      KERNEL_NAMES.filter((k) => !covered.has(k)),
      [],
    );
  });

  for (const { tag, dev } of devices) {
    const gpu = webgpuBackend(dev);
    for (const kernel of new Set(CASES.map((c) => c.kernel))) {
      it(`${kernel} [${tag}]`, async () => {
        let seed = 1;
        for (const c of CASES.filter((x) => x.kernel === kernel)) await runCase(gpu, c, seed++);
      });
    }
    it(`in place: y = act(x), dropout and scale with y = x [${tag}]`, async () => {
      const rng = new Rng(9);
      const x = uniform(rng, [len], -4, 4);
      const mask = Tensor.of(
        'uint8',
        [len],
        Uint8Array.from({ length: len }, (_, i) => i % 3 && 1),
      );
      for (const [kernel, attrs, extra] of [
        ['activationForward', { kind: 'tanh' }, {}],
        ['dropoutApply', { scale: 2 }, { mask }],
        ['scale', { scale: 0.25 }, {}],
      ] as const) {
        const want = copy(x);
        (refBackend[kernel] as unknown as (t: Inputs, a: Attrs) => void)(
          { x: want, y: want, ...extra },
          attrs,
        );
        const t = gpu.upload(copy(x));
        const e = Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, gpu.upload(v)]));
        (gpu[kernel] as (t: Record<string, TensorHandle>, a: Attrs) => void)(
          { x: t, y: t, ...e },
          attrs,
        );
        expectClose(`${kernel} in place`, (await gpu.download(t)).data, want.data, TRANSCENDENTAL);
      }
    });
  }

  it('refuses a tensor of another backend, and checks calls against the table', () => {
    const gpu = webgpuBackend(devices[0].dev);
    const host = new Tensor([4]);
    assert.throws(() => gpu.scale({ x: host, y: host }, { scale: 1 }), /another backend/);
    const t = gpu.alloc([4], 'float32');
    assert.throws(
      () => gpu.scale({ x: t, y: gpu.alloc([5], 'float32') }, { scale: 1 }),
      /5 elements/,
    );
  });
});
