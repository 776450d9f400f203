// Convolution (stride, zero padding, groups) as implicit GEMM on gemm.ts: the im2col matrix is
// never stored; the loaders below compute each of its elements from the image. Per group g
// (workgroup_id.z), with K² = Kh·Kw, P = Ho·Wo, cig = Ci/G, cog = Co/G:
//
//   forward   y[n, g·cog + m, pix] = Σ_{k=(ci,ki,kj)} w[g·cog + m, ci, ki, kj] · x[n, g·cig + ci, ih, iw]
//             M = cog, N = batch·P, K = cig·K²,  ih = oh·stride − pad + ki
//   dx        dx[n, g·cig + m, ih, iw] = Σ_{k=(co,ki,kj)} w[g·cog + co, m, ki, kj] · dy[n, g·cog + co, oh, ow]
//             M = cig, N = batch·H·W, K = cog·K², oh = (ih + pad − ki) / stride when exact
//   dw        dw[g·cog + m, col=(ci,ki,kj)] = Σ_{k=(n,pix)} dy[n, g·cog + m, pix] · x[n, g·cig + ci, ih, iw]
//             M = cog, N = cig·K², K = batch·P — few output tiles, a long k: split-K (reduce.ts)
//   db        db[co] = Σ_{n,pix} dy[n, co, pix]
//
// dx as a gather over dy visits stride² times the useful terms (most fail the exactness test)
// but needs no atomics and writes every dx once. Large activations are taken in windows of whole
// samples, so every binding stays within maxStorageBufferBindingSize; dw and db add the windows.
//
// Letters: N batch, Ci/Co channels, G groups, H×W input, Ho×Wo output, Kh×Kw kernel.
import type { ConvGeom } from '../backend.js';
import type { GpuArray, GpuDevice, UniformFields } from './device.js';
import { GEMM_FIELDS, TILE_K, TILE_N, gemmGroups, gemmShader } from './gemm.js';
import { channelSum, sumSlices } from './reduce.js';

const FIELDS: UniformFields = [
  ['cin', 'u32'],
  ['cout', 'u32'],
  ['h', 'u32'],
  ['w', 'u32'],
  ['ho', 'u32'],
  ['wo', 'u32'],
  ['kh', 'u32'],
  ['kw', 'u32'],
  ['stride', 'u32'],
  ['pad', 'i32'],
  ['cig', 'u32'],
  ['cog', 'u32'],
  ['ab', 'u32'],
  ['bb', 'u32'],
  ['cb', 'u32'],
  ['biasb', 'u32'],
  ['slice', 'u32'],
  ['accumulate', 'u32'],
];

/** What a dispatch packs: the product's common fields, then these. */
const PACKED: UniformFields = [...GEMM_FIELDS, ...FIELDS];

/** The input cell a (output pixel, kernel offset) pair reads, or −1 in the padding. */
const INPUT_CELL = `
fn inputCell(oh: u32, ow: u32, ki: u32, kj: u32) -> i32 {
  let ih = i32(oh * p.stride + ki) - p.pad;
  let iw = i32(ow * p.stride + kj) - p.pad;
  if (ih < 0 || iw < 0 || ih >= i32(p.h) || iw >= i32(p.w)) { return -1; }
  return ih * i32(p.w) + iw;
}
`;

function forwardShader(bias: boolean, relu: boolean): string {
  return (
    gemmShader({
      fields: FIELDS,
      bindings: [
        'var<storage, read> wt: array<f32>;',
        'var<storage, read> x: array<f32>;',
        'var<storage, read_write> y: array<f32>;',
        ...(bias ? ['var<storage, read> bias: array<f32>;'] : []),
      ],
      loadA: '  return wt[p.ab + (g * p.cog + m) * p.k + k];',
      loadB: `  let P = p.ho * p.wo;
  let nn = n / P; let pix = n % P;
  let kk = p.kh * p.kw;
  let ci = k / kk; let r = k % kk;
  let cell = inputCell(pix / p.wo, pix % p.wo, r / p.kw, r % p.kw);
  if (cell < 0) { return 0.0; }
  return x[p.bb + (nn * p.cin + g * p.cig + ci) * p.h * p.w + u32(cell)];`,
      store: `  let P = p.ho * p.wo;
  let co = g * p.cog + m;
  var r = v${bias ? ' + bias[p.biasb + co]' : ''};
  ${relu ? 'r = select(r, 0.0, r < 0.0);' : ''}
  y[p.cb + ((n / P) * p.cout + co) * P + n % P] = r;`,
      aAlongK: true,
      bAlongK: false,
    }) + INPUT_CELL
  );
}

const dxShader = () =>
  gemmShader({
    fields: FIELDS,
    bindings: [
      'var<storage, read> wt: array<f32>;',
      'var<storage, read> dy: array<f32>;',
      'var<storage, read_write> dx: array<f32>;',
    ],
    loadA: `  let kk = p.kh * p.kw;
  return wt[p.ab + ((g * p.cog + k / kk) * p.cig + m) * kk + k % kk];`,
    loadB: `  let HW = p.h * p.w;
  let nn = n / HW; let q = n % HW;
  let kk = p.kh * p.kw;
  let co = k / kk; let r = k % kk;
  let th = i32(q / p.w) + p.pad - i32(r / p.kw);
  let tw = i32(q % p.w) + p.pad - i32(r % p.kw);
  let s = i32(p.stride);
  if (th < 0 || tw < 0 || th % s != 0 || tw % s != 0) { return 0.0; }
  let oh = u32(th / s); let ow = u32(tw / s);
  if (oh >= p.ho || ow >= p.wo) { return 0.0; }
  return dy[p.bb + ((nn * p.cout + g * p.cog + co) * p.ho + oh) * p.wo + ow];`,
    store: `  let HW = p.h * p.w;
  dx[p.cb + ((n / HW) * p.cin + g * p.cig + m) * HW + n % HW] = v;`,
    aAlongK: true,
    bAlongK: false,
  });

const dwShader = () =>
  gemmShader({
    fields: FIELDS,
    bindings: [
      'var<storage, read> dy: array<f32>;',
      'var<storage, read> x: array<f32>;',
      'var<storage, read_write> o: array<f32>;',
    ],
    loadA: `  let P = p.ho * p.wo;
  return dy[p.ab + ((k / P) * p.cout + g * p.cog + m) * P + k % P];`,
    loadB: `  let P = p.ho * p.wo;
  let nn = k / P; let pix = k % P;
  let kk = p.kh * p.kw;
  let ci = n / kk; let r = n % kk;
  let cell = inputCell(pix / p.wo, pix % p.wo, r / p.kw, r % p.kw);
  if (cell < 0) { return 0.0; }
  return x[p.bb + (nn * p.cin + g * p.cig + ci) * p.h * p.w + u32(cell)];`,
    store: `  let i = p.cb + s * p.slice + (g * p.cog + m) * p.n + n;
  if (p.accumulate == 1u) { o[i] += v; } else { o[i] = v; }`,
    aAlongK: true,
    bAlongK: true,
  }) + INPUT_CELL;

/** Sample windows [n0, n1): every per-sample tensor of the window fits one binding and the
 *  product's columns (cols per sample) fit the 65,535-workgroup grid. */
function sampleWindows(dev: GpuDevice, g: ConvGeom, cols: number): [number, number][] {
  const perSample = Math.max(g.cIn * g.h * g.w, g.cOut * g.ho * g.wo);
  const bySize = Math.floor(dev.windowElements / perSample);
  const byGrid = Math.floor((65535 * TILE_N) / cols);
  const step = Math.min(bySize, byGrid);
  if (step < 1) throw new Error(`a convolution of ${g.cIn}×${g.h}×${g.w} exceeds one binding`);
  const out: [number, number][] = [];
  for (let n0 = 0; n0 < g.n; n0 += step) out.push([n0, Math.min(g.n, n0 + step)]);
  return out;
}

function geomValues(g: ConvGeom): Record<string, number> {
  return {
    ...{ cin: g.cIn, cout: g.cOut, h: g.h, w: g.w, ho: g.ho, wo: g.wo, kh: g.kh, kw: g.kw },
    ...{ stride: g.stride, pad: g.pad, cig: g.cIn / g.groups, cog: g.cOut / g.groups },
    ...{ slice: 0, accumulate: 0, biasb: 0 },
  };
}

/** x: [N, Ci, H, W]   w: [Co, Ci/G, Kh, Kw]   b: [Co] | null   y: [N, Co, Ho, Wo] (overwritten) */
export function conv2dForward(
  dev: GpuDevice,
  x: GpuArray,
  w: GpuArray,
  b: GpuArray | null,
  y: GpuArray,
  g: ConvGeom,
  relu: boolean,
): void {
  const pipeline = dev.pipeline(`convForward:${!!b}:${relu}`, () => forwardShader(!!b, relu));
  const cig = g.cIn / g.groups;
  const cog = g.cOut / g.groups;
  const ww = dev.window(w);
  const bw = b ? dev.window(b) : null;
  const inSample = g.cIn * g.h * g.w;
  const outSample = g.cOut * g.ho * g.wo;
  for (const [n0, n1] of sampleWindows(dev, g, g.ho * g.wo)) {
    const xw = dev.window(x, n0 * inSample, (n1 - n0) * inSample);
    const yw = dev.window(y, n0 * outSample, (n1 - n0) * outSample);
    const cols = (n1 - n0) * g.ho * g.wo;
    dev.dispatch(
      pipeline,
      PACKED,
      {
        ...geomValues(g),
        ...{ m: cog, n: cols, k: cig * g.kh * g.kw, splits: 1, kChunk: cig * g.kh * g.kw },
        ...{ ab: ww.base, bb: xw.base, cb: yw.base, biasb: bw?.base ?? 0 },
      },
      [ww.binding, xw.binding, yw.binding, ...(bw ? [bw.binding] : [])],
      gemmGroups(cog, cols, g.groups),
    );
  }
}

/** Gradients of y = conv(x, w) + b given dy.
 *  x: [N, Ci, H, W]  w: [Co, Ci/G, Kh, Kw]  dy: [N, Co, Ho, Wo]
 *  dx: [N, Ci, H, W] | null   dw: [Co, Ci/G, Kh, Kw] | null   db: [Co] | null (overwritten) */
export function conv2dBackward(
  dev: GpuDevice,
  x: GpuArray,
  w: GpuArray,
  dy: GpuArray,
  dx: GpuArray | null,
  dw: GpuArray | null,
  db: GpuArray | null,
  g: ConvGeom,
): void {
  const cig = g.cIn / g.groups;
  const cog = g.cOut / g.groups;
  const kk = g.kh * g.kw;
  const inSample = g.cIn * g.h * g.w;
  const outSample = g.cOut * g.ho * g.wo;
  if (dx) {
    const pipeline = dev.pipeline('convDx', dxShader);
    const ww = dev.window(w);
    for (const [n0, n1] of sampleWindows(dev, g, g.h * g.w)) {
      const dyw = dev.window(dy, n0 * outSample, (n1 - n0) * outSample);
      const dxw = dev.window(dx, n0 * inSample, (n1 - n0) * inSample);
      const cols = (n1 - n0) * g.h * g.w;
      dev.dispatch(
        pipeline,
        PACKED,
        {
          ...geomValues(g),
          ...{ m: cig, n: cols, k: cog * kk, splits: 1, kChunk: cog * kk },
          ...{ ab: ww.base, bb: dyw.base, cb: dxw.base },
        },
        [ww.binding, dyw.binding, dxw.binding],
        gemmGroups(cig, cols, g.groups),
      );
    }
  }
  if (dw) {
    const pipeline = dev.pipeline('convDw', dwShader);
    const len = g.cOut * cig * kk;
    const windows = sampleWindows(dev, g, g.ho * g.wo);
    windows.forEach(([n0, n1], i) => {
      const xw = dev.window(x, n0 * inSample, (n1 - n0) * inSample);
      const dyw = dev.window(dy, n0 * outSample, (n1 - n0) * outSample);
      const k = (n1 - n0) * g.ho * g.wo;
      const [tx, ty] = gemmGroups(cog, cig * kk, 1);
      // Enough k-slices for ~256 workgroups in all, each slice at least 256 deep.
      const want = Math.ceil(256 / (tx * ty * g.groups));
      const splits = Math.max(1, Math.min(want, Math.floor(k / 256)));
      const kChunk = Math.ceil(k / splits / TILE_K) * TILE_K;
      const used = Math.ceil(k / kChunk);
      const target = used > 1 ? dev.scratch('convDwSlices', used * len) : dw;
      const ow = dev.window(target, 0, used > 1 ? used * len : len);
      dev.dispatch(
        pipeline,
        PACKED,
        {
          ...geomValues(g),
          ...{ m: cog, n: cig * kk, k, splits: used, kChunk },
          ...{ ab: dyw.base, bb: xw.base, cb: ow.base, slice: len },
          accumulate: used === 1 && i > 0 ? 1 : 0,
        },
        [dyw.binding, xw.binding, ow.binding],
        [tx, ty, g.groups * used],
      );
      if (used > 1) sumSlices(dev, target, dw, len, used, i > 0);
    });
  }
  if (db) {
    sampleWindows(dev, g, g.ho * g.wo).forEach(([n0, n1], i) =>
      channelSum(dev, dy, db, n1 - n0, g.cOut, g.ho * g.wo, i > 0, n0),
    );
  }
}
