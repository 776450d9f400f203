// The browser demo's training loop, shared with Node so a test can compare the two: the d2l net
// at a reduced size (input 67, the smallest its layer list accepts; convolutions and fc6/fc7 at a
// `width` fraction), Xavier initialisation, SGD with momentum, on Fashion-MNIST bytes resized and
// scaled to pixel/255 on the host. Everything is a function of the seed and the images, so the
// page (browser WebGPU) and Node (Dawn) see the same numbers up to float rounding.
import type { Backend } from '../backend/backend.js';
import { fillBatch, planFor } from '../data/byte-images.js';
import { buildNet } from '../models/alexnet.js';
import { defaultConfig } from '../models/config.js';
import { initialize } from '../models/init.js';
import { variantSchema } from '../models/variants.js';
import { SoftmaxLoss } from '../nn/loss.js';
import { Sgd } from '../optim/sgd.js';
import { Tensor } from '../tensor/tensor.js';

export interface DemoOptions {
  inputSize: number;
  width: number;
  batch: number;
  lr: number;
  seed: number;
}

export const DEMO_DEFAULTS: DemoOptions = {
  inputSize: 67,
  width: 0.25,
  batch: 16,
  lr: 0.02,
  seed: 1,
};

/** images: [N, 28, 28] bytes, labels: [N]. */
export interface DemoData {
  images: Uint8Array;
  labels: Int32Array;
}

export interface StepResult {
  step: number;
  loss: number;
  accuracy: number;
}

/** Trains step by step over the images in order (batch b takes images b·B … b·B + B − 1). */
export class DemoTrainer {
  private readonly net;
  private readonly sgd;
  private readonly loss;
  private readonly x: Tensor;
  private step = 0;

  constructor(
    backend: Backend,
    private readonly data: DemoData,
    private readonly o: DemoOptions,
  ) {
    const variant = variantSchema.parse({ width: o.width, fc: Math.round(4096 * o.width) });
    const config = defaultConfig('d2l', { inputSize: o.inputSize, variant });
    this.net = buildNet(config, backend, o.seed);
    initialize(this.net, 'xavier', o.seed);
    this.sgd = new Sgd(this.net.params, backend, { momentum: 0.9, weightDecay: 5e-4 });
    this.loss = new SoftmaxLoss(backend);
    this.x = new Tensor([o.batch, 1, o.inputSize, o.inputSize]);
  }

  get batches(): number {
    return Math.floor(this.data.labels.length / this.o.batch);
  }

  async next(): Promise<StepResult> {
    const b = this.step % this.batches;
    const idx = Int32Array.from({ length: this.o.batch }, (_, i) => b * this.o.batch + i);
    fillBatch(this.data.images, 28, idx, this.x.data, planFor(this.o.inputSize, 0, 1), false, 0);
    const labels = idx.map((i) => this.data.labels[i]);
    this.loss.run(this.net.forward(this.x, true), labels, 0, true);
    this.net.backward(this.loss.dlogits!);
    this.sgd.step(this.o.lr);
    const { loss, probs } = await this.loss.read();
    let correct = 0;
    for (let i = 0; i < this.o.batch; i++) {
      let best = 0;
      for (let c = 1; c < 10; c++) if (probs[i * 10 + c] > probs[i * 10 + best]) best = c;
      if (best === labels[i]) correct++;
    }
    return { step: ++this.step, loss, accuracy: correct / this.o.batch };
  }
}

/** The data route's format: u32 count, count·784 image bytes, count label bytes. */
export function decodeDemoData(buf: ArrayBuffer): DemoData {
  const n = new DataView(buf).getUint32(0, true);
  return {
    images: new Uint8Array(buf, 4, n * 784),
    labels: Int32Array.from(new Uint8Array(buf, 4 + n * 784, n)),
  };
}

export function encodeDemoData(images: Uint8Array, labels: Int32Array, n: number): Uint8Array {
  const out = new Uint8Array(4 + n * 785);
  new DataView(out.buffer).setUint32(0, n, true);
  out.set(images.subarray(0, n * 784), 4);
  for (let i = 0; i < n; i++) out[4 + n * 784 + i] = labels[i];
  return out;
}
