// Classifying images (SPEC §4): each image prepared as the model's preprocess says, run through
// one network or an ensemble a batch at a time, and the softmax averaged over the networks and
// over the test-time views (the centre, or the paper's ten) — then the top k classes.
// Letters: N images, V views, L classes, P input side.
import type { Net } from '../nn/net.js';
import { imageToInput, prepareSquare, type ImageInput } from '../data/image.js';
import type { Preprocess } from '../data/presets.js';
import { viewsFor, type ViewMode } from '../data/views.js';
import { Tensor } from '../tensor/tensor.js';
import { usage } from '../util/errors.js';
import { softmaxRows } from './softmax.js';
import { topK } from './topk.js';

export interface ClassScore {
  index: number;
  label: string;
  probability: number;
}

export interface ClassifyOptions {
  /** Classes to report per image (default 5, at most the class count). */
  top?: number;
  views?: ViewMode;
  /** Images per forward pass (default 16). */
  batch?: number;
}

/** The views of one image, each [C, P, P]. */
export async function imageViews(
  input: ImageInput,
  pre: Preprocess,
  inputSize: number,
  views: ViewMode,
): Promise<Float32Array[]> {
  if (views === 'center') return [await imageToInput(input, pre, inputSize)];
  if (pre.colorOrder === 'gray')
    usage(
      'views 10: Fashion-MNIST models see whole 28×28 images, so only the centre view makes sense',
    );
  return viewsFor(await prepareSquare(input, pre), inputSize, '10', pre);
}

/** probabilities: [N, L], averaged over the networks and views. */
export async function classProbabilities(
  nets: Net[],
  pre: Preprocess,
  images: ImageInput[],
  opts: ClassifyOptions = {},
): Promise<Float32Array> {
  if (nets.length === 0) usage('no networks to classify with');
  const [c, p] = nets[0].input;
  const classes = nets[0].outputShape[0];
  const views = opts.views ?? 'center';
  const batch = Math.max(1, opts.batch ?? 16);
  const v = views === '10' ? 10 : 1;
  const per = c * p * p;
  const out = new Float32Array(images.length * classes);
  for (let s = 0; s < images.length; s += batch) {
    const chunk = images.slice(s, s + batch);
    // x: [m·V, C, P, P], the views of each image together.
    const x = new Tensor([chunk.length * v, c, p, p]);
    let k = 0;
    for (const img of chunk)
      for (const view of await imageViews(img, pre, p, views)) x.data.set(view, per * k++);
    for (const net of nets) {
      const logits = await net.backend.download(net.forward(x, false));
      const probs = softmaxRows(logits.data, chunk.length * v, classes);
      for (let i = 0; i < chunk.length * v; i++) {
        const o = (s + Math.floor(i / v)) * classes;
        for (let j = 0; j < classes; j++) out[o + j] += probs[i * classes + j] / (nets.length * v);
      }
    }
  }
  return out;
}

/** The top classes of each image, most probable first. */
export async function classifyImages(
  nets: Net[],
  pre: Preprocess,
  classNames: string[],
  images: ImageInput[],
  opts: ClassifyOptions = {},
): Promise<ClassScore[][]> {
  const probs = await classProbabilities(nets, pre, images, opts);
  const classes = classNames.length;
  const top = Math.min(opts.top ?? 5, classes);
  return images.map((_, i) =>
    topK(probs, i, classes, top).map((t) => ({
      index: t.index,
      label: classNames[t.index],
      probability: t.score,
    })),
  );
}
