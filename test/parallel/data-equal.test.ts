// Two replicas of --parallel data equal one worker with the whole batch: a reduced-width
// alexnet2012 (width ×⅛, fc 64) at 67 px on a subset of the bundled Fashion-MNIST, global batch
// 16, trained by trainDataParallel on 2 worker threads (batch 8 each) and by the plain trainer on this thread,
// ends with the same parameters and momentum within float rounding. The subsets end in a batch
// that does not split evenly (45 = 2·16 + 13: shares 7 and 6) and in one smaller than the
// replicas (33 = 2·16 + 1: replica 1 has no sample); flips, dropout, momentum, weight decay,
// Caffe multipliers and label smoothing are all on. The bytes the replicas read from each other
// in a step are the arithmetic's: an all-reduce of every gradient and 4 statistics, 2·(n−1)·4 B
// per float.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectBackend } from '../../src/backend/index.js';
import { allreduceBytes, trainDataParallel, type DataJob } from '../../src/parallel/data.js';
import { loadTrainingCheckpoint } from '../../src/train/checkpoint.js';
import { trainConfigSchema } from '../../src/train/presets.js';
import { openData, prepareNet } from '../../src/train/setup.js';
import { train } from '../../src/train/trainer.js';

const TOLERANCE = 1e-5;
const VARIANT = { width: 0.125, fc: 64 };

function config(maxTrain: number, batch: number) {
  return trainConfigSchema.parse({
    arch: 'alexnet2012',
    data: 'fashion-mnist',
    inputSize: 67,
    epochs: 2,
    batch,
    lr: 0.02,
    momentum: 0.9,
    weightDecay: 5e-4,
    schedule: { kind: 'constant' },
    multipliers: 'caffe',
    init: 'kaiming',
    labelSmoothing: 0.1,
    augment: true,
    normalize: true,
    maxSeconds: null,
    maxTrain,
    maxTest: 8,
    freeze: [],
    seed: 3,
  });
}

async function single(maxTrain: number, outDir: string): Promise<number> {
  const c = config(maxTrain, 16);
  const dataset = await openData(c.data, { inputSize: c.inputSize, workers: false });
  try {
    const { net, meta } = prepareNet(c, dataset, selectBackend('native', 1), { variant: VARIANT });
    await train({ net, meta, dataset, config: c, outDir, handleSignals: false, plots: false });
    return net.params.reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
  } finally {
    await dataset.close();
  }
}

for (const maxTrain of [45, 33]) {
  test(`2 replicas × batch 8 = 1 worker × batch 16 (${maxTrain} images)`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'alexnet-dp-'));
    try {
      const job: DataJob = {
        config: config(maxTrain, 8),
        outDir: join(dir, 'data'),
        backend: 'native',
        threads: 1,
        workers: false,
        variant: VARIANT,
        plots: false,
        timeoutSeconds: 60,
        startedAt: performance.timeOrigin + performance.now(),
      };
      const run = await trainDataParallel(job, { replicas: 2 });
      const params = await single(maxTrain, join(dir, 'one'));
      const a = loadTrainingCheckpoint(join(dir, 'one', 'checkpoint.safetensors'));
      const b = loadTrainingCheckpoint(join(dir, 'data', 'checkpoint.safetensors'));
      assert.equal(b.state.ranks, 2);
      assert.equal(b.state.step, a.state.step);
      assert.equal(run.images, 2 * maxTrain);
      let worst = 0;
      let where = '';
      let moved = 0;
      for (const [name, t] of a.tensors) {
        const u = b.tensors.get(name)!;
        for (let i = 0; i < t.data.length; i++) {
          const d = Math.abs(t.data[i] - u.data[i]);
          if (d > worst) [worst, where] = [d, name];
          if (name.startsWith('momentum.')) moved = Math.max(moved, Math.abs(t.data[i]));
        }
      }
      assert.ok(moved > 100 * TOLERANCE, `training barely moved (${moved})`);
      assert.ok(worst <= TOLERANCE, `max |diff| ${worst} in ${where}`);
      assert.ok(
        Math.abs(a.state.history[1].train.loss - b.state.history[1].train.loss) < 1e-5,
        `train loss ${a.state.history[1].train.loss} vs ${b.state.history[1].train.loss}`,
      );
      assert.equal(run.bytesPerStep, allreduceBytes(params + 4, 2));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
