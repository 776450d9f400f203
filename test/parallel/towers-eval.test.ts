// `alexnet eval --parallel towers` and the library's train({ parallel: { scheme: 'towers' } }) on
// a quarter-width alexnet2012 at 67 px: the towers' evaluation of a model gives the single
// thread's accuracy, loss and confusion over the 10,000 test images (the towers compute the
// grouped net's logits: towers.test.ts), a tower that throws ends the evaluation with one line
// and exit 1 (so the towers really ran), and a library run on the towers ends with the single
// run's parameters within 2e-4 (towers-cli.test.ts says why not exactly).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostData } from '../../src/backend/backend.js';
import { train } from '../../src/index.js';
import { variantSchema } from '../../src/models/variants.js';
import { runCli } from '../helpers/cli.js';

test(
  'eval --parallel towers gives the single-thread accuracy, loss and confusion',
  { timeout: 120_000 },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'alexnet-towers-eval-'));
    try {
      const trained = runCli([
        ...['train', '--arch', 'alexnet2012', '--input-size', '67', '--width', '0.25'],
        ...['--max-train', '256', '--max-test', '64', '--batch', '32', '--lr', '0.02'],
        ...['--epochs', '1', '--seed', '3', '--quiet', '--out', dir],
      ]);
      assert.equal(trained.status, 0, trained.stderr);
      const evaluate = ['eval', '--model', join(dir, 'model.safetensors'), '--json', '--quiet'];
      const one = runCli([...evaluate, '--threads', '1']);
      const two = runCli([...evaluate, '--threads', '1', '--parallel', 'towers']);
      assert.equal(one.status, 0, one.stderr);
      assert.equal(two.status, 0, two.stderr);
      const a = JSON.parse(one.stdout);
      const b = JSON.parse(two.stdout);
      assert.equal(a.samples, 10000);
      assert.ok(a.top1 > 0.12, `the model is not at chance (top-1 ${a.top1})`);
      assert.equal(b.top1, a.top1);
      assert.equal(b.top5, a.top5);
      assert.ok(Math.abs(b.loss - a.loss) < 1e-6, `loss ${b.loss} vs ${a.loss}`);
      assert.deepEqual(b.confusion, a.confusion);
      const dies = runCli([...evaluate, '--parallel', 'towers'], {
        ALEXNET_TOWER_FAIL: 'B:throw:3',
      });
      assert.equal(dies.status, 1, dies.stderr);
      assert.equal(dies.stderr, 'alexnet: tower B threw: injected failure at forward 3\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test(
  'train({ parallel: { scheme: towers } }) equals the single-process run',
  { timeout: 120_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'alexnet-towers-api-'));
    try {
      const config = {
        arch: 'alexnet2012' as const,
        inputSize: 67,
        variant: variantSchema.parse({ width: 0.25, fc: 1024 }),
        epochs: 1,
        batch: 8,
        maxTrain: 32,
        maxTest: 8,
        seed: 5,
        maxSeconds: null,
        precision: 'fp32' as const, // the single run too (fashion-quick's default)
      };
      const runs = [];
      for (const parallel of [undefined, { scheme: 'towers' as const }])
        runs.push(
          await train({
            config,
            outDir: join(dir, parallel ? 'towers' : 'single'),
            plots: false,
            backend: 'native',
            threads: 1,
            parallel,
          }),
        );
      const [single, towers] = runs;
      assert.equal(towers.images, 32);
      let worst = 0;
      for (const p of single.model.net.params) {
        const q = towers.model.net.paramsByName.get(p.name)!;
        const a = hostData(single.model.net.backend, p.value);
        const b = hostData(towers.model.net.backend, q.value);
        for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
      }
      assert.ok(worst < 2e-4, `parameters differ by ${worst}`);
      assert.ok(worst > 0 || single.history[0].train.loss > 0); // compared something
      assert.equal(
        towers.history[0].train.loss.toFixed(4),
        single.history[0].train.loss.toFixed(4),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
