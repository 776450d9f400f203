// The bytes each --parallel scheme reports per step (what `alexnet bench --parallel X --json`
// prints as bytesPerStep) are what its workers counted crossing between them, and they equal the
// arithmetic of the layer shapes (src/parallel/bytes.ts, and here by layer names) on an
// eighth-width alexnet2012 at 67 px (pool5 1×1×32, fc6 and fc7 64 units), batch 6:
//   towers: the LRN halos (2 maps at norm1 and norm2), half of pool2 (into conv3), of pool5 (into
//           fc6) and of fc6 (into fc7) each way, tower B's half of fc7 to A; twice for training;
//   hybrid: (N−1)·M·(pool5 + fc6 + fc7) floats forward, as much again backward plus the
//           all-reduce of the convolutional gradients, 2·(N−1)·P (N = 2 and 3);
//   data:   2·(N−1)·(every parameter + 1) floats, inference 2·(N−1) (the step's closing sum).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nativeBackend } from '../../src/backend/native/index.js';
import { refBackend } from '../../src/backend/ref/index.js';
import { buildNet } from '../../src/models/alexnet.js';
import { defaultConfig } from '../../src/models/config.js';
import { variantSchema } from '../../src/models/variants.js';
import { dataBytes, hybridBytes, towersBytes } from '../../src/parallel/bytes.js';
import { benchDataParallel } from '../../src/parallel/data-bench.js';
import { benchStepWorkers } from '../../src/parallel/workers-bench.js';

const backend = nativeBackend ?? refBackend;
const config = defaultConfig('alexnet2012', {
  inputSize: 67,
  classes: 10,
  variant: variantSchema.parse({ width: 0.125, fc: 64 }),
});
const net = buildNet(config, backend);
const M = 6;
const size = (name: string): number =>
  net.rows.find((r) => r.name === name)!.output.reduce((a, b) => a * b, 1);
const plane = (name: string): number => {
  const [, h, w] = net.rows.find((r) => r.name === name)!.output;
  return h * w;
};
const convParams = net.rows
  .slice(
    0,
    net.rows.findIndex((r) => r.name === 'fc6'),
  )
  .reduce((s, r) => s + r.params, 0);
const job = { config, batch: M, iterations: 1, backend, threads: 1 };

for (const mode of ['infer', 'train'] as const) {
  const twice = mode === 'train' ? 2 : 1;
  test(`towers ${mode}: the bytes counted equal the arithmetic`, { timeout: 60_000 }, async () => {
    const r = await benchStepWorkers('towers', { ...job, mode }, null);
    const each =
      2 * (plane('relu1') + plane('relu2')) + (size('pool2') + size('pool5') + size('drop6')) / 2;
    const arithmetic = 4 * M * twice * (2 * each + size('drop7') / 2);
    assert.equal(r.bytesPerStep, arithmetic);
    assert.equal(towersBytes(net, M, mode), arithmetic);
  });
  for (const workers of [2, 3])
    test(
      `hybrid ${mode} on ${workers} workers: the bytes counted equal the arithmetic`,
      { timeout: 60_000 },
      async () => {
        const r = await benchStepWorkers('hybrid', { ...job, mode, workers }, null);
        const forward = 4 * (workers - 1) * M * (size('pool5') + size('drop6') + size('drop7'));
        const arithmetic =
          mode === 'train' ? 2 * forward + 4 * 2 * (workers - 1) * convParams : forward;
        assert.equal(r.workers, workers);
        assert.equal(r.bytesPerStep, arithmetic);
        assert.equal(hybridBytes(net, M, workers, mode), arithmetic);
      },
    );
  test(`data ${mode}: the bytes counted equal the arithmetic`, { timeout: 60_000 }, async () => {
    const r = await benchDataParallel(
      { ...job, backend: backend.name, mode, timeoutSeconds: 60 },
      2,
      null,
    );
    const arithmetic = 4 * 2 * (mode === 'train' ? net.paramCount + 1 : 1);
    assert.equal(r.bytesPerStep, arithmetic);
    assert.equal(dataBytes(net, 2, mode), arithmetic);
  });
}
