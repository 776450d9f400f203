// Runs that go wrong through the built CLI: each ends with one line on stderr naming the flag,
// file or cause, the exact exit code, no stack trace and no file left behind — a diverged run,
// labels the model has no class for, write failures, flags out of range, networks too large.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { refBackend } from '../../src/backend/ref/index.js';
import { buildNet } from '../../src/models/alexnet.js';
import { saveModel } from '../../src/models/checkpoint.js';
import { defaultConfig, type ModelMeta } from '../../src/models/config.js';
import { initialize } from '../../src/models/init.js';
import { readNpy, writeNpy } from '../../src/tensor/npy.js';
import { writeSafetensors } from '../../src/tensor/safetensors.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { ROOT, runCli, type CliResult } from '../helpers/cli.js';
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
      /^alexnet: --lr: training diverged: (loss|validation loss) NaN .*nothing was saved; try a lower learning rate/,
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

// A d2l model at 67 px with ten class names, and variants whose metadata lies.
const config = defaultConfig('d2l', { inputSize: 67 });
const net = buildNet(config, refBackend);
initialize(net, 'kaiming', 1);
const names = Array.from({ length: 10 }, (_, i) => `class ${i}`);
function model(name: string, meta: ModelMeta): string {
  const path = join(dir, name);
  saveModel(path, net, meta);
  return path;
}
const good = model('good.safetensors', { config, classNames: names });
const input = join(dir, 'x.npy');
writeNpy(input, new Tensor([2, 1, 67, 67]));

/** Nothing in `d` but `keep` (no output, no temporary file). */
function onlyThere(d: string, keep: string[]): void {
  assert.deepEqual(readdirSync(d).sort(), [...keep].sort(), `files left in ${d}`);
}

test('write failures: a missing directory, a directory as the output, a full disk', () => {
  const outDir = join(dir, 'outs');
  mkdirSync(join(outDir, 'y.npy'), { recursive: true });
  const infer = (output: string): CliResult =>
    runCli(['infer', '--model', good, '--input', input, '--output', output, '--backend', 'ref']);
  assertOneLine(
    infer(join(dir, 'missing', 'y.npy')),
    2,
    /missing\/y\.npy: cannot write \(ENOENT: no such directory\)/,
  );
  assertOneLine(
    infer(join(outDir, 'y.npy')),
    2,
    /y\.npy: cannot write \(it is a directory; give a file name\)/,
  );
  onlyThere(outDir, ['y.npy']);
  // A full disk, as a file-size limit: SIGXFSZ ignored, so the write fails with EFBIG midway.
  const out = join(outDir, 'big.npy');
  const r = spawnSync(
    'bash',
    [
      '-c',
      `trap '' XFSZ; ulimit -f 1; exec "$@"`,
      'bash',
      process.execPath,
      join(ROOT, 'bin', 'alexnet.js'),
      'infer',
      '--model',
      good,
      '--input',
      input,
      '--output',
      out,
      '--layer',
      'conv1',
      '--backend',
      'ref',
    ],
    { encoding: 'utf8' },
  );
  assertOneLine(
    { status: r.status, stdout: r.stdout, stderr: r.stderr },
    2,
    /big\.npy: cannot write \(EFBIG: file too large\)/,
  );
  onlyThere(outDir, ['y.npy']);
});

test('train checks --out before reading data or training: a file, under a file, no new entries', () => {
  const file = join(dir, 'a-file');
  writeFileSync(file, 'x');
  const train = (out: string): CliResult =>
    runCli(['train', '--data', data, ...quick, '--out', out]);
  assertOneLine(train(file), 2, /--out .*a-file: not a directory \(a file is in the way\)/);
  assertOneLine(train(join(file, 'run')), 2, /--out .*a-file\/run: cannot write there \(ENOTDIR/);
  // /proc takes no new directories (Node's recursive mkdir would loop there forever)
  const r = train('/proc/alexnet-test/run');
  assertOneLine(r, 2, /--out \/proc\/alexnet-test\/run: cannot write into \/proc/);
  assert.doesNotMatch(r.stderr, /^training/m, 'training started');
});

test('flags out of range name the flag, in one line (no ZodError dump, no "--backend undefined")', () => {
  assertOneLine(
    runCli(['train', '--momentum', '2']),
    2,
    /^alexnet: --momentum 2: must be at most 1$/,
  );
  assertOneLine(
    runCli(['train', '--input-size', '100000']),
    2,
    /^alexnet: --input-size 100000: must be at most 512$/,
  );
  assertOneLine(
    runCli(['train', '--threads', '10000']),
    2,
    /^alexnet: --threads 10000: threads must be at most 256$/,
  );
  assertOneLine(
    runCli(['eval', '--model', good, '--threads', '10000', '--backend', 'native']),
    2,
    /^alexnet: --threads 10000: threads must be at most 256$/,
  );
});

test('networks sized from a file are bounded: 1e9 classes claimed, an input of 100000 px', () => {
  const huge = model('huge.safetensors', {
    config: { ...config, classes: 1e9 },
    classNames: names,
  });
  const r = runCli(['infer', '--model', huge, '--input', input, '--output', join(dir, 'h.npy')]);
  assertOneLine(
    r,
    2,
    /huge\.safetensors: metadata .* is invalid \(config\.classes: Too big: expected number to be <=32768\)/,
  );
  // no metadata: the network's input size comes from the array (and is bounded)
  const plain = join(dir, 'plain.safetensors');
  writeSafetensors(plain, net.stateDict(), {});
  const wide = join(dir, 'wide.npy');
  writeNpy(wide, new Tensor([1, 1, 1, 100000]));
  const args = [
    'infer',
    '--model',
    plain,
    '--arch',
    'd2l',
    '--input',
    wide,
    '--output',
    join(dir, 'w.npy'),
  ];
  assertOneLine(runCli(args), 2, /a d2l network of input size 100000: must be at most 512/);
});

test('class names: a list shorter than the classes is refused, not printed as undefined', () => {
  const short = model('short.safetensors', { config, classNames: names.slice(0, 3) });
  const r = runCli(['infer', '--model', short, '--input', input, '--output', join(dir, 's.npy')]);
  assertOneLine(r, 2, /short\.safetensors: metadata .* names 3 classes, the model has 10/);
  assert.ok(!existsSync(join(dir, 's.npy')));
});

test('infer on an empty batch (N = 0) writes [0, classes] (and [0, ...] of a named layer)', () => {
  const empty = join(dir, 'empty.npy');
  writeNpy(empty, new Tensor([0, 1, 67, 67]));
  for (const [layer, shape] of [
    [null, [0, 10]],
    ['conv1', [0, 96, 15, 15]],
  ] as const) {
    const out = join(dir, `empty-${layer ?? 'logits'}.npy`);
    const args = ['infer', '--model', good, '--input', empty, '--output', out, '--backend', 'ref'];
    const r = runCli(layer ? [...args, '--layer', layer] : args);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(readNpy(out).shape, shape);
  }
});

test('eval on test labels the model has no class for: one line', () => {
  const bad = idxDir('bad-label-eval', 40, [0, 1, 2, 3, 4, 5, 6, 7, 8, 11]);
  const r = runCli(['eval', '--model', good, '--data', bad, '--backend', 'ref']);
  // The IDX reader refuses the label first (naming the file and index); data the reader accepts
  // still meets eval's own check against the model's classes.
  assertOneLine(
    r,
    2,
    /the test split: sample 9 has label 11, but the model has 10 classes|t10k-labels-idx1-ubyte: label 11 at index 9 is outside/,
  );
});
