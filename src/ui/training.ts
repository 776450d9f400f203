// `alexnet train --ui`: the dashboard fed by the trainer's own hooks — each step through the
// progress reporter, each epoch through onEpoch, each validation's softmax outputs through
// onValidate (then conv1's kernels, the confusion matrix and eight sample predictions are drawn).
import type { Dataset } from '../data/dataset.js';
import type { Probabilities } from '../eval/evaluate.js';
import { confusionMatrix } from '../eval/confusion.js';
import { topK } from '../eval/topk.js';
import type { Net } from '../nn/net.js';
import { confusionSvg } from '../show/confusion.js';
import { contrastStretch, pixelsToPng } from '../show/figure.js';
import { filtersSvg } from '../show/filters.js';
import { firstConvWeights, towersOf } from '../show/net-access.js';
import { predictionsSvg, THUMB, type PredictionCard } from '../show/predictions.js';
import type { EpochRecord } from '../train/metrics.js';
import type { Progress } from '../train/progress.js';
import { Dashboard } from './dashboard.js';

const SAMPLES = 8;

export interface TrainingDashboard {
  url: string;
  progress(inner: Progress): Progress;
  onEpoch(r: EpochRecord): void;
  onValidate(p: Probabilities, indices: Int32Array): void;
  /** Marks the run finished and stops serving. */
  close(): Promise<void>;
}

export async function startTrainingDashboard(opts: {
  net: Net;
  dataset: Dataset;
  outDir: string;
  port: number;
  title: string;
}): Promise<TrainingDashboard> {
  const { net, dataset } = opts;
  const dash = new Dashboard(opts.title, opts.outDir);
  const url = await dash.listen(opts.port);
  const filters = (): Promise<string> =>
    filtersSvg(firstConvWeights(net), {
      towers: towersOf(net),
      colorOrder: dataset.preprocess.colorOrder,
    });
  dash.figures({ filters: await filters() });
  let drawing: Promise<void> = Promise.resolve();
  const validation = async (p: Probabilities, indices: Int32Array): Promise<void> => {
    const names = dataset.classNames;
    const m = confusionMatrix(p.probs, p.labels, p.classes);
    const correct = m.reduce((s, row, i) => s + row[i], 0);
    const confusion = confusionSvg(
      m,
      names,
      `top-1 ${(correct / Math.max(1, p.labels.length)).toFixed(4)} on ${p.labels.length} images`,
    );
    dash.figures({ filters: await filters(), confusion, samples: await samples(p, indices) });
  };
  const samples = async (p: Probabilities, indices: Int32Array): Promise<string> => {
    const k = Math.min(SAMPLES, indices.length);
    const [c, h, w] = dataset.test.sampleShape;
    const x = new Float32Array(k * c * h * w);
    await dataset.test.fill(indices.subarray(0, k), x, false, 0);
    const cards: PredictionCard[] = [];
    for (let i = 0; i < k; i++) {
      const png = await inputPng(x.subarray(i * c * h * w, (i + 1) * c * h * w), c, h, w);
      cards.push({
        title: `#${indices[i]}: ${dataset.classNames[p.labels[i]]}`,
        png,
        truth: dataset.classNames[p.labels[i]],
        top: topK(p.probs, i, p.classes, Math.min(3, p.classes)).map((t) => ({
          label: dataset.classNames[t.index],
          probability: t.score,
        })),
      });
    }
    return predictionsSvg(cards, 4);
  };
  return {
    url,
    progress: (inner) => ({
      step(i) {
        inner.step(i);
        dash.step(i);
      },
      note: (line) => inner.note(line),
      task: (label, total) => inner.task(label, total),
      done: () => inner.done(),
    }),
    onEpoch: (r) => dash.epoch(r),
    onValidate: (p, indices) => {
      // The trainer does not wait for drawings; they are chained so they land in order.
      const copy = { ...p, probs: p.probs.slice(), labels: p.labels.slice() };
      drawing = drawing.then(() => validation(copy, indices.slice())).catch(() => {});
    },
    close: async () => {
      await drawing;
      dash.finish();
      await dash.close();
    },
  };
}

/** A network input ([C, H, W], normalised) as a picture: each image stretched to 0..255. */
async function inputPng(x: Float32Array, c: number, h: number, w: number): Promise<Buffer> {
  const v = contrastStretch(x);
  const hwc = new Uint8Array(h * w * (c === 3 ? 3 : 1));
  for (let p = 0; p < h * w; p++)
    if (c === 3) for (let ch = 0; ch < 3; ch++) hwc[p * 3 + ch] = v[ch * h * w + p];
    else hwc[p] = v[p];
  return pixelsToPng(hwc, w, h, c === 3 ? 3 : 1, Math.max(1, Math.ceil(THUMB / w)));
}
