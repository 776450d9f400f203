// Fully connected layers on the GPU, as products of gemm.ts.
//
//   forward   y[N, F]  = x[N, D] · w[F, D]ᵀ + b      (M = N, N = F, K = D)
//   backward  dx[N, D] = dy[N, F] · w[F, D]          (M = N, N = D, K = F)
//             dw[F, D] = dy[N, F]ᵀ · x[N, D]          (M = F, N = D, K = N)
//             db[F]    = Σ_n dy[n, :]                 (reduce.ts)
//
// A weight matrix larger than one storage binding (fc6 at 9216 inputs: 151 MB against lavapipe's
// 128 MiB) is taken in windows of whole rows f ∈ [f0, f1): the forward writes those columns of
// y, dw those rows of dw, and dx sums the windows' products (the first overwrites, the rest add).
// The activations x, y, dy are [N, ·] with N the batch and always fit one binding.
import type { GpuArray, GpuDevice, UniformFields } from './device.js';
import { GEMM_FIELDS, gemmGroups, gemmShader } from './gemm.js';
import { channelSum } from './reduce.js';

const FIELDS: UniformFields = [
  ['d', 'u32'],
  ['f', 'u32'],
  ['f0', 'u32'],
  ['ab', 'u32'],
  ['bb', 'u32'],
  ['cb', 'u32'],
  ['biasb', 'u32'],
  ['accumulate', 'u32'],
];

/** What a dispatch packs: the product's common fields, then these. */
const PACKED: UniformFields = [...GEMM_FIELDS, ...FIELDS];

/** Row windows [f0, f1) of a [F, D] matrix, each within one binding. */
function rowWindows(dev: GpuDevice, f: number, d: number): [number, number][] {
  const rows = Math.floor(dev.windowElements / d);
  if (rows < 1) throw new Error(`a linear layer with ${d} inputs exceeds one storage binding`);
  const out: [number, number][] = [];
  for (let f0 = 0; f0 < f; f0 += rows) out.push([f0, Math.min(f, f0 + rows)]);
  return out;
}

function forwardShader(bias: boolean, relu: boolean): string {
  return gemmShader({
    fields: FIELDS,
    bindings: [
      'var<storage, read> x: array<f32>;',
      'var<storage, read> w: array<f32>;',
      'var<storage, read_write> y: array<f32>;',
      ...(bias ? ['var<storage, read> bias: array<f32>;'] : []),
    ],
    loadA: '  return x[p.ab + m * p.k + k];',
    loadB: '  return w[p.bb + n * p.k + k];',
    store: `  var r = v${bias ? ' + bias[p.biasb + p.f0 + n]' : ''};
  ${relu ? 'r = select(r, 0.0, r < 0.0);' : ''}
  y[p.cb + m * p.f + p.f0 + n] = r;`,
    aAlongK: true,
    bAlongK: true,
  });
}

/** x: [N, D]   w: [F, D]   b: [F] | null   y: [N, F] (overwritten) */
export function linearForward(
  dev: GpuDevice,
  x: GpuArray,
  w: GpuArray,
  b: GpuArray | null,
  y: GpuArray,
  n: number,
  d: number,
  f: number,
  relu: boolean,
): void {
  const pipeline = dev.pipeline(`linearForward:${!!b}:${relu}`, () => forwardShader(!!b, relu));
  const xw = dev.window(x, 0, n * d);
  const yw = dev.window(y, 0, n * f);
  const bw = b ? dev.window(b, 0, f) : null;
  for (const [f0, f1] of rowWindows(dev, f, d)) {
    const ww = dev.window(w, f0 * d, (f1 - f0) * d);
    dev.dispatch(
      pipeline,
      PACKED,
      {
        ...{ m: n, n: f1 - f0, k: d, splits: 1, kChunk: d },
        ...{ d, f, f0, ab: xw.base, bb: ww.base, cb: yw.base, biasb: bw?.base ?? 0, accumulate: 0 },
      },
      [xw.binding, ww.binding, yw.binding, ...(bw ? [bw.binding] : [])],
      gemmGroups(n, f1 - f0, 1),
    );
  }
}

const dxShader = () =>
  gemmShader({
    fields: FIELDS,
    bindings: [
      'var<storage, read> dy: array<f32>;',
      'var<storage, read> w: array<f32>;',
      'var<storage, read_write> dx: array<f32>;',
    ],
    loadA: '  return dy[p.ab + m * p.f + p.f0 + k];',
    loadB: '  return w[p.bb + k * p.d + n];',
    store: `  let i = p.cb + m * p.d + n;
  if (p.accumulate == 1u) { dx[i] += v; } else { dx[i] = v; }`,
    aAlongK: true,
    bAlongK: false,
  });

const dwShader = () =>
  gemmShader({
    fields: FIELDS,
    bindings: [
      'var<storage, read> dy: array<f32>;',
      'var<storage, read> x: array<f32>;',
      'var<storage, read_write> dw: array<f32>;',
    ],
    loadA: '  return dy[p.ab + k * p.f + p.f0 + m];',
    loadB: '  return x[p.bb + k * p.d + n];',
    store: '  dw[p.cb + m * p.d + n] = v;',
    aAlongK: false,
    bAlongK: false,
  });

/** x: [N, D]  w: [F, D]  dy: [N, F]   dx: [N, D] | null   dw: [F, D] | null   db: [F] | null
 *  (all overwritten) */
export function linearBackward(
  dev: GpuDevice,
  x: GpuArray,
  w: GpuArray,
  dy: GpuArray,
  dx: GpuArray | null,
  dw: GpuArray | null,
  db: GpuArray | null,
  n: number,
  d: number,
  f: number,
): void {
  const dyw = dev.window(dy, 0, n * f);
  const windows = rowWindows(dev, f, d);
  if (dx) {
    const pipeline = dev.pipeline('linearDx', dxShader);
    const dxw = dev.window(dx, 0, n * d);
    windows.forEach(([f0, f1], i) => {
      const ww = dev.window(w, f0 * d, (f1 - f0) * d);
      dev.dispatch(
        pipeline,
        PACKED,
        {
          ...{ m: n, n: d, k: f1 - f0, splits: 1, kChunk: f1 - f0 },
          ...{ d, f, f0, ab: dyw.base, bb: ww.base, cb: dxw.base, biasb: 0 },
          accumulate: i > 0 ? 1 : 0,
        },
        [dyw.binding, ww.binding, dxw.binding],
        gemmGroups(n, d, 1),
      );
    });
  }
  if (dw) {
    const pipeline = dev.pipeline('linearDw', dwShader);
    const xw = dev.window(x, 0, n * d);
    for (const [f0, f1] of windows) {
      const dww = dev.window(dw, f0 * d, (f1 - f0) * d);
      dev.dispatch(
        pipeline,
        PACKED,
        {
          ...{ m: f1 - f0, n: d, k: n, splits: 1, kChunk: n },
          ...{ d, f, f0, ab: dyw.base, bb: xw.base, cb: dww.base, biasb: 0, accumulate: 0 },
        },
        [dyw.binding, xw.binding, dww.binding],
        gemmGroups(f1 - f0, d, 1),
      );
    }
  }
  if (db) channelSum(dev, dy, db, n, f, 1, false);
}
