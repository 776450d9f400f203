// Fine-tuning and failure handling: --from loads every tensor whose shape matches and leaves a
// new fc8 for a different class count; frozen layers do not move; a diverging run stops with a
// clear message and leaves the last good checkpoint untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { refBackend } from '../../src/backend/ref/index.js';
import { saveModel } from '../../src/models/checkpoint.js';
import { initialize } from '../../src/models/init.js';
import { Net } from '../../src/nn/net.js';
import { loadTrainingCheckpoint } from '../../src/train/checkpoint.js';
import { freezeLayers, loadMatching } from '../../src/train/setup.js';
import { train, TrainingDiverged } from '../../src/train/trainer.js';
import { UsageError } from '../../src/util/errors.js';
import { TINY_SIZE, TINY_SPECS, tinyConfig, tinyDataset, tinyMeta, tinyNet } from './tiny.js';
import { hostData } from '../../src/backend/backend.js';
import { bytesOf } from '../helpers/bytes.js';

const dir = mkdtempSync(join(tmpdir(), 'alexnet-finetune-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

test('--from: matching tensors loaded, a new fc8 for another class count', () => {
  const ds = tinyDataset();
  const source = tinyNet(refBackend, 1);
  initialize(source, 'kaiming', 1);
  const path = join(dir, 'source.safetensors');
  saveModel(path, source, tinyMeta(ds));
  const target = new Net(
    TINY_SPECS,
    { input: [1, TINY_SIZE, TINY_SIZE], classes: 5, dropoutMode: 'inverted' },
    refBackend,
    2,
  );
  initialize(target, 'kaiming', 2);
  const fc8Before = hostData(target.backend, target.paramsByName.get('fc8.weight')!.value).slice();
  const r = loadMatching(target, path, 'd2l');
  assert.deepEqual(r.loaded, [
    'conv1.weight',
    'conv1.bias',
    'conv2.weight',
    'conv2.bias',
    'fc6.weight',
    'fc6.bias',
  ]);
  assert.equal(r.fresh.length, 2);
  assert.match(r.fresh[0], /fc8.weight \(file \[3, 16\], network \[5, 16\]\)/);
  assert.deepEqual(
    hostData(target.backend, target.paramsByName.get('conv2.weight')!.value),
    hostData(source.backend, source.paramsByName.get('conv2.weight')!.value),
  );
  assert.deepEqual(
    hostData(target.backend, target.paramsByName.get('fc8.weight')!.value),
    fc8Before,
  );
  assert.throws(
    () => loadMatching(target, path, 'alexnet2012'),
    /holds a d2l model, training a alexnet2012/,
  );
});

test('--freeze: frozen layers keep their weights while the rest train', async () => {
  const ds = tinyDataset();
  const net = tinyNet(refBackend, 3);
  initialize(net, 'kaiming', 3);
  freezeLayers(net, ['conv1', 'fc6']);
  const before = new Map(net.params.map((p) => [p.name, hostData(net.backend, p.value).slice()]));
  await train({
    net,
    meta: tinyMeta(ds),
    dataset: ds,
    config: tinyConfig({ epochs: 1, freeze: ['conv1', 'fc6'] }),
    outDir: join(dir, 'freeze'),
    plots: false,
  });
  for (const p of net.params) {
    const same = bytesOf(hostData(net.backend, p.value)).equals(bytesOf(before.get(p.name)!));
    assert.equal(same, p.name.startsWith('conv1.') || p.name.startsWith('fc6.'), p.name);
  }
  assert.throws(
    () => freezeLayers(net, ['conv7']),
    (e: Error) =>
      e instanceof UsageError &&
      e.option === 'freeze' &&
      /^layer conv7: no such layer/.test(e.message),
  );
});

test('a diverging run stops with a clear message and keeps the last good checkpoint', async () => {
  const ds = tinyDataset();
  const out = join(dir, 'nan');
  const net = tinyNet(refBackend, 4);
  initialize(net, 'kaiming', 4);
  await train({
    net,
    meta: tinyMeta(ds),
    dataset: ds,
    config: tinyConfig({ epochs: 1 }),
    outDir: out,
    plots: false,
  });
  const good = readFileSync(join(out, 'checkpoint.safetensors'));
  const ck = loadTrainingCheckpoint(join(out, 'checkpoint.safetensors'));
  const net2 = tinyNet(refBackend, 4);
  net2.loadStateDict(ck.tensors, 'ck');
  await assert.rejects(
    train({
      net: net2,
      meta: tinyMeta(ds),
      dataset: ds,
      config: {
        ...ck.state.config,
        epochs: 2,
        lr: 1e6,
        schedule: { ...ck.state.config.schedule, kind: 'constant' },
      },
      outDir: out,
      resume: ck,
      plots: false,
    }),
    (e: Error) =>
      e instanceof TrainingDiverged &&
      /training diverged: loss .* at epoch 2, step \d+; kept the last good checkpoint \(epoch 1\)/.test(
        e.message,
      ),
  );
  assert.ok(
    readFileSync(join(out, 'checkpoint.safetensors')).equals(good),
    'the checkpoint is untouched',
  );

  const fresh = join(dir, 'nan-fresh');
  const net3 = tinyNet(refBackend, 5);
  initialize(net3, 'kaiming', 5);
  await assert.rejects(
    train({
      net: net3,
      meta: tinyMeta(ds),
      dataset: ds,
      config: tinyConfig({
        lr: 1e6,
        schedule: {
          kind: 'constant',
          patience: 1,
          maxCuts: 3,
          threshold: 1e-4,
          stepSize: 1,
          gamma: 0.1,
          floor: 1e-5,
          warmup: 0,
        },
      }),
      outDir: fresh,
      plots: false,
    }),
    TrainingDiverged,
  );
  assert.equal(existsSync(join(fresh, 'model.safetensors')), false);
});
