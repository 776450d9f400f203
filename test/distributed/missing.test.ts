// Without Open MPI the package still installs and works, and --distributed says what to install:
// scripts/mpi-config.cjs reports MPI absent (no mpicc on the PATH, or ALEXNET_NO_MPI=1), gyp then
// makes the alexnet_mpi target empty (only alexnet_native is compiled), and the CLI, finding no
// MPI module, fails with one line and exit code 2. Also the split of a global batch into shares.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { shareOf } from '../../src/train/distributed.js';
import { ROOT, runCli } from '../helpers/cli.js';

const config = (what: string, env: Record<string, string>): string =>
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'mpi-config.cjs'), what], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  }).trim();

test('mpi-config reports MPI absent without mpicc or with ALEXNET_NO_MPI=1', () => {
  assert.equal(config('found', { PATH: '/nonexistent' }), '0');
  assert.equal(config('incdirs', { PATH: '/nonexistent' }), '');
  assert.equal(config('found', { ALEXNET_NO_MPI: '1' }), '0');
});

const nodedir = dirname(dirname(process.execPath));
test(
  'without MPI, gyp configures an empty alexnet_mpi target and the native one as before',
  { skip: existsSync(join(nodedir, 'include', 'node', 'node.h')) ? false : 'no Node headers' },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'alexnet-gyp-'));
    try {
      cpSync(join(ROOT, 'binding.gyp'), join(dir, 'binding.gyp'));
      cpSync(join(ROOT, 'scripts'), join(dir, 'scripts'), { recursive: true });
      execFileSync(
        process.execPath,
        [
          join(ROOT, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
          'configure',
          `--nodedir=${nodedir}`,
        ],
        {
          cwd: dir,
          stdio: 'pipe',
          env: { ...process.env, ALEXNET_NO_MPI: '1', NODE_PATH: join(ROOT, 'node_modules') },
        },
      );
      const mpiMk = readFileSync(join(dir, 'build', 'alexnet_mpi.target.mk'), 'utf8');
      assert.doesNotMatch(mpiMk, /mpi\.o|-lmpi/);
      const nativeMk = readFileSync(join(dir, 'build', 'alexnet_native.target.mk'), 'utf8');
      assert.match(nativeMk, /native\/gemm\.o/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('--distributed without the MPI module is a one-line error saying what to install', () => {
  const r = runCli(['train', '--distributed', '--max-train', '8'], {
    ALEXNET_MPI_MODULE: join(tmpdir(), 'nonexistent', 'alexnet_mpi.node'),
  });
  assert.equal(r.status, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /--distributed: .*apt-get install openmpi-bin libopenmpi-dev.*rebuild/);
});

test('a global batch splits into disjoint shares covering it, rank 0 never empty', () => {
  for (const size of [1, 2, 3, 4, 7])
    for (const m of [1, 2, 5, 16, 17, 31]) {
      let next = 0;
      for (let r = 0; r < size; r++) {
        const s = shareOf(m, r, size);
        assert.equal(s.first, next);
        next += s.count;
        assert.ok(s.count === Math.floor(m / size) || s.count === Math.ceil(m / size));
      }
      assert.equal(next, m);
      assert.ok(shareOf(m, 0, size).count >= 1);
    }
});
