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
import { mpiSkipReason, mpirun } from './mpirun.js';
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
          Math.abs(a.state.history[1].trainLoss - b.state.history[1].trainLoss) < 1e-5,
          `case ${k}: train loss ${a.state.history[1].trainLoss} vs ${b.state.history[1].trainLoss}`,
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
