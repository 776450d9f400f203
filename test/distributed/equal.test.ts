// Two ranks equal one process: the library's data-parallel training (2 ranks × batch 8) ends
// with the same parameters and momentum as one process with the global batch 16, within float
// tolerance (sums split across ranks round differently). The cases cover a last batch split
// unevenly (185 = 11·16 + 9: shares 5 and 4) and one smaller than the ranks (177 = 11·16 + 1:
// rank 1 has no sample and takes rank 0's dropout generator); augmentation (flips), dropout,
// momentum, weight decay, Caffe multipliers and label smoothing are all on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTrainingCheckpoint } from '../../src/train/checkpoint.js';
import { train } from '../../src/train/trainer.js';
import { readSafetensors } from '../../src/tensor/safetensors.js';
import { ROOT, runCli } from '../helpers/cli.js';
import { mpiSkipReason, mpirun, runJob } from './mpirun.js';
import { caseSetup, type RankCase } from './rank-train.js';

const CASES: RankCase[] = [
  { train: 185, epochs: 2, batch: 8 },
  { train: 177, epochs: 2, batch: 8 },
];
const TOLERANCE = 1e-5;

test(
  '2 ranks × batch 8 give the parameters of 1 process × batch 16',
  { skip: mpiSkipReason() ?? false },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'alexnet-dist-'));
    try {
      const job = await mpirun(
        2,
        'dist/test/distributed/rank-train.js',
        [join(dir, 'ranks'), JSON.stringify({ cases: CASES })],
        60,
      );
      assert.equal(job.status, 0, job.stderr);
      for (const [k, c] of CASES.entries()) {
        const single = caseSetup(c, 2 * c.batch);
        await train({
          ...single,
          outDir: join(dir, `single${k}`),
          handleSignals: false,
          plots: false,
        });
        await single.dataset.close();
        const a = loadTrainingCheckpoint(join(dir, `single${k}`, 'checkpoint.safetensors'));
        const b = loadTrainingCheckpoint(join(dir, 'ranks', `case${k}`, 'checkpoint.safetensors'));
        assert.equal(b.state.ranks, 2);
        assert.equal(b.state.step, a.state.step);
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
        assert.ok(moved > 100 * TOLERANCE, `case ${k}: training barely moved (${moved})`);
        assert.ok(worst <= TOLERANCE, `case ${k}: max |diff| ${worst} in ${where}`);
        assert.ok(
          Math.abs(a.state.history[1].train.loss - b.state.history[1].train.loss) < 1e-5,
          `case ${k}: train loss ${a.state.history[1].train.loss} vs ${b.state.history[1].train.loss}`,
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test(
  'the CLI: mpirun -np 2 alexnet train --distributed --batch 16 equals alexnet train --batch 32',
  { skip: mpiSkipReason() ?? false },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'alexnet-dist-'));
    const args = (batch: number, out: string): string[] => [
      ...['train', '--arch', 'd2l', '--input-size', '67', '--max-train', '72', '--max-test', '16'],
      ...['--epochs', '1', '--lr', '0.02', '--schedule', 'constant', '--warmup', '0', '--augment'],
      ...['--max-seconds', '0', '--threads', '1', '--seed', '5', '--json', '--precision', 'fp32'],
      ...['--batch', String(batch), '--out', join(dir, out)],
    ];
    try {
      const one = await runJob(
        process.execPath,
        [join(ROOT, 'bin', 'alexnet.js'), ...args(32, 'one')],
        60,
      );
      assert.equal(one.status, 0, one.stderr);
      const two = await mpirun(
        2,
        'bin/alexnet.js',
        [args(16, 'two')[0], '--distributed', ...args(16, 'two').slice(1)],
        60,
      );
      assert.equal(two.status, 0, two.stderr);
      // Rank 0 alone reports: one final line on stdout.
      const finals = two.stdout.split('\n').filter((l) => l.includes('"event":"final"'));
      assert.equal(finals.length, 1, two.stdout);
      assert.match(two.stderr, /steps of batch 32 \(2 ranks × 16\)/);
      const a = readSafetensors(join(dir, 'one', 'model.safetensors'));
      const b = readSafetensors(join(dir, 'two', 'model.safetensors'));
      let worst = 0;
      for (const [name, t] of a.tensors)
        for (let i = 0; i < t.data.length; i++)
          worst = Math.max(worst, Math.abs(t.data[i] - b.tensors.get(name)!.data[i]));
      assert.ok(worst <= TOLERANCE, `max |diff| ${worst}`);
      // A resume needs as many ranks as the run had.
      const resumed = runCli(['train', '--resume', join(dir, 'two', 'checkpoint.safetensors')]);
      assert.equal(resumed.status, 2, resumed.stderr);
      assert.match(
        resumed.stderr,
        /trained on 2 rank\(s\); resume it with the same number \(mpirun -np 2\), not 1/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
