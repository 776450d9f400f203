// Elementwise kernels on the GPU: activations and their gradients, dropout's mask, scaling, and
// the paper's SGD update (ref/elementwise.ts, ref/sgd.ts). One invocation per element; tensors
// larger than one storage binding are taken in windows of elements.
//
// Dropout masks are drawn on the host by the run's seeded generator (nn/dropout.ts), exactly as
// for the CPU backends, and come up as the host's uint8 tensor: four mask bytes to a u32 word.
import type { Activation } from '../backend.js';
import {
  LINEAR_INDEX,
  grid,
  uniformStruct,
  type GpuArray,
  type GpuDevice,
  type UniformFields,
} from './device.js';

const FIELDS: UniformFields = [
  ['count', 'u32'],
  ['start', 'u32'],
  ['a', 'f32'],
  ['b', 'f32'],
  ['c', 'f32'],
  ['b0', 'u32'],
  ['b1', 'u32'],
  ['b2', 'u32'],
];

export type ElementwiseOp =
  | 'relu'
  | 'tanh'
  | 'sigmoid'
  | 'reluBackward'
  | 'tanhBackward'
  | 'sigmoidBackward'
  | 'dropout'
  | 'scale'
  | 'sgd';

/** Per op: the storage operands (t0, t1, t2, in binding order, the last read_write unless
 *  noted) and the body, with element index i (window-relative) and the window's first
 *  element `p.start` (global; dropout's bit index). */
const OPS: Record<ElementwiseOp, { operands: string[]; body: string }> = {
  // `select(x, 0, x < 0)` keeps a NaN, as the ref's `x < 0 ? 0 : x` does (PyTorch's relu).
  relu: {
    operands: ['x', 'y'],
    body: 'let v = x[p.b0 + i]; y[p.b1 + i] = select(v, 0.0, v < 0.0);',
  },
  // tanh saturates to ±1 in f32 by |x| = 9; the clamp keeps sinh/cosh-based tanh finite.
  tanh: { operands: ['x', 'y'], body: 'y[p.b1 + i] = tanh(clamp(x[p.b0 + i], -15.0, 15.0));' },
  sigmoid: { operands: ['x', 'y'], body: 'y[p.b1 + i] = 1.0 / (1.0 + exp(-x[p.b0 + i]));' },
  reluBackward: {
    operands: ['y', 'dy', 'dx'],
    // threshold_backward, as ref: y ≤ 0 ? 0 : dy (a NaN y passes dy on).
    body: 'dx[p.b2 + i] = select(dy[p.b1 + i], 0.0, y[p.b0 + i] <= 0.0);',
  },
  tanhBackward: {
    operands: ['y', 'dy', 'dx'],
    body: 'let v = y[p.b0 + i]; dx[p.b2 + i] = dy[p.b1 + i] * (1.0 - v * v);',
  },
  sigmoidBackward: {
    operands: ['y', 'dy', 'dx'],
    body: 'let v = y[p.b0 + i]; dx[p.b2 + i] = dy[p.b1 + i] * v * (1.0 - v);',
  },
  // a = scale; element g's mask byte is byte g mod 4 (little-endian) of word g / 4.
  dropout: {
    operands: ['x', 'mask', 'y'],
    body: `let g = p.start + i;
  let m = (mask[g / 4u] >> ((g % 4u) * 8u)) & 0xffu;
  y[p.b2 + i] = x[p.b0 + i] * f32(m) * p.a;`,
  },
  scale: { operands: ['x', 'y'], body: 'y[p.b1 + i] = x[p.b0 + i] * p.a;' },
  // a = lr, b = momentum, c = weightDecay·lr:  v ← b·v − c·w − a·g ;  w ← w + v
  sgd: {
    operands: ['g', 'v', 'w'],
    body: `let vi = p.b * v[p.b1 + i] - p.c * w[p.b2 + i] - p.a * g[p.b0 + i];
  v[p.b1 + i] = vi;
  w[p.b2 + i] = w[p.b2 + i] + vi;`,
  },
};

/** Operands the shader writes (the rest are read-only bindings). */
const WRITTEN = new Set(['y', 'dx', 'v', 'w']);

/** `alias[j]` = i < j when operand j is operand i's buffer (in place: y = x): WebGPU forbids
 *  binding one buffer as both read-only and writable storage in a dispatch, so j is not bound
 *  and its uses read and write operand i's binding. */
function shader(op: ElementwiseOp, alias: readonly number[]): string {
  const { operands } = OPS[op];
  let body = OPS[op].body;
  const bound: string[] = [];
  operands.forEach((name, j) => {
    if (alias[j] !== j)
      body = body.replace(new RegExp(`\\b${name}\\[`, 'g'), `${operands[alias[j]]}[`);
  });
  operands.forEach((name, i) => {
    if (alias[i] !== i) return;
    const type = name === 'mask' ? 'array<u32>' : 'array<f32>';
    const written = operands.some((n, j) => alias[j] === i && WRITTEN.has(n));
    const access = written ? 'read_write' : 'read';
    bound.push(`@group(0) @binding(${bound.length + 1}) var<storage, ${access}> ${name}: ${type};`);
  });
  const bindings = bound.join('\n');
  return `${uniformStruct(FIELDS)}
${bindings}
${LINEAR_INDEX}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_id) lid: vec3u) {
  let i = linearIndex(wid, nwg, lid);
  if (i >= p.count) { return; }
  ${body}
}
`;
}

/** Runs `op` over `count` elements. `operands` in the op's order; a mask operand is bound whole
 *  (a quarter of the tensor it masks, so within a binding whenever that tensor's windows are). Scalars a, b, c per the op. */
export function elementwise(
  dev: GpuDevice,
  op: ElementwiseOp,
  operands: readonly GpuArray[],
  count: number,
  scalars: { a?: number; b?: number; c?: number } = {},
): void {
  const alias = operands.map((t) => operands.findIndex((u) => u.buffer === t.buffer));
  const pipeline = dev.pipeline(`elementwise:${op}:${alias.join('')}`, () => shader(op, alias));
  const names = OPS[op].operands;
  const step = Math.floor(dev.windowElements / 4) * 4; // mask words stay whole
  for (let start = 0; start < count; start += step) {
    const len = Math.min(step, count - start);
    const ws = operands.map((t, i) =>
      names[i] === 'mask' ? dev.window(t) : dev.window(t, start, len),
    );
    dev.dispatch(
      pipeline,
      FIELDS,
      {
        ...{ count: len, start, a: scalars.a ?? 0, b: scalars.b ?? 0, c: scalars.c ?? 0 },
        ...{ b0: ws[0].base, b1: ws[1].base, b2: ws[2]?.base ?? 0 },
      },
      ws.filter((_, j) => alias[j] === j).map((w) => w.binding),
      grid(len),
    );
  }
}

export function activationOp(kind: Activation, backward: boolean): ElementwiseOp {
  return backward ? `${kind}Backward` : kind;
}
