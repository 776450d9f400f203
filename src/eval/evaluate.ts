// Running networks over a split: class probabilities (softmax) per sample, averaged over an
// ensemble of networks (the paper's 5- and 7-CNN results average their softmax outputs), then
// top-1/top-5, mean loss, confusion and per-class accuracy. Batches are prepared by the split
// (on its worker) while the previous batch is computed.
// Letters: N samples, B batch, L classes.
import type { Split } from '../data/dataset.js';
import type { F32 } from '../nn/layer.js';
import { SoftmaxLoss } from '../nn/loss.js';
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

/** A split that can also cut the paper's test-time views (the ImageFolder split does). */
interface ViewSplit extends Split {
  fillViews(indices: Int32Array, x: Float32Array, mode: 'center' | '10'): Promise<void>;
}

function hasViews(s: Split): s is ViewSplit {
  return typeof (s as Partial<ViewSplit>).fillViews === 'function';
}

export interface EvaluateOptions {
  batch?: number;
  /** 'center' (default) or the paper's 10 views, whose softmax outputs are averaged. */
  views?: 'center' | '10';
  /** Evaluate only these sample indices (default: all). */
  indices?: Int32Array;
  onBatch?: (done: number, total: number) => void;
  /** Network k's logits of x, instead of nets[k].forward (workers that hold it: --parallel). */
  forward?: (k: number, x: Tensor) => Promise<F32>;
}

/** Refuses a label outside [0, classes): the loss has no such class (a test split with more
 *  classes than the model, a corrupt label file). `at` maps positions to sample indices. */
export function checkLabels(
  labels: ArrayLike<number>,
  classes: number,
  what: string,
  at?: ArrayLike<number>,
): void {
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (!(label >= 0 && label < classes))
      usage(
        `${what}: sample ${at ? at[i] : i} has label ${label}, but the model has ${classes} classes (labels 0…${classes - 1})`,
      );
  }
}

export async function predictSplit(
  nets: Net[],
  split: Split,
  opts: EvaluateOptions = {},
): Promise<Probabilities> {
  if (nets.length === 0) usage('no networks to evaluate');
  const l = nets[0].outputShape[0];
  for (const net of nets) {
    if (net.outputShape[0] !== l)
      usage(`ensemble members disagree on the class count (${l} vs ${net.outputShape[0]})`);
    if (net.input.some((d, i) => d !== split.sampleShape[i])) {
      usage(
        `the data gives [${split.sampleShape.join(', ')}] inputs, a network expects [${net.input.join(', ')}]`,
      );
    }
  }
  const all = opts.indices ?? Int32Array.from({ length: split.size }, (_, i) => i);
  const n = all.length;
  const b = Math.max(1, opts.batch ?? 128);
  const per = split.sampleShape[0] * split.sampleShape[1] * split.sampleShape[2];
  const probs = new Float32Array(n * l);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = split.labels[all[i]];
  checkLabels(labels, l, 'the test split', all);
  let v = 1;
  if (opts.views === '10') {
    if (!hasViews(split))
      usage(
        '10 views: this data has no 10-view crops (28×28 Fashion-MNIST images are resized whole: only the centre view makes sense)',
        'views',
      );
    v = 10;
  }
  const buffers = [new Float32Array(b * v * per), new Float32Array(b * v * per)];
  const start = (s: number): Promise<void> => {
    const idx = all.subarray(s, Math.min(n, s + b));
    const buf = buffers[(s / b) % 2].subarray(0, idx.length * v * per);
    return v === 10
      ? (split as ViewSplit).fillViews(idx, buf, '10')
      : split.fill(idx, buf, false, 0);
  };
  let next: Promise<void> | null = n > 0 ? start(0) : null;
  const losses = nets.map((net) => new SoftmaxLoss(net.backend));
  for (let s = 0; s < n; s += b) {
    const m = Math.min(b, n - s);
    await next;
    next = s + b < n ? start(s + b) : null;
    const buf = buffers[(s / b) % 2];
    const lab = labels.subarray(s, s + m);
    const out = probs.subarray(s * l, (s + m) * l);
    for (let view = 0; view < v; view++) {
      // Views are interleaved per sample ([m, V, C, H, W]): gather view `view` of each sample.
      let x: Tensor;
      if (v === 1) x = new Tensor([m, ...split.sampleShape], buf.subarray(0, m * per));
      else {
        x = new Tensor([m, ...split.sampleShape]);
        for (let k = 0; k < m; k++)
          x.data.set(buf.subarray((k * v + view) * per, (k * v + view + 1) * per), k * per);
      }
      for (let k = 0; k < nets.length; k++) {
        // A worker that fails: the batch being prepared settles first, else closing the data
        // under it never settles and the process ends with exit code 0 before the error.
        const logits = opts.forward
          ? await opts.forward(k, x).catch(async (e: unknown) => {
              await next?.catch(() => {});
              throw e;
            })
          : nets[k].forward(x, false);
        losses[k].run(logits, lab, 0, false);
        const { probs: p } = await losses[k].read();
        for (let j = 0; j < m * l; j++) out[j] += p[j] / (nets.length * v);
      }
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
