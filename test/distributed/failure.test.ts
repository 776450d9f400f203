// A rank that dies or hangs ends every rank, with one line, within a bound, and leaves the last
// checkpoint intact. Rank 1 is found by its OMPI_COMM_WORLD_RANK once rank 0 has written a
// checkpoint, then killed (SIGKILL: mpirun sends SIGTERM to rank 0, which says so and exits) or
// stopped (SIGSTOP: rank 0 waits --distributed-timeout, 3 s here, says so and aborts the job).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTrainingCheckpoint } from '../../src/train/checkpoint.js';
import { mpiSkipReason, mpirun } from './mpirun.js';

/** The pids of the job's processes that are rank `rank` (node processes only). */
function pidsOfRank(rank: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const env = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (env.includes(`OMPI_COMM_WORLD_RANK=${rank}`) && cmd.includes('rank-train.js'))
        pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

async function failRank1(signal: 'SIGKILL' | 'SIGSTOP'): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'alexnet-dist-'));
  const checkpoint = join(dir, 'case0', 'checkpoint.safetensors');
  try {
    let failedAt = 0;
    const job = mpirun(
      2,
      'dist/test/distributed/rank-train.js',
      [
        dir,
        JSON.stringify({ cases: [{ train: 96, epochs: 100000, batch: 8 }], timeoutSeconds: 3 }),
      ],
      60,
      {
        onStart: () => {
          const poll = setInterval(() => {
            if (!existsSync(checkpoint)) return;
            const pids = pidsOfRank(1);
            if (pids.length !== 1) return;
            clearInterval(poll);
            failedAt = performance.now();
            process.kill(pids[0], signal);
          }, 200);
        },
      },
    );
    const r = await job;
    const seconds = (performance.now() - failedAt) / 1000;
    assert.ok(failedAt > 0, `rank 1 was never found: ${r.stderr}`);
    assert.notEqual(r.status, 0);
    assert.ok(seconds < 20, `the job took ${seconds.toFixed(1)} s to end after rank 1 failed`);
    const ours = r.stderr.split('\n').filter((l) => l.startsWith('alexnet: distributed:'));
    assert.equal(ours.length, 1, r.stderr);
    assert.match(
      ours[0],
      signal === 'SIGKILL'
        ? /rank 0 of 2 stopped by SIGTERM at epoch \d+, step \d+ .*mpirun ends every rank/
        : /rank 0 of 2 waited 3 s for the other ranks at epoch \d+, step \d+: a rank died or hangs; ending every rank/,
    );
    assert.match(ours[0], /the last checkpoint .*checkpoint\.safetensors is intact/);
    const ck = loadTrainingCheckpoint(checkpoint);
    assert.ok(ck.state.epoch >= 1 && ck.state.batchInEpoch === 0, 'a whole-epoch checkpoint');
    assert.deepEqual(pidsOfRank(0), [], 'rank 0 is gone');
    assert.deepEqual(pidsOfRank(1), [], 'rank 1 is gone');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const skip = mpiSkipReason() ?? false;
test('a killed rank ends the job with one line; the checkpoint stays intact', { skip }, () =>
  failRank1('SIGKILL'),
);
test('a hung rank ends the job after the timeout with one line', { skip }, () =>
  failRank1('SIGSTOP'),
);
