// Running networks over a split: class probabilities (softmax) per sample, averaged over an
// ensemble of networks (the paper's 5- and 7-CNN results average their softmax outputs), then
// top-1/top-5, mean loss, confusion and per-class accuracy. Batches are prepared by the split
// (on its worker) while the previous batch is computed.
// Letters: N samples, B batch, L classes.
import type { Split } from '../data/dataset.js';
import type { Net } from '../nn/net.js';
import { Tensor } from '../tensor/tensor.js';
import { usage } from '../util/errors.js';
import { confusionMatrix, perClassAccuracy, type ClassAccuracy } from './confusion.js';
import { topKAccuracy } from './topk.js';

export interface Probabilities {
  /** [N, L] softmax, averaged over the networks */
  probs: Float32Array;
  labels: Int32Array;
  classes: number;
  /** Mean cross-entropy of the averaged probabilities. */
  loss: number;
}

export interface EvaluateOptions {
  batch?: number;
  /** Evaluate only these sample indices (default: all). */
  indices?: Int32Array;
  onBatch?: (done: number, total: number) => void;
}

export async function predictSplit(nets: Net[], split: Split, opts: EvaluateOptions = {}): Promise<Probabilities> {
  if (nets.length === 0) usage('no networks to evaluate');
  const l = nets[0].outputShape[0];
  for (const net of nets) {
    if (net.outputShape[0] !== l) usage(`ensemble members disagree on the class count (${l} vs ${net.outputShape[0]})`);
    if (net.input.some((d, i) => d !== split.sampleShape[i])) {
      usage(`the data gives [${split.sampleShape.join(', ')}] inputs, a network expects [${net.input.join(', ')}]`);
    }
  }
  const all = opts.indices ?? Int32Array.from({ length: split.size }, (_, i) => i);
  const n = all.length;
  const b = Math.max(1, opts.batch ?? 128);
  const per = split.sampleShape[0] * split.sampleShape[1] * split.sampleShape[2];
  const probs = new Float32Array(n * l);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = split.labels[all[i]];
  const buffers = [new Float32Array(b * per), new Float32Array(b * per)];
  const start = (s: number): Promise<void> => {
    const idx = all.subarray(s, Math.min(n, s + b));
    return split.fill(idx, buffers[(s / b) % 2].subarray(0, idx.length * per), false, 0);
  };
  let next: Promise<void> | null = n > 0 ? start(0) : null;
  const p = new Float32Array(b * l);
  for (let s = 0; s < n; s += b) {
    const m = Math.min(b, n - s);
    await next;
    next = s + b < n ? start(s + b) : null;
    const x = new Tensor([m, ...split.sampleShape], buffers[(s / b) % 2].subarray(0, m * per));
    const lab = labels.subarray(s, s + m);
    for (const net of nets) {
      const logits = net.forward(x, false);
      net.backend.softmaxCrossEntropy(logits.data, lab, m, l, 0, p.subarray(0, m * l), null);
      const out = probs.subarray(s * l, (s + m) * l);
      for (let j = 0; j < m * l; j++) out[j] += p[j] / nets.length;
    }
    opts.onBatch?.(s + m, n);
  }
  let loss = 0;
  for (let i = 0; i < n; i++) loss -= Math.log(Math.max(probs[i * l + labels[i]], 1e-30));
  return { probs, labels, classes: l, loss: n ? loss / n : 0 };
}

export interface EvalReport {
  samples: number;
  top1: number;
  top5: number;
  loss: number;
  perClass: ClassAccuracy[];
  confusion: number[][];
}

export function report(p: Probabilities, classNames: string[]): EvalReport {
  const confusion = confusionMatrix(p.probs, p.labels, p.classes);
  return {
    samples: p.labels.length,
    top1: topKAccuracy(p.probs, p.labels, p.classes, 1),
    top5: topKAccuracy(p.probs, p.labels, p.classes, 5),
    loss: p.loss,
    perClass: perClassAccuracy(confusion, classNames),
    confusion,
  };
}
