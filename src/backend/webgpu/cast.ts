// The cast kernel on the GPU (kernels.ts `cast`): float32 ↔ bfloat16, bfloat16 stored two to a
// 32-bit word (element 2i in the low half). float32 → bfloat16 rounds to nearest, ties to even,
// and keeps a NaN a quiet NaN of its sign, as ref; bfloat16 → float32 is exact. One invocation
// per pair of elements; windows of pairs keep every binding within its limit.
import {
  LINEAR_INDEX,
  grid,
  uniformStruct,
  type GpuArray,
  type GpuDevice,
  type UniformFields,
} from './device.js';

export type Float = 'float32' | 'bfloat16';

const FIELDS: UniformFields = [
  ['pairs', 'u32'],
  ['count', 'u32'],
  ['xb', 'u32'],
  ['yb', 'u32'],
];

const load = (from: Float) =>
  from === 'float32'
    ? `fn bits(j: u32) -> u32 { return bitcast<u32>(x[p.xb + j]); }`
    : `fn bits(j: u32) -> u32 { return ((x[p.xb + j / 2u] >> ((j % 2u) * 16u)) & 0xffffu) << 16u; }`;

const STORE: Record<Float, string> = {
  float32: `y[p.yb + j0] = bitcast<f32>(bits(j0));
  if (j0 + 1u < p.count) { y[p.yb + j0 + 1u] = bitcast<f32>(bits(j0 + 1u)); }`,
  bfloat16: `var w = toBf16(bits(j0));
  if (j0 + 1u < p.count) { w |= toBf16(bits(j0 + 1u)) << 16u; }
  y[p.yb + i] = w;`,
};

const shader = (from: Float, to: Float) => `${uniformStruct(FIELDS)}
@group(0) @binding(1) var<storage, read> x: array<${from === 'float32' ? 'f32' : 'u32'}>;
@group(0) @binding(2) var<storage, read_write> y: array<${to === 'float32' ? 'f32' : 'u32'}>;
${LINEAR_INDEX}
${load(from)}
fn toBf16(b: u32) -> u32 {
  if ((b & 0x7f800000u) == 0x7f800000u && (b & 0x007fffffu) != 0u) { return (b >> 16u) | 0x40u; }
  return (b + 0x7fffu + ((b >> 16u) & 1u)) >> 16u;
}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_id) lid: vec3u) {
  let i = linearIndex(wid, nwg, lid);
  if (i >= p.pairs) { return; }
  let j0 = 2u * i;
  ${STORE[to]}
}
`;

/** x: [*] of `from`   y: [*] of `to` (same element count, overwritten) */
export function cast(
  dev: GpuDevice,
  x: GpuArray,
  from: Float,
  y: GpuArray,
  to: Float,
  count: number,
): void {
  const pipeline = dev.pipeline(`cast:${from}:${to}`, () => shader(from, to));
  const words = (t: Float, elems: number) => (t === 'float32' ? elems : Math.ceil(elems / 2));
  const step = Math.floor(dev.windowElements / 2) * 2; // elements per window, whole words
  for (let start = 0; start < count; start += step) {
    const n = Math.min(step, count - start);
    const xw = dev.window(x, words(from, start), words(from, n));
    const yw = dev.window(y, words(to, start), words(to, n));
    const pairs = Math.ceil(n / 2);
    dev.dispatch(
      pipeline,
      FIELDS,
      { pairs, count: n, xb: xw.base, yb: yw.base },
      [xw.binding, yw.binding],
      grid(pairs),
    );
  }
}
