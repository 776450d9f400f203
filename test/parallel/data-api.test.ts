// The library's train() with parallel: { scheme: 'data' }: two replicas on worker threads train
// the global batch 2 × config.batch, and the run's model comes back loaded; a dataset object
// (which cannot cross into the workers) is refused with a one-line usage error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDataset, train } from '../../src/index.js';
import { UsageError } from '../../src/util/errors.js';

const config = {
  arch: 'd2l' as const,
  inputSize: 67,
  epochs: 1,
  batch: 8,
  maxTrain: 40,
  maxTest: 8,
  maxSeconds: null,
};

test('train({ parallel: data, replicas 2 }) steps through the global batch and returns the model', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'alexnet-dp-api-'));
  try {
    const steps: number[] = [];
    const run = await train({
      config,
      outDir: dir,
      plots: false,
      backend: 'native',
      parallel: { scheme: 'data', replicas: 2 },
      onStep: (s) => steps.push(s.batch),
    });
    assert.deepEqual(steps, [1, 2, 3]); // 40 images in global batches of 16: 16, 16, 8
    assert.equal(run.images, 40);
    assert.equal(run.history.length, 1);
    const logits = await run.model.run({ data: new Float32Array(67 * 67), shape: [1, 1, 67, 67] });
    assert.equal(logits.shape[1], 10);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('train({ parallel }) refuses a dataset object', async () => {
  const dataset = await openDataset('fashion-mnist', { inputSize: 67 });
  try {
    await assert.rejects(
      train({ config, outDir: '/nonexistent', dataset, parallel: { scheme: 'data', replicas: 2 } }),
      (e: Error) => e instanceof UsageError && /give no dataset/.test(e.message),
    );
  } finally {
    await dataset.close();
  }
});
