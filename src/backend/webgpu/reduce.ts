// Sums the products leave to a second pass: bias gradients (a sum over the batch and the map
// for each channel) and the slices of a k-split product (gemm.ts).
//
// Letters: A outer count (the batch), C channels, B inner count (the map; 1 for a linear layer).
import {
  LINEAR_INDEX,
  grid,
  uniformStruct as structOf,
  type GpuArray,
  type GpuDevice,
  type UniformFields,
} from './device.js';

const CHANNEL_FIELDS: UniformFields = [
  ['a', 'u32'],
  ['c', 'u32'],
  ['b', 'u32'],
  ['xb', 'u32'],
  ['ob', 'u32'],
  ['accumulate', 'u32'],
  ['scale', 'f32'],
];

/** out[c] (+)= scale · Σ_a Σ_b x[(a·C + c)·B + b]: one workgroup per channel, 256 invocations striding
 *  over the A·B terms, then a tree in workgroup memory (a fixed order: deterministic).
 *  x: [A, C, B] (rows [a0, a0 + A) of a larger tensor when windowed)   out: [C] */
export function channelSum(
  dev: GpuDevice,
  x: GpuArray,
  out: GpuArray,
  a: number,
  c: number,
  b: number,
  accumulate: boolean,
  a0 = 0,
  scale = 1,
): void {
  const pipeline = dev.pipeline('channelSum', () => channelSumShader());
  const xw = dev.window(x, a0 * c * b, a * c * b);
  const ow = dev.window(out, 0, c);
  dev.dispatch(
    pipeline,
    CHANNEL_FIELDS,
    { a, c, b, xb: xw.base, ob: ow.base, accumulate: accumulate ? 1 : 0, scale },
    [xw.binding, ow.binding],
    [c, 1, 1],
  );
}

function channelSumShader(): string {
  return `${structOf(CHANNEL_FIELDS)}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> o: array<f32>;
var<workgroup> part: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let ch = wid.x;
  let terms = p.a * p.b;
  var s = 0.0;
  for (var t = lid.x; t < terms; t += 256u) {
    let ai = t / p.b;
    let bi = t % p.b;
    s += x[p.xb + (ai * p.c + ch) * p.b + bi];
  }
  part[lid.x] = s;
  workgroupBarrier();
  for (var half = 128u; half > 0u; half >>= 1u) {
    if (lid.x < half) { part[lid.x] += part[lid.x + half]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) {
    let v = p.scale * part[0];
    if (p.accumulate == 1u) { o[p.ob + ch] += v; } else { o[p.ob + ch] = v; }
  }
}
`;
}

const SLICE_FIELDS: UniformFields = [
  ['len', 'u32'],
  ['slices', 'u32'],
  ['ob', 'u32'],
  ['accumulate', 'u32'],
];

/** out[i] (+)= Σ_s part[s·len + i] — the k-split slices of a product, summed in slice order.
 *  part: [S, len]   out: [len] (window of `len` elements from element `o0`) */
export function sumSlices(
  dev: GpuDevice,
  part: GpuArray,
  out: GpuArray,
  len: number,
  slices: number,
  accumulate: boolean,
  o0 = 0,
): void {
  const pipeline = dev.pipeline('sumSlices', () => sumSlicesShader());
  const ow = dev.window(out, o0, len);
  dev.dispatch(
    pipeline,
    SLICE_FIELDS,
    { len, slices, ob: ow.base, accumulate: accumulate ? 1 : 0 },
    [dev.window(part, 0, len * slices).binding, ow.binding],
    grid(len),
  );
}

function sumSlicesShader(): string {
  return `${structOf(SLICE_FIELDS)}
@group(0) @binding(1) var<storage, read> part: array<f32>;
@group(0) @binding(2) var<storage, read_write> o: array<f32>;
${LINEAR_INDEX}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_id) lid: vec3u) {
  let i = linearIndex(wid, nwg, lid);
  if (i >= p.len) { return; }
  var s = 0.0;
  for (var k = 0u; k < p.slices; k++) { s += part[k * p.len + i]; }
  if (p.accumulate == 1u) { o[p.ob + i] += s; } else { o[p.ob + i] = s; }
}
`;
}
