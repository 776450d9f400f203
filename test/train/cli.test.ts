// Bad input to train/eval/predict through the built CLI: one line on stderr naming the flag or
// file, exit code 2, nothing written. Also predict end to end on a generated PNG, train → eval →
// resume on an IDX directory, and a SIGTERM to a running train.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { refBackend } from '../../src/backend/ref/index.js';
import { FASHION_CLASSES } from '../../src/data/byte-dataset.js';
import { buildNet } from '../../src/models/alexnet.js';
import { saveModel } from '../../src/models/checkpoint.js';
import { defaultConfig } from '../../src/models/config.js';
import { initialize } from '../../src/models/init.js';
import { writeSafetensors } from '../../src/tensor/safetensors.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { loadTrainingCheckpoint } from '../../src/train/checkpoint.js';
import { ROOT, runCli, type CliResult } from '../helpers/cli.js';
import { writeIdxDir } from '../helpers/idx.js';

const dir = mkdtempSync(join(tmpdir(), 'alexnet-cli-train-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function assertUsage(r: CliResult, pattern: RegExp): void {
  assert.equal(r.status, 2, `exit 2 expected, got ${r.status}: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line expected:\n${r.stderr}`);
  assert.match(lines[0], pattern);
}

// A real d2l model at 67 px (the fashion-quick shape) with Fashion-MNIST metadata.
const modelPath = join(dir, 'd2l67.safetensors');
{
  const config = defaultConfig('d2l', { inputSize: 67 });
  const net = buildNet(config, refBackend);
  initialize(net, 'kaiming', 1);
  saveModel(modelPath, net, {
    config,
    classNames: [...FASHION_CLASSES],
    dataset: 'fashion-mnist',
    preprocess: {
      colorOrder: 'gray',
      resize: 28,
      cropSize: 28,
      pixelScale: 1 / 255,
      mean: [0.286],
      std: [0.353],
      invert: true,
    },
  });
}

test('train: unknown preset, bad values, unreadable --data', () => {
  assertUsage(runCli(['train', '--preset', 'nope']), /--preset.*nope/);
  assertUsage(runCli(['train', '--lr', '-1']), /--lr/);
  assertUsage(runCli(['train', '--schedule', 'linear']), /--schedule/);
  assertUsage(
    runCli(['train', '--freeze', 'conv9', '--out', join(dir, 'x'), '--backend', 'ref']),
    /--freeze: layer conv9: no such layer/,
  );
  assertUsage(
    runCli(['train', '--data', join(dir, 'missing'), '--out', join(dir, 'y')]),
    /--data: .*missing: cannot read/,
  );
  writeFileSync(join(dir, 'plain-file'), 'x');
  assertUsage(runCli(['train', '--data', join(dir, 'plain-file')]), /not a directory/);
  assertUsage(runCli(['train', '--preset', 'imagenet-2012']), /needs --data/);
  assert.equal(existsSync(join(dir, 'x')), false, 'nothing written');
});

test('train --resume of a model file, a truncated checkpoint; --from another network', () => {
  assertUsage(runCli(['train', '--resume', modelPath]), /not a training checkpoint/);
  const truncated = join(dir, 'checkpoint.safetensors');
  writeFileSync(truncated, readFileSync(modelPath).subarray(0, 5000)); // an interrupted write
  assertUsage(runCli(['train', '--resume', truncated]), /not a valid safetensors file/);
  const other = join(dir, 'other.safetensors');
  writeSafetensors(
    other,
    new Map([
      ['conv1.weight', new Tensor([64, 3, 11, 11])],
      ['fc8.weight', new Tensor([1000, 4096])],
    ]),
  );
  assertUsage(
    runCli(['train', '--from', other, '--out', join(dir, 'z'), '--backend', 'ref']),
    /no tensor matches|--from/,
  );
});

test('eval: a model file of another network, --views 10 on Fashion-MNIST', () => {
  const wrong = join(dir, 'wrong.safetensors');
  const meta = { config: defaultConfig('d2l', { inputSize: 67 }) };
  writeSafetensors(wrong, new Map([['conv1.weight', new Tensor([64, 3, 11, 11])]]), {
    'alexnet.meta': JSON.stringify(meta),
  });
  assertUsage(
    runCli(['eval', '--model', wrong, '--backend', 'ref']),
    /conv1.weight has shape \[64, 3, 11, 11\]/,
  );
  assertUsage(
    runCli(['eval', '--model', modelPath, '--views', '10', '--backend', 'ref']),
    /only the centre view/,
  );
  assertUsage(runCli(['eval', '--model', join(dir, 'nope.safetensors')]), /cannot read/);
});

test('predict: a PNG → top-k Fashion-MNIST labels; a broken image is a one-line error', async () => {
  const png = join(dir, 'shoe.png');
  // a dark shape on a white background, as a product photo: predict inverts it
  const raw = Buffer.alloc(40 * 30, 255);
  for (let y = 20; y < 28; y++) for (let x = 3; x < 37; x++) raw[y * 40 + x] = 20;
  await sharp(raw, { raw: { width: 40, height: 30, channels: 1 } })
    .png()
    .toFile(png);
  const r = runCli([
    'predict',
    '--model',
    modelPath,
    png,
    '--top',
    '3',
    '--json',
    '--backend',
    'ref',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim());
  assert.equal(out.image, png);
  assert.equal(out.top.length, 3);
  assert.ok(out.top.every((t: { label: string }) => FASHION_CLASSES.includes(t.label)));
  assert.ok(out.top[0].probability >= out.top[1].probability);
  writeFileSync(join(dir, 'broken.png'), 'not a png');
  assertUsage(
    runCli(['predict', '--model', modelPath, join(dir, 'broken.png'), '--backend', 'ref']),
    /broken.png: cannot read image/,
  );
});

test('train on an IDX directory → eval → resume, end to end through the CLI', () => {
  const idxDir = join(dir, 'idx');
  writeIdxDir(idxDir, 40);
  const out = join(dir, 'run');
  const r = runCli([
    'train',
    '--data',
    idxDir,
    '--epochs',
    '1',
    '--batch',
    '20',
    '--out',
    out,
    '--json',
    '--max-seconds',
    '0',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(lines[0].event, 'config');
  assert.equal(lines[1].event, 'epoch');
  const final = lines[lines.length - 1];
  assert.equal(final.event, 'final');
  assert.ok(final.test.top1 >= 0 && final.test.top1 <= 1 && final.test.top5 >= final.test.top1);
  assert.equal(final.steps, 2);
  for (const f of [
    'model.safetensors',
    'checkpoint.safetensors',
    'metrics.jsonl',
    'curves.svg',
    'curves.png',
  ])
    assert.ok(existsSync(join(out, f)), f);
  const ev = runCli([
    'eval',
    '--model',
    join(out, 'model.safetensors'),
    '--data',
    idxDir,
    '--json',
  ]);
  assert.equal(ev.status, 0, ev.stderr);
  const e = JSON.parse(ev.stdout);
  assert.equal(e.samples, 10);
  assert.equal(e.top1, final.test.top1, "eval reproduces the training run's test accuracy");
  assert.equal(e.confusion.length, 10);
  const re = runCli([
    'train',
    '--resume',
    join(out, 'checkpoint.safetensors'),
    '--epochs',
    '2',
    '--json',
  ]);
  assert.equal(re.status, 0, re.stderr);
  const reFinal = JSON.parse(re.stdout.trim().split('\n').pop()!);
  assert.equal(reFinal.steps, 4);
  assert.equal(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').length, 2);
});

test('SIGTERM to a running `alexnet train`: the step finishes, the checkpoint is saved, exit 143', async () => {
  const idxDir = join(dir, 'idx-term');
  writeIdxDir(idxDir, 2000);
  const out = join(dir, 'run-term');
  const child = spawn(
    process.execPath,
    [
      join(ROOT, 'bin', 'alexnet.js'),
      'train',
      '--data',
      idxDir,
      '--epochs',
      '5',
      '--batch',
      '20',
      '--out',
      out,
      '--json',
      '--max-seconds',
      '0',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d;
  });
  const status = await new Promise<number | null>((resolve) => {
    // Signal once training has begun (the first progress line), well before 5 epochs can end.
    let sent = false;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
      if (!sent && / batch \d+\//.test(stderr)) sent = child.kill('SIGTERM');
    });
    child.on('close', (code) => resolve(code));
  });
  assert.equal(status, 143, stderr);
  assert.match(stderr, /interrupted at epoch \d+, batch \d+\/100; saved .*checkpoint\.safetensors/);
  const final = JSON.parse(stdout.trim().split('\n').pop()!);
  assert.equal(final.interrupted, true);
  assert.ok(final.epochs < 5);
  const ck = loadTrainingCheckpoint(join(out, 'checkpoint.safetensors'));
  assert.equal(ck.state.epoch, final.epochs, 'saved in the epoch that was interrupted');
  assert.ok(
    ck.state.batchInEpoch > 0 && ck.state.batchInEpoch < 100,
    `saved mid-epoch (batch ${ck.state.batchInEpoch})`,
  );
});
