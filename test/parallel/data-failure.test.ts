// A replica of --parallel data that dies ends the run with one line naming it, without a hang,
// and the last checkpoint stays intact: replica 1 fails as it starts step 5 (epoch 3: the
// checkpoint of epoch 2 is on disk) by throwing, by exiting abruptly, or by hanging (the others
// wait --distributed-timeout, then the hung thread is terminated). ALEXNET_FAULT injects it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trainDataParallel } from '../../src/parallel/data.js';
import { WorkerDied } from '../../src/parallel/worker.js';
import { loadTrainingCheckpoint } from '../../src/train/checkpoint.js';
import { trainConfigSchema } from '../../src/train/presets.js';
import { runCli } from '../helpers/cli.js';

const config = trainConfigSchema.parse({
  arch: 'alexnet2012',
  data: 'fashion-mnist',
  inputSize: 67,
  epochs: 100,
  batch: 8,
  lr: 0.01,
  momentum: 0.9,
  weightDecay: 5e-4,
  schedule: { kind: 'constant' },
  multipliers: 'none',
  init: 'kaiming',
  labelSmoothing: 0,
  augment: false,
  normalize: true,
  maxSeconds: null,
  maxTrain: 32,
  maxTest: 8,
  freeze: [],
  seed: 1,
});

/** The checkpoint of a whole epoch, readable, and no temporary file beside it. */
function checkIntact(dir: string): void {
  const ck = loadTrainingCheckpoint(join(dir, 'checkpoint.safetensors'));
  assert.equal(ck.state.epoch, 2);
  assert.equal(ck.state.batchInEpoch, 0);
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.includes('.tmp')),
    [],
  );
}

for (const [how, why] of [
  [
    'throw',
    /^data replica 1 of 2 threw: injected fault at epoch 3, step 5; stopped the other workers; the last checkpoint .*checkpoint\.safetensors is intact$/,
  ],
  [
    'hang',
    /^data replica 0 of 2 threw: epoch 3, step 5 failed: waited 2 s for worker 1 of 2 \(it died or hangs\); stopped the other workers; the last checkpoint .* is intact$/,
  ],
] as const) {
  test(
    `a replica that ${how}s at step 5 ends the run with one line; the checkpoint is intact`,
    { timeout: 60_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'alexnet-dp-fail-'));
      const saved = process.env.ALEXNET_FAULT;
      process.env.ALEXNET_FAULT = `1:5:${how}`;
      try {
        const t0 = performance.now();
        const run = trainDataParallel(
          {
            config,
            outDir: dir,
            backend: 'native',
            threads: 1,
            workers: false,
            variant: { width: 0.125, fc: 32 },
            plots: false,
            timeoutSeconds: 2,
            startedAt: performance.timeOrigin + performance.now(),
          },
          { replicas: 2 },
        );
        await assert.rejects(run, (e: Error) => {
          assert.ok(e instanceof WorkerDied, e.message);
          assert.match(e.message, why);
          return true;
        });
        assert.ok(performance.now() - t0 < 30_000, 'ended within 30 s');
        checkIntact(dir);
      } finally {
        if (saved === undefined) delete process.env.ALEXNET_FAULT;
        else process.env.ALEXNET_FAULT = saved;
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
}

test(
  'the CLI: a replica that exits abruptly ends `alexnet train` with one line and exit code 1',
  { timeout: 60_000 },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'alexnet-dp-fail-'));
    try {
      const out = join(dir, 'run');
      const r = runCli(
        [
          ...['train', '--parallel', 'data', '--arch', 'd2l', '--input-size', '67'],
          ...['--max-train', '32', '--max-test', '8', '--epochs', '100', '--batch', '8'],
          ...['--max-seconds', '0', '--seed', '1', '--quiet', '--out', out],
        ],
        { ALEXNET_FAULT: '1:5:exit' },
      );
      assert.equal(r.status, 1, r.stderr);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(
        lines[0],
        /^alexnet: data replica 1 of 2 exited \(code 7\) at epoch 3, step 5; stopped the other workers; the last checkpoint .*checkpoint\.safetensors is intact$/,
      );
      assert.ok(existsSync(join(out, 'model.safetensors')));
      checkIntact(out);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
