// Resume is exact: 2 epochs straight and 1 epoch + resume + 1 epoch give bit-identical weights
// and momentum; so does an interrupt (SIGINT or SIGTERM) in the middle of an epoch followed by
// --resume, and so does plain SGD, whose checkpoint carries no momentum buffers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { refBackend } from '../../src/backend/ref/index.js';
import { hostData } from '../../src/backend/backend.js';
import { initialize } from '../../src/models/init.js';
import type { Net } from '../../src/nn/net.js';
import { loadTrainingCheckpoint } from '../../src/train/checkpoint.js';
import type { Progress } from '../../src/train/progress.js';
import { train } from '../../src/train/trainer.js';
import { backendsUnderTest } from '../helpers/backends.js';
import { tinyConfig, tinyDataset, tinyMeta, tinyNet } from './tiny.js';
import { bytesOf } from '../helpers/bytes.js';

function freshNet(seed: number): Net {
  const net = tinyNet(refBackend, seed);
  initialize(net, 'kaiming', seed);
  return net;
}

function assertSameTensors(a: Net, b: Net): void {
  for (const p of a.params) {
    const q = b.paramsByName.get(p.name)!;
    assert.ok(
      bytesOf(hostData(a.backend, p.value)).equals(bytesOf(hostData(b.backend, q.value))),
      `${p.name} differs`,
    );
  }
}

async function resumeFrom(dir: string, epochs: number): Promise<Net> {
  const ds = tinyDataset({ workers: true });
  const ck = loadTrainingCheckpoint(join(dir, 'checkpoint.safetensors'));
  const net = tinyNet(refBackend, 7);
  net.loadStateDict(ck.tensors, 'checkpoint');
  await train({
    net,
    meta: tinyMeta(ds),
    dataset: ds,
    config: { ...ck.state.config, epochs },
    outDir: dir,
    resume: ck,
    plots: false,
  });
  await ds.close();
  return net;
}

test('2 epochs straight = 1 epoch + resume + 1 epoch, bit for bit (worker-prepared batches)', async () => {
  const root = mkdtempSync(join(tmpdir(), 'alexnet-resume-'));
  try {
    const ds = tinyDataset({ workers: true });
    const straight = freshNet(7);
    const a = await train({
      net: straight,
      meta: tinyMeta(ds),
      dataset: ds,
      config: tinyConfig({ epochs: 2 }),
      outDir: join(root, 'a'),
      plots: false,
    });
    assert.equal(a.history.length, 2);
    assert.ok(
      a.history[1].val.top1 > 0.5,
      `the tiny task should be learnable (val top-1 ${a.history[1].val.top1})`,
    );

    const first = freshNet(7);
    await train({
      net: first,
      meta: tinyMeta(ds),
      dataset: ds,
      config: tinyConfig({ epochs: 1 }),
      outDir: join(root, 'b'),
      plots: false,
    });
    await ds.close();
    const resumed = await resumeFrom(join(root, 'b'), 2);
    assertSameTensors(straight, resumed);

    const ckA = loadTrainingCheckpoint(join(root, 'a', 'checkpoint.safetensors'));
    const ckB = loadTrainingCheckpoint(join(root, 'b', 'checkpoint.safetensors'));
    for (const [k, t] of ckA.tensors)
      assert.deepEqual(t.data, ckB.tensors.get(k)!.data, `${k} differs in the checkpoints`);
    assert.deepEqual(ckA.state.schedule, ckB.state.schedule);
    assert.deepEqual(ckA.state.dropoutRng, ckB.state.dropoutRng);
    assert.equal(ckB.state.step, 24);
    const lines = readFileSync(join(root, 'b', 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n');
    assert.equal(lines.length, 2, 'the metrics log holds one line per epoch across the resume');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('resume is exact on every backend under test (native: multi-threaded kernels)', async () => {
  for (const backend of await backendsUnderTest()) {
    if (backend === refBackend) continue; // covered above
    const root = mkdtempSync(join(tmpdir(), 'alexnet-resume-native-'));
    try {
      const ds = tinyDataset({ workers: false });
      const netFor = (): Net => {
        const n = tinyNet(backend, 7);
        initialize(n, 'kaiming', 7);
        return n;
      };
      const straight = netFor();
      await train({
        net: straight,
        meta: tinyMeta(ds),
        dataset: ds,
        config: tinyConfig({ epochs: 2 }),
        outDir: join(root, 'a'),
        plots: false,
      });
      await train({
        net: netFor(),
        meta: tinyMeta(ds),
        dataset: ds,
        config: tinyConfig({ epochs: 1 }),
        outDir: join(root, 'b'),
        plots: false,
      });
      const ck = loadTrainingCheckpoint(join(root, 'b', 'checkpoint.safetensors'));
      const resumed = tinyNet(backend, 7);
      resumed.loadStateDict(ck.tensors, 'checkpoint');
      await train({
        net: resumed,
        meta: tinyMeta(ds),
        dataset: ds,
        config: { ...ck.state.config, epochs: 2 },
        outDir: join(root, 'b'),
        resume: ck,
        plots: false,
      });
      assertSameTensors(straight, resumed);
      await ds.close();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`${signal} mid-epoch: finish the step, save, and resuming continues exactly`, async () => {
    const root = mkdtempSync(join(tmpdir(), 'alexnet-signal-'));
    try {
      const ds = tinyDataset({ workers: false });
      const straight = freshNet(7);
      await train({
        net: straight,
        meta: tinyMeta(ds),
        dataset: ds,
        config: tinyConfig({ epochs: 2 }),
        outDir: join(root, 'a'),
        plots: false,
      });

      const interrupted = freshNet(7);
      const progress: Progress = {
        step(i) {
          if (i.epoch === 2 && i.batch === 3) process.emit(signal);
        },
        note() {},
        task: () => ({ update() {}, stop() {} }),
        done() {},
      };
      const r = await train({
        net: interrupted,
        meta: tinyMeta(ds),
        dataset: ds,
        config: tinyConfig({ epochs: 2 }),
        outDir: join(root, 'b'),
        progress,
        plots: false,
      });
      assert.equal(r.interrupted, signal);
      assert.equal(process.listenerCount(signal), 0, 'the handler is removed when training ends');
      const ck = loadTrainingCheckpoint(join(root, 'b', 'checkpoint.safetensors'));
      assert.equal(ck.state.epoch, 1);
      assert.equal(ck.state.batchInEpoch, 3);
      await ds.close();
      const resumed = await resumeFrom(join(root, 'b'), 2);
      assertSameTensors(straight, resumed);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
}

test('plain SGD (momentum 0): the checkpoint has no momentum buffers and resume is still exact', async () => {
  const root = mkdtempSync(join(tmpdir(), 'alexnet-plain-sgd-'));
  try {
    const ds = tinyDataset({ workers: false });
    const straight = freshNet(7);
    await train({
      net: straight,
      meta: tinyMeta(ds),
      dataset: ds,
      config: tinyConfig({ epochs: 2, momentum: 0 }),
      outDir: join(root, 'a'),
      plots: false,
    });
    await train({
      net: freshNet(7),
      meta: tinyMeta(ds),
      dataset: ds,
      config: tinyConfig({ epochs: 1, momentum: 0 }),
      outDir: join(root, 'b'),
      plots: false,
    });
    await ds.close();
    const ck = loadTrainingCheckpoint(join(root, 'b', 'checkpoint.safetensors'));
    assert.deepEqual(
      [...ck.tensors.keys()].filter((k) => k.startsWith('momentum.')),
      [],
    );
    assert.equal(ck.tensors.size, straight.params.length, 'only the weights');
    const resumed = await resumeFrom(join(root, 'b'), 2);
    assertSameTensors(straight, resumed);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
