// Pooling on the GPU: max (with the argmax backward needs), average (count_include_pad) and
// adaptive average (PyTorch's bins), forward and backward, with the ref backend's exact
// conventions (ref/pool.ts): first maximum in row-major order wins, a NaN wins, padded cells are
// −∞ for max and counted in the divisor for average.
//
// Forward: one invocation per output. Backward is a gather, not the ref's scatter: one
// invocation per input cell sums, in row-major output order (the order the ref adds them in),
// the dy of every window that holds it — overlapping windows (3×3 / 2) need no atomics.
//
// The N·C planes are independent: large tensors are taken in windows of whole planes.
// Letters: N batch, C channels, H×W input, Ho×Wo output, K window side.
import type { PoolGeom } from '../backend.js';
import {
  LINEAR_INDEX,
  grid,
  uniformStruct,
  type GpuArray,
  type GpuDevice,
  type UniformFields,
} from './device.js';

export type PoolKind = 'max' | 'avg' | 'adaptive';

const FIELDS: UniformFields = [
  ['count', 'u32'],
  ['h', 'u32'],
  ['w', 'u32'],
  ['ho', 'u32'],
  ['wo', 'u32'],
  ['k', 'u32'],
  ['stride', 'u32'],
  ['pad', 'i32'],
  ['xb', 'u32'],
  ['yb', 'u32'],
  ['ab', 'u32'],
  ['negInf', 'u32'], // 0xff800000: −∞, which WGSL cannot write as a constant
];

/** One axis of an average window: the summed cells [first, end) and the divisor length. */
const WINDOWS = `
struct Span { first: i32, end: i32, len: i32 }
fn avgSpan(o: u32, size: u32) -> Span {
  let start = i32(o * p.stride) - p.pad;
  let stop = min(start + i32(p.k), i32(size) + p.pad);
  return Span(max(0, start), min(stop, i32(size)), stop - start);
}
fn adaptiveSpan(o: u32, size: u32, out: u32) -> Span {
  let first = i32((o * size) / out);
  let end = i32(((o + 1u) * size + out - 1u) / out);
  return Span(first, end, end - first);
}
`;

function span(kind: PoolKind, axis: 'y' | 'x', o: string): string {
  const size = axis === 'y' ? 'p.h' : 'p.w';
  const out = axis === 'y' ? 'p.ho' : 'p.wo';
  return kind === 'adaptive' ? `adaptiveSpan(${o}, ${size}, ${out})` : `avgSpan(${o}, ${size})`;
}

function forwardBody(kind: PoolKind, argmax: boolean): string {
  if (kind === 'max') {
    return `
  let y0 = max(0, i32(oy * p.stride) - p.pad);
  let y1 = min(i32(p.h), i32(oy * p.stride) - p.pad + i32(p.k));
  let x0 = max(0, i32(ox * p.stride) - p.pad);
  let x1 = min(i32(p.w), i32(ox * p.stride) - p.pad + i32(p.k));
  var best = bitcast<f32>(p.negInf);
  var at = y0 * i32(p.w) + x0;
  for (var iy = y0; iy < y1; iy++) {
    for (var ix = x0; ix < x1; ix++) {
      let v = x[xBase + u32(iy * i32(p.w) + ix)];
      if (v > best || v != v) { best = v; at = iy * i32(p.w) + ix; }
    }
  }
  y[p.yb + i] = best;
  ${argmax ? 'am[p.ab + i] = at;' : ''}`;
  }
  return `
  let sy = ${span(kind, 'y', 'oy')};
  let sx = ${span(kind, 'x', 'ox')};
  var sum = 0.0;
  for (var iy = sy.first; iy < sy.end; iy++) {
    for (var ix = sx.first; ix < sx.end; ix++) { sum += x[xBase + u32(iy * i32(p.w) + ix)]; }
  }
  y[p.yb + i] = sum / f32(sy.len * sx.len);`;
}

function forwardShader(kind: PoolKind, argmax: boolean): string {
  return `${uniformStruct(FIELDS)}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
${argmax ? '@group(0) @binding(3) var<storage, read_write> am: array<i32>;' : ''}
${LINEAR_INDEX}${WINDOWS}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_id) lid: vec3u) {
  let i = linearIndex(wid, nwg, lid);
  if (i >= p.count) { return; }
  let plane = i / (p.ho * p.wo);
  let oy = (i / p.wo) % p.ho;
  let ox = i % p.wo;
  let xBase = p.xb + plane * p.h * p.w;
  ${forwardBody(kind, argmax)}
}
`;
}

/** The outputs whose window may hold input cell c along one axis: [lo, hi]. */
function candidates(kind: PoolKind, axis: 'y' | 'x'): string {
  const [c, size, out] = axis === 'y' ? ['iy', 'p.h', 'p.ho'] : ['ix', 'p.w', 'p.wo'];
  if (kind === 'adaptive') {
    return `let ${axis}lo = max(0, i32((${c} * ${out}) / ${size}) - 1);
  let ${axis}hi = min(i32(${out}) - 1, i32(((${c} + 1u) * ${out}) / ${size}) + 1);`;
  }
  // o·stride − pad ≤ c  and  o·stride − pad + k > c
  return `let ${axis}lo = max(0, (i32(${c}) + p.pad - i32(p.k) + i32(p.stride)) / i32(p.stride));
  let ${axis}hi = min(i32(${out}) - 1, (i32(${c}) + p.pad) / i32(p.stride));`;
}

function backwardShader(kind: PoolKind): string {
  const term =
    kind === 'max'
      ? `if (am[p.ab + o] == cell) { sum += dy[p.yb + o]; }`
      : `let sy = ${span(kind, 'y', 'u32(oy)')};
      let sx = ${span(kind, 'x', 'u32(ox)')};
      if (i32(iy) >= sy.first && i32(iy) < sy.end && i32(ix) >= sx.first && i32(ix) < sx.end) {
        sum += dy[p.yb + o] / f32(sy.len * sx.len);
      }`;
  return `${uniformStruct(FIELDS)}
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
${kind === 'max' ? '@group(0) @binding(3) var<storage, read> am: array<i32>;' : ''}
${LINEAR_INDEX}${WINDOWS}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_id) lid: vec3u) {
  let i = linearIndex(wid, nwg, lid);
  if (i >= p.count) { return; }
  let plane = i / (p.h * p.w);
  let iy = (i / p.w) % p.h;
  let ix = i % p.w;
  let cell = i32(iy * p.w + ix);
  ${candidates(kind, 'y')}
  ${candidates(kind, 'x')}
  var sum = 0.0;
  for (var oy = ylo; oy <= yhi; oy++) {
    for (var ox = xlo; ox <= xhi; ox++) {
      let o = plane * p.ho * p.wo + u32(oy) * p.wo + u32(ox);
      ${term}
    }
  }
  dx[p.xb + i] = sum;
}
`;
}

/** Windows of whole planes [c0, c1) whose input and output both fit one binding. */
function planeWindows(dev: GpuDevice, planes: number, perPlane: number): [number, number][] {
  const step = Math.floor(dev.windowElements / perPlane);
  if (step < 1) throw new Error(`a pooling plane of ${perPlane} elements exceeds one binding`);
  const out: [number, number][] = [];
  for (let c0 = 0; c0 < planes; c0 += step) out.push([c0, Math.min(planes, c0 + step)]);
  return out;
}

export interface PoolShape {
  planes: number; // N·C
  h: number;
  w: number;
  ho: number;
  wo: number;
  k: number;
  stride: number;
  pad: number;
}

export function poolShape(g: PoolGeom): PoolShape {
  return {
    planes: g.n * g.c,
    h: g.h,
    w: g.w,
    ho: g.ho,
    wo: g.wo,
    k: g.k,
    stride: g.stride,
    pad: g.pad,
  };
}

export function adaptiveShape(
  n: number,
  c: number,
  h: number,
  w: number,
  ho: number,
  wo: number,
): PoolShape {
  return { planes: n * c, h, w, ho, wo, k: 0, stride: 1, pad: 0 };
}

/** x: [N, C, H, W]   y: [N, C, Ho, Wo]   argmax: [N, C, Ho, Wo] | null (max only) */
export function poolForward(
  dev: GpuDevice,
  kind: PoolKind,
  x: GpuArray,
  y: GpuArray,
  argmax: GpuArray | null,
  s: PoolShape,
): void {
  const pipeline = dev.pipeline(`poolForward:${kind}:${!!argmax}`, () =>
    forwardShader(kind, !!argmax),
  );
  const inPlane = s.h * s.w;
  const outPlane = s.ho * s.wo;
  for (const [c0, c1] of planeWindows(dev, s.planes, Math.max(inPlane, outPlane))) {
    const xw = dev.window(x, c0 * inPlane, (c1 - c0) * inPlane);
    const yw = dev.window(y, c0 * outPlane, (c1 - c0) * outPlane);
    const aw = argmax ? dev.window(argmax, c0 * outPlane, (c1 - c0) * outPlane) : null;
    const count = (c1 - c0) * outPlane;
    dev.dispatch(
      pipeline,
      FIELDS,
      { ...s, count, xb: xw.base, yb: yw.base, ab: aw?.base ?? 0, negInf: 0xff800000 },
      [xw.binding, yw.binding, ...(aw ? [aw.binding] : [])],
      grid(count),
    );
  }
}

/** dy: [N, C, Ho, Wo]   dx: [N, C, H, W] (overwritten)   argmax: [N, C, Ho, Wo] (max only) */
export function poolBackward(
  dev: GpuDevice,
  kind: PoolKind,
  dy: GpuArray,
  dx: GpuArray,
  argmax: GpuArray | null,
  s: PoolShape,
): void {
  if (kind === 'max' && !argmax) throw new Error('internal: max pool backward needs the argmax');
  const pipeline = dev.pipeline(`poolBackward:${kind}`, () => backwardShader(kind));
  const inPlane = s.h * s.w;
  const outPlane = s.ho * s.wo;
  for (const [c0, c1] of planeWindows(dev, s.planes, Math.max(inPlane, outPlane))) {
    const dyw = dev.window(dy, c0 * outPlane, (c1 - c0) * outPlane);
    const dxw = dev.window(dx, c0 * inPlane, (c1 - c0) * inPlane);
    const aw = kind === 'max' ? dev.window(argmax!, c0 * outPlane, (c1 - c0) * outPlane) : null;
    const count = (c1 - c0) * inPlane;
    dev.dispatch(
      pipeline,
      FIELDS,
      { ...s, count, xb: dxw.base, yb: dyw.base, ab: aw?.base ?? 0, negInf: 0xff800000 },
      [dyw.binding, dxw.binding, ...(aw ? [aw.binding] : [])],
      grid(count),
    );
  }
}
