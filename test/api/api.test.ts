// The public API through the package's own entry point ('alexnet-ts', resolved by its exports
// map): build, save/load, awaitable inference on arrays, files, encoded bytes and decoded pixels,
// softmax, ensembles, features, ONNX export, datasets, evaluation, and train() stopped by an
// AbortSignal without touching the process's signal handlers. Library errors name their subject,
// never a command-line flag.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import {
  Ensemble,
  Model,
  Tensor,
  UsageError,
  evaluate,
  openDataset,
  preprocessPreset,
  softmaxRows,
  train,
} from 'alexnet-ts';
import { encodeIdx } from '../helpers/idx.js';

const dir = mkdtempSync(join(tmpdir(), 'alexnet-api-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function rejectsNamingSubject(p: Promise<unknown> | (() => unknown), subject: RegExp) {
  const check = (e: unknown): boolean =>
    e instanceof UsageError && subject.test(e.message) && !/--\w/.test(e.message);
  return typeof p === 'function' ? assert.throws(p, check) : assert.rejects(p, check);
}

test('softmaxRows: rows sum to 1, match exp/Σexp, and large logits do not overflow', () => {
  const p = softmaxRows(Float32Array.from([1, 2, 3, 1000, 1001, 1002]), 2, 3);
  const e = [Math.exp(-2), Math.exp(-1), 1];
  const s = e[0] + e[1] + e[2];
  for (let j = 0; j < 3; j++) {
    assert.ok(Math.abs(p[j] - e[j] / s) < 1e-7);
    assert.ok(Math.abs(p[3 + j] - e[j] / s) < 1e-7);
  }
});

test('Model.create initialises; run is awaitable; save → load gives the same logits', async () => {
  const model = Model.create('d2l', { inputSize: 67, backend: 'native', seed: 3 });
  for (const [name, w] of await model.weights())
    if (name.endsWith('.weight'))
      assert.ok(
        w.data.some((v) => v !== 0),
        `${name} is all zeros`,
      );
  const x = new Tensor([3, 1, 67, 67]);
  for (let i = 0; i < x.size; i++) x.data[i] = Math.sin(i);
  const pending = model.run(x, { batch: 2 });
  assert.ok(pending instanceof Promise);
  const y = await pending;
  assert.deepEqual(y.shape, [3, 10]);
  const path = join(dir, 'd2l.safetensors');
  await model.save(path);
  const back = await Model.load(path, { backend: 'native' });
  assert.deepEqual(back.config, model.config);
  assert.deepEqual((await back.run({ data: x.data, shape: x.shape })).data, y.data);
  const fc7 = await back.run(x, { layer: 'fc7' });
  assert.deepEqual(fc7.shape, [3, 4096]);
});

test('predict: a file, its bytes and its decoded pixels give the same classes; ensembles average', async () => {
  const model = Model.create('d2l', { inputSize: 67, backend: 'native', seed: 1 });
  model.meta.classNames = Array.from({ length: 10 }, (_, i) => `class${i}`);
  const w = 40;
  const h = 30;
  const px = new Uint8Array(w * h * 3);
  for (let i = 0; i < px.length; i++) px[i] = (i * 37) % 256;
  const png = join(dir, 'p.png');
  await sharp(px, { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toFile(png);
  const decoded = { data: px, width: w, height: h, channels: 3 as const };
  const [a, b, c] = await model.predict([png, readFileSync(png), decoded], { top: 3 });
  assert.equal(a.length, 3);
  assert.ok(a[0].probability >= a[1].probability && a[1].probability >= a[2].probability);
  assert.match(a[0].label, /^class\d$/);
  assert.deepEqual(b, a);
  assert.deepEqual(c, a);
  const probs = await model.probabilities([png]);
  assert.ok(Math.abs(probs.reduce((s, v) => s + v, 0) - 1) < 1e-5);

  const other = Model.create('d2l', { inputSize: 67, backend: 'native', seed: 2 });
  const paths = [join(dir, 'e1.safetensors'), join(dir, 'e2.safetensors')];
  await model.save(paths[0]);
  await other.save(paths[1]);
  const ensemble = await Ensemble.load(paths, { backend: 'native' });
  const [top] = await ensemble.predict([png], { top: 10 });
  const p2 = await other.probabilities([png]);
  for (const t of top)
    assert.ok(Math.abs(t.probability - (probs[t.index] + p2[t.index]) / 2) < 1e-6);

  const feats = await model.features([png, png]);
  assert.deepEqual(feats.shape, [2, 4096]);
  await rejectsNamingSubject(model.predict([join(dir, 'missing.png')]), /missing\.png/);
});

test('errors name their subject, not a flag', async () => {
  rejectsNamingSubject(() => Model.create('vgg16' as 'd2l'), /^arch 'vgg16'/);
  await rejectsNamingSubject(Model.load(join(dir, 'nope.safetensors')), /nope\.safetensors/);
  await rejectsNamingSubject(
    Model.load(join(dir, 'nope.safetensors'), { arch: 'resnet' }),
    /^arch 'resnet'/,
  );
  await rejectsNamingSubject(
    Model.create('d2l', { inputSize: 67, backend: 'native' }).run({
      data: new Float32Array(5),
      shape: [1, 1, 67, 67],
    }),
    /^input: /,
  );
});

test('exportOnnx writes a model file; the presets are named once', async () => {
  const model = Model.create('d2l', { inputSize: 67, backend: 'native' });
  const out = join(dir, 'd2l.onnx');
  await model.exportOnnx(out);
  assert.ok(readFileSync(out).length > 1_000_000);
  assert.equal(preprocessPreset('torchvision').resample, 'pil-bilinear');
  assert.deepEqual(preprocessPreset('caffe').mean, [104, 117, 123]);
});

function writeIdxDir(idxDir: string, n: number): void {
  mkdirSync(idxDir, { recursive: true });
  const images = Uint8Array.from(
    { length: n * 784 },
    (_, i) => ((i % 784) * (1 + (Math.floor(i / 784) % 10))) % 256,
  );
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
  writeFileSync(join(idxDir, 'train-images-idx3-ubyte'), encodeIdx([n, 28, 28], images));
  writeFileSync(join(idxDir, 'train-labels-idx1-ubyte'), encodeIdx([n], labels));
  writeFileSync(
    join(idxDir, 't10k-images-idx3-ubyte'),
    encodeIdx([20, 28, 28], images.subarray(0, 20 * 784)),
  );
  writeFileSync(join(idxDir, 't10k-labels-idx1-ubyte'), encodeIdx([20], labels.subarray(0, 20)));
}

test('train() stops on an AbortSignal after a step, saves, installs no signal handlers; evaluate scores it', async () => {
  const idxDir = join(dir, 'idx');
  writeIdxDir(idxDir, 64);
  const listeners = [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')];
  const controller = new AbortController();
  let steps = 0;
  const run = await train({
    preset: 'fashion-quick',
    config: { data: idxDir, epochs: 2, batch: 8, maxSeconds: null },
    outDir: join(dir, 'run'),
    backend: 'native',
    plots: false,
    signal: controller.signal,
    onStep: () => {
      steps++;
      assert.deepEqual(
        [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')],
        listeners,
      );
      if (steps === 2) controller.abort();
    },
  });
  assert.equal(run.aborted, true);
  assert.equal(run.interrupted, null);
  assert.equal(steps, 2);
  assert.ok(existsSync(run.checkpointPath) && existsSync(run.modelPath));

  const model = await Model.load(run.modelPath, { backend: 'native' });
  const data = await openDataset(idxDir, { inputSize: model.config.inputSize });
  try {
    const r = await evaluate(model, data);
    assert.equal(r.samples, 20);
    assert.ok(r.top1 >= 0 && r.top1 <= 1 && r.top5 >= r.top1);
  } finally {
    await data.close();
  }
});
