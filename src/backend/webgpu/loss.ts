// Softmax cross-entropy with label smoothing on the GPU (ref/loss.ts): target q_l = (1 − ε)·[l =
// t] + ε/L, loss_n = −Σ_l q_l · log p_l, dlogits = (p − q)/N. One invocation per sample (L is at
// most a few thousand; rows in windows when [N, L] exceeds a binding); the per-sample losses are
// averaged on the GPU (reduce.ts), so only one number comes down. The labels are checked on the
// GPU too: the first one outside [0, L) is recorded in the device's fault record, and the read
// that brings the loss down throws the CPU backends' message for it.
// Letters: N batch, L classes.
import {
  LINEAR_INDEX,
  grid,
  uniformStruct,
  type GpuArray,
  type GpuDevice,
  type UniformFields,
} from './device.js';
import { channelSum } from './reduce.js';

const FIELDS: UniformFields = [
  ['n', 'u32'],
  ['l', 'u32'],
  ['smoothing', 'f32'],
  ['invN', 'f32'],
  ['zb', 'u32'],
  ['lb', 'u32'],
  ['pb', 'u32'],
  ['rb', 'u32'],
  ['db', 'u32'],
  ['r0', 'u32'],
];

const LABEL_FAULT = 1;

const shader = (withGrad: boolean) => `${uniformStruct(FIELDS)}
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<i32>;
@group(0) @binding(3) var<storage, read_write> probs: array<f32>;
@group(0) @binding(4) var<storage, read_write> rowLoss: array<f32>;
@group(0) @binding(5) var<storage, read_write> fault: array<i32>;
${withGrad ? '@group(0) @binding(6) var<storage, read_write> dz: array<f32>;' : ''}
${LINEAR_INDEX}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_id) lid: vec3u) {
  let r = linearIndex(wid, nwg, lid);
  if (r >= p.n) { return; }
  // One invocation records the window's first bad label (windows run in order: the first of all).
  if (r == 0u && fault[0] == 0) {
    for (var s = 0u; s < p.n; s++) {
      let t = labels[p.lb + s];
      if (t < 0 || t >= i32(p.l)) {
        fault[1] = t; fault[2] = i32(p.r0 + s); fault[3] = i32(p.l); fault[0] = ${LABEL_FAULT};
        break;
      }
    }
  }
  let row = p.zb + r * p.l;
  let prow = p.pb + r * p.l;
  let label = u32(labels[p.lb + r]);
  // Subtract the row maximum so exp cannot overflow; log p = (z − max) − log Σ exp(z − max).
  var mx = z[row];
  for (var j = 1u; j < p.l; j++) { mx = max(mx, z[row + j]); }
  var sumExp = 0.0;
  for (var j = 0u; j < p.l; j++) { sumExp += exp(z[row + j] - mx); }
  let logSum = log(sumExp);
  let off = p.smoothing / f32(p.l);
  var loss = 0.0;
  for (var j = 0u; j < p.l; j++) {
    let logP = z[row + j] - mx - logSum;
    let q = select(0.0, 1.0 - p.smoothing, j == label) + off;
    if (q != 0.0) { loss -= q * logP; }
    let pr = exp(logP);
    probs[prow + j] = pr;
    ${withGrad ? 'dz[p.db + r * p.l + j] = (pr - q) * p.invN;' : ''}
  }
  rowLoss[p.rb + r] = loss;
}
`;

/** logits, probs, dlogits: [N, L]   labels: [N] i32   loss: [1] ← the mean over the batch.
 *  A label outside [0, L) makes the next read throw (ref/loss.ts's words). */
export function softmaxCrossEntropy(
  dev: GpuDevice,
  logits: GpuArray,
  labels: GpuArray,
  n: number,
  l: number,
  smoothing: number,
  probs: GpuArray,
  dlogits: GpuArray | null,
  loss: GpuArray,
): void {
  const pipeline = dev.pipeline(`softmaxCrossEntropy:${!!dlogits}`, () => shader(!!dlogits));
  dev.defineFault(LABEL_FAULT, (t, r, l) => `label ${t} of sample ${r} is outside [0, ${l})`);
  const rowLoss = dev.scratch('rowLoss', n);
  const operands = [logits, labels, probs, rowLoss, ...(dlogits ? [dlogits] : [])];
  const step = Math.floor(dev.windowElements / l);
  if (step < 1) throw new Error(`${l} classes exceed one storage binding`);
  for (let r0 = 0; r0 < n; r0 += step) {
    const rows = Math.min(step, n - r0);
    const ws = operands.map((t, i) =>
      i === 1 || i === 3 ? dev.window(t, r0, rows) : dev.window(t, r0 * l, rows * l),
    );
    ws.splice(4, 0, dev.window(dev.faults));
    dev.dispatch(
      pipeline,
      FIELDS,
      {
        ...{ n: rows, l, smoothing, invN: 1 / n },
        ...{ zb: ws[0].base, lb: ws[1].base, pb: ws[2].base, rb: ws[3].base },
        ...{ db: ws[5]?.base ?? 0, r0 },
      },
      ws.map((w) => w.binding),
      grid(rows),
    );
  }
  channelSum(dev, rowLoss, loss, n, 1, 1, false, 0, 1 / n);
}
