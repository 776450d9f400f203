// `alexnet train --parallel towers` end to end on alexnet2012 at 67 px (32 Fashion-MNIST images,
// batch 8): an epoch on the towers gives the single-process grouped net's model (within 2e-4:
// the towers sum some gradients in another order, and training on 32 images amplifies it; two
// single runs of the native kernels differ by 1e-7); the towers' checkpoint is an ordinary file
// that --resume continues the same (within 1e-5) on the towers and on one thread; and a tower that
// throws or exits ends the run with one line naming it, exit code 1, and the first epoch's
// checkpoint intact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { modelFileDiff } from '../helpers/compare.js';
import { loadTrainingCheckpoint } from '../../src/train/checkpoint.js';
import { runCli } from '../helpers/cli.js';

const RUN = [
  ...['train', '--arch', 'alexnet2012', '--input-size', '67', '--max-train', '32'],
  ...['--max-test', '8', '--batch', '8', '--seed', '3', '--quiet', '--threads', '1'],
  ...['--precision', 'fp32'], // the single run too (fashion-quick's default)
];

test(
  'train --parallel towers equals the grouped net; its checkpoint resumes the same on the towers and on one thread',
  { timeout: 180_000 },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'alexnet-towers-'));
    try {
      const at = (run: string, file = 'model.safetensors'): string => join(dir, run, file);
      const towers = ['--parallel', 'towers'];
      for (const [run, extra] of [
        ['single', []],
        ['towers', towers],
      ] as const) {
        const r = runCli([...RUN, ...extra, '--epochs', '1', '--out', join(dir, run)]);
        assert.equal(r.status, 0, r.stderr);
      }
      const e1 = modelFileDiff(at('single'), at('towers'));
      assert.ok(e1.d < 2e-4, `after epoch 1: ${e1.name} differs by ${e1.d}`);
      // The towers' checkpoint, resumed for a second epoch on the towers and on the single net.
      cpSync(join(dir, 'towers'), join(dir, 'resumed'), { recursive: true });
      for (const [run, extra] of [
        ['towers', towers],
        ['resumed', []],
      ] as const) {
        const ckpt = at(run, 'checkpoint.safetensors');
        const r = runCli([...RUN, ...extra, '--epochs', '2', '--resume', ckpt]);
        assert.equal(r.status, 0, r.stderr);
      }
      const e2 = modelFileDiff(at('resumed'), at('towers'));
      assert.ok(e2.d < 1e-5, `after the resumed epoch 2: ${e2.name} differs by ${e2.d}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

for (const [how, line] of [
  ['throw', /^alexnet: tower B threw: injected failure at forward 6$/],
  ['exit', /^alexnet: tower A exited \(code 7\)$/],
] as const) {
  test(
    `a tower that ${how}s in epoch 2 ends the run: one line, exit 1, epoch 1's checkpoint intact`,
    { timeout: 60_000 },
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'alexnet-towers-'));
      try {
        const out = join(dir, 'run');
        const r = runCli([...RUN, '--epochs', '3', '--parallel', 'towers', '--out', out], {
          ALEXNET_TOWER_FAIL: `${how === 'throw' ? 'B' : 'A'}:${how}:6`,
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
