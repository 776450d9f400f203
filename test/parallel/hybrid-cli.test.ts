// `alexnet train --parallel hybrid` end to end on a quarter-width alexnet2012 at 67 px (32
// Fashion-MNIST images, batch 8, dropout on with the single run's masks): an epoch on 2 hybrid
// workers gives the single-process model within 2e-4 (the workers sum some products in another
// order, and 32 images of training amplify it), its checkpoint is an ordinary file that --resume
// continues the same (within 1e-5) on the workers and on one thread, and a worker that throws or
// exits ends the run with one line naming it, exit code 1, and epoch 1's checkpoint intact; the
// library's train({ parallel: { scheme: 'hybrid' } }) gives the single run's parameters too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostData } from '../../src/backend/backend.js';
import { train } from '../../src/index.js';
import { variantSchema } from '../../src/models/variants.js';
import { modelFileDiff } from '../helpers/compare.js';
import { loadTrainingCheckpoint } from '../../src/train/checkpoint.js';
import { runCli } from '../helpers/cli.js';

const RUN = [
  ...['train', '--arch', 'alexnet2012', '--input-size', '67', '--width', '0.25'],
  ...['--max-train', '32', '--max-test', '8', '--batch', '8', '--seed', '3', '--quiet'],
  ...['--threads', '1', '--precision', 'fp32'], // the single run too (fashion-quick's default)
];
const HYBRID = ['--parallel', 'hybrid', '--replicas', '2'];

test(
  'train --parallel hybrid equals the single-process net; its checkpoint resumes the same on the workers and on one thread',
  { timeout: 180_000 },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'alexnet-hybrid-'));
    try {
      const at = (run: string, file = 'model.safetensors'): string => join(dir, run, file);
      for (const [run, extra] of [
        ['single', []],
        ['hybrid', HYBRID],
      ] as const) {
        const r = runCli([...RUN, ...extra, '--epochs', '1', '--out', join(dir, run)]);
        assert.equal(r.status, 0, r.stderr);
      }
      const e1 = modelFileDiff(at('single'), at('hybrid'));
      assert.ok(e1.d < 2e-4, `after epoch 1: ${e1.name} differs by ${e1.d}`);
      cpSync(join(dir, 'hybrid'), join(dir, 'resumed'), { recursive: true });
      for (const [run, extra] of [
        ['hybrid', HYBRID],
        ['resumed', []],
      ] as const) {
        const ckpt = at(run, 'checkpoint.safetensors');
        const r = runCli([...RUN, ...extra, '--epochs', '2', '--resume', ckpt]);
        assert.equal(r.status, 0, r.stderr);
      }
      const e2 = modelFileDiff(at('resumed'), at('hybrid'));
      assert.ok(e2.d < 1e-5, `after the resumed epoch 2: ${e2.name} differs by ${e2.d}`);
      assert.ok(modelFileDiff(at('hybrid'), at('single')).d > 0); // epoch 2 changed the weights
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

for (const [how, line] of [
  ['throw', /^alexnet: hybrid worker 1 of 2 threw: injected failure at forward 6$/],
  ['exit', /^alexnet: hybrid worker 0 of 2 exited \(code 7\)$/],
] as const) {
  test(
    `a hybrid worker that ${how}s in epoch 2 ends the run: one line, exit 1, epoch 1's checkpoint intact`,
    { timeout: 60_000 },
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'alexnet-hybrid-'));
      try {
        const out = join(dir, 'run');
        const r = runCli([...RUN, ...HYBRID, '--epochs', '3', '--out', out], {
          ALEXNET_HYBRID_FAIL: `${how === 'throw' ? 1 : 0}:${how}:6`,
        });
        assert.equal(r.status, 1, r.stderr);
        const lines = r.stderr.trim().split('\n');
        assert.equal(lines.length, 1, r.stderr);
        assert.match(lines[0], line);
        const saved = loadTrainingCheckpoint(join(out, 'checkpoint.safetensors'));
        assert.equal(saved.state.epoch, 1);
        assert.ok(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').length === 1);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
}

test(
  'train({ parallel: { scheme: hybrid, replicas: 2 } }) equals the single-process run',
  { timeout: 120_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'alexnet-hybrid-api-'));
    try {
      const config = {
        arch: 'caffenet' as const,
        inputSize: 67,
        variant: variantSchema.parse({ width: 0.25, fc: 1024 }),
        epochs: 1,
        batch: 8,
        maxTrain: 24,
        maxTest: 8,
        seed: 5,
        maxSeconds: null,
        precision: 'fp32' as const, // the single run too (fashion-quick's default)
      };
      const runs = [];
      for (const parallel of [undefined, { scheme: 'hybrid' as const, replicas: 2 }])
        runs.push(
          await train({
            config,
            outDir: join(dir, parallel ? 'hybrid' : 'single'),
            plots: false,
            backend: 'native',
            threads: 1,
            parallel,
          }),
        );
      const [single, hybrid] = runs;
      let worst = 0;
      for (const p of single.model.net.params) {
        const a = hostData(single.model.net.backend, p.value);
        const b = hostData(
          hybrid.model.net.backend,
          hybrid.model.net.paramsByName.get(p.name)!.value,
        );
        for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
      }
      assert.ok(worst < 2e-4, `parameters differ by ${worst}`);
      assert.equal(hybrid.images, 24);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
