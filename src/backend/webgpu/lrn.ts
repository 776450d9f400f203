// Cross-channel local response normalisation on the GPU (SPEC §1, ref/lrn.ts):
//   scale_i = k + s · Σ_{j ∈ W(i)} a_j²,  b_i = a_i · scale_i^(−β),   s = α/size ('per-size') or α
//   ∂L/∂a_i = dy_i · scale_i^(−β) − 2βs · a_i · Σ_{j ∈ W(i)} dy_j · y_j / scale_j
// One invocation per element; channel j of the same pixel sits H·W further on. Large tensors
// are taken in windows of whole samples.
// Letters: N batch, C channels, H×W map.
import type { LrnParams } from '../backend.js';
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
  ['c', 'u32'],
  ['plane', 'u32'],
  ['half', 'u32'],
  ['k', 'f32'],
  ['s', 'f32'],
  ['beta', 'f32'],
  ['coef', 'f32'],
  ['b0', 'u32'],
  ['b1', 'u32'],
  ['b2', 'u32'],
  ['b3', 'u32'],
  ['b4', 'u32'],
];

const HEAD = `${LINEAR_INDEX}
struct Cell { at: u32, first: u32, last: u32, pix: u32, base: u32 }
fn cellOf(i: u32) -> Cell {
  let chw = p.c * p.plane;
  let n = i / chw;
  let ch = (i / p.plane) % p.c;
  let pix = i % p.plane;
  let first = select(0u, ch - p.half, ch >= p.half);
  let last = min(p.c - 1u, ch + p.half);
  return Cell(i, first, last, pix, n * chw);
}
`;

const FORWARD = (withScale: boolean) => `${uniformStruct(FIELDS)}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
${withScale ? '@group(0) @binding(3) var<storage, read_write> sc: array<f32>;' : ''}
${HEAD}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_id) lid: vec3u) {
  let i = linearIndex(wid, nwg, lid);
  if (i >= p.count) { return; }
  let c = cellOf(i);
  var sumSq = 0.0;
  for (var j = c.first; j <= c.last; j++) {
    let a = x[p.b0 + c.base + j * p.plane + c.pix];
    sumSq += a * a;
  }
  let s = p.k + p.s * sumSq;
  ${withScale ? 'sc[p.b2 + i] = s;' : ''}
  y[p.b1 + i] = x[p.b0 + i] * pow(s, -p.beta);
}
`;

const BACKWARD = `${uniformStruct(FIELDS)}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read> sc: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;
${HEAD}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_id) lid: vec3u) {
  let i = linearIndex(wid, nwg, lid);
  if (i >= p.count) { return; }
  let c = cellOf(i);
  var cross = 0.0;
  for (var j = c.first; j <= c.last; j++) {
    let o = c.base + j * p.plane + c.pix;
    cross += (dy[p.b3 + o] * y[p.b1 + o]) / sc[p.b2 + o];
  }
  dx[p.b4 + i] = dy[p.b3 + i] * pow(sc[p.b2 + i], -p.beta) - p.coef * x[p.b0 + i] * cross;
}
`;

function values(p: LrnParams, count: number): Record<string, number> {
  const s = p.alphaScaling === 'per-size' ? p.alpha / p.size : p.alpha;
  return {
    ...{ count, c: p.c, plane: p.h * p.w, half: Math.floor(p.size / 2) },
    ...{ k: p.k, s, beta: p.beta, coef: 2 * p.beta * s },
    ...{ b0: 0, b1: 0, b2: 0, b3: 0, b4: 0 },
  };
}

/** Sample windows [n0, n1) of a [N, C, H, W] tensor within one binding. */
function sampleWindows(dev: GpuDevice, p: LrnParams): [number, number][] {
  const per = p.c * p.h * p.w;
  const step = Math.floor(dev.windowElements / per);
  if (step < 1) throw new Error(`an LRN sample of ${per} elements exceeds one binding`);
  const out: [number, number][] = [];
  for (let n0 = 0; n0 < p.n; n0 += step) out.push([n0, Math.min(p.n, n0 + step)]);
  return out;
}

/** x, y: [N, C, H, W]; scale: [N, C, H, W] | null receives k + s·Σa². */
export function lrnForward(
  dev: GpuDevice,
  x: GpuArray,
  y: GpuArray,
  scale: GpuArray | null,
  p: LrnParams,
): void {
  const pipeline = dev.pipeline(`lrnForward:${!!scale}`, () => FORWARD(!!scale));
  const per = p.c * p.h * p.w;
  for (const [n0, n1] of sampleWindows(dev, p)) {
    const [a, b] = [n0 * per, (n1 - n0) * per];
    const ws = [x, y, ...(scale ? [scale] : [])].map((t) => dev.window(t, a, b));
    dev.dispatch(
      pipeline,
      FIELDS,
      { ...values(p, b), b0: ws[0].base, b1: ws[1].base, b2: ws[2]?.base ?? 0 },
      ws.map((w) => w.binding),
      grid(b),
    );
  }
}

/** x, y, scale, dy, dx: [N, C, H, W] — scale from lrnForward on the same x; dx overwritten. */
export function lrnBackward(
  dev: GpuDevice,
  x: GpuArray,
  y: GpuArray,
  scale: GpuArray,
  dy: GpuArray,
  dx: GpuArray,
  p: LrnParams,
): void {
  const pipeline = dev.pipeline('lrnBackward', () => BACKWARD);
  const per = p.c * p.h * p.w;
  for (const [n0, n1] of sampleWindows(dev, p)) {
    const [a, b] = [n0 * per, (n1 - n0) * per];
    const ws = [x, y, scale, dy, dx].map((t) => dev.window(t, a, b));
    dev.dispatch(
      pipeline,
      FIELDS,
      {
        ...values(p, b),
        ...{ b0: ws[0].base, b1: ws[1].base, b2: ws[2].base, b3: ws[3].base, b4: ws[4].base },
      },
      ws.map((w) => w.binding),
      grid(b),
    );
  }
}
