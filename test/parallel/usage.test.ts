// A network or a worker count that a --parallel scheme cannot split is a usage error: the
// library names its subject and the option at fault (UsageError.option), the CLI puts that
// option's flag in front — one line, exit code 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { train } from '../../src/index.js';
import { UsageError } from '../../src/util/errors.js';
import { runCli } from '../helpers/cli.js';

const SMALL = ['--arch', 'd2l', '--input-size', '67'];

test('the CLI names the flag of a scheme that cannot split the network', () => {
  const dir = mkdtempSync(join(tmpdir(), 'alexnet-parallel-usage-'));
  try {
    const towers = runCli([
      ...['train', ...SMALL, '--max-train', '8', '--max-test', '8', '--epochs', '1'],
      ...['--parallel', 'towers', '--quiet', '--out', join(dir, 'run')],
    ]);
    assert.equal(towers.status, 2, towers.stderr);
    assert.equal(
      towers.stderr,
      'alexnet: --parallel: towers: the network has no two-tower (groups = 2) layers; use alexnet2012 or caffenet\n',
    );
    const hybrid = runCli([
      ...['bench', ...SMALL, '--parallel', 'hybrid', '--replicas', '11'],
      ...['--batch', '2', '--iterations', '1'],
    ]);
    assert.equal(hybrid.status, 2, hybrid.stderr);
    assert.equal(
      hybrid.stderr,
      "alexnet: --replicas: hybrid splits fc8's 10 outputs over 11 workers; use at most 10 workers\n",
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the library names the subject and the option', async () => {
  await assert.rejects(
    train({
      config: { arch: 'd2l', inputSize: 67, epochs: 1, maxTrain: 8, maxTest: 8 },
      outDir: join(tmpdir(), 'alexnet-never-written'),
      plots: false,
      parallel: { scheme: 'towers' },
    }),
    (e: Error) =>
      e instanceof UsageError &&
      e.option === 'parallel' &&
      /^towers: the network has no/.test(e.message),
  );
});
