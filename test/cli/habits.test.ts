// The command line's habits: train's result on stdout and its progress on stderr, --quiet,
// --version, the presets in train --help, the refusal to overwrite a run in --out (and --force),
// `alexnet info` on a trained model, on a model without a training record and on bare weights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { refBackend } from '../../src/backend/ref/index.js';
import { buildNet } from '../../src/models/alexnet.js';
import { saveModel } from '../../src/models/checkpoint.js';
import { defaultConfig } from '../../src/models/config.js';
import { writeSafetensors } from '../../src/tensor/safetensors.js';
import { runCli } from '../helpers/cli.js';
import { writeIdxDir } from '../helpers/idx.js';

const dir = mkdtempSync(join(tmpdir(), 'alexnet-habits-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const idx = join(dir, 'idx');
writeIdxDir(idx, 40);
const trainArgs = (out: string, ...more: string[]): string[] => [
  'train',
  '--data',
  idx,
  '--epochs',
  '1',
  '--batch',
  '20',
  '--max-seconds',
  '0',
  '--out',
  out,
  ...more,
];

test('train: the result on stdout, progress on stderr; --quiet; refusing to overwrite a run', () => {
  const out = join(dir, 'run');
  const r = runCli(trainArgs(out));
  assert.equal(r.status, 0, r.stderr);
  const stdout = r.stdout.trim().split('\n');
  assert.equal(stdout.length, 1, r.stdout);
  assert.match(stdout[0], /^test accuracy \d\.\d{4} \(top-5 \d\.\d{4}, 10 images\) after \d+ s/);
  assert.match(r.stderr, /^training d2l at 67×67 on .*idx \(40 train \/ 10 validation images/m);
  assert.match(
    r.stderr,
    /^configuration \(preset fashion-quick\): d2l at 67×67, 1 epoch, batch 20/m,
  );
  assert.match(r.stderr, /^epoch 1: train loss/m);
  assert.ok(existsSync(join(out, 'model-best.safetensors')));

  // A second run into the same --out: one line naming the ways on, exit 2, nothing touched.
  const before = statSync(join(out, 'model.safetensors')).mtimeMs;
  const again = runCli(trainArgs(out));
  assert.equal(again.status, 2);
  const lines = again.stderr.trim().split('\n');
  assert.equal(lines.length, 1, again.stderr);
  assert.match(lines[0], /^alexnet: --out: run directory .*run holds a run already/);
  assert.match(lines[0], /--resume .*checkpoint\.safetensors/);
  assert.match(lines[0], /--force/);
  assert.match(lines[0], /another --out/);
  assert.equal(statSync(join(out, 'model.safetensors')).mtimeMs, before);

  const quiet = runCli(trainArgs(out, '--force', '--quiet', '--seed', '3'));
  assert.equal(quiet.status, 0, quiet.stderr);
  assert.equal(quiet.stderr, '', 'nothing on stderr with --quiet');
  assert.match(quiet.stdout, /^test accuracy /);
  assert.equal(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').length, 1);
});

test('--version; train --help shows the presets and their values', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
  const v = runCli(['--version']);
  assert.equal(v.status, 0);
  assert.equal(v.stdout.trim(), pkg.version);
  const h = runCli(['train', '--help']);
  assert.equal(h.status, 0);
  assert.match(h.stdout, /fashion-quick\n\s+d2l at 67×67, 3 epochs, batch 128, lr 0\.04 cosine/);
  assert.match(h.stdout, /imagefolder\n\s+alexnet2012 at 227×227/);
  assert.match(h.stdout, /budget 540 s/);
});

test('info: a trained model, a model without a training record, bare weights', () => {
  const out = join(dir, 'info-run');
  assert.equal(runCli(trainArgs(out, '--seed', '5')).status, 0);
  const model = join(out, 'model.safetensors');
  const r = runCli(['info', model]);
  assert.equal(r.status, 0, r.stderr);
  for (const re of [
    /variant\s+d2l/,
    /classes\s+10/,
    /input\s+1×67×67/,
    /preprocessing\s+gray, resize 28/,
    /dataset\s+.*idx/,
    /split\s+separate train and test files; trained on 40, validated on 10 images/,
    /recipe\s+preset fashion-quick: d2l at 67×67, 1 epoch, batch 20/,
    /accuracy\s+validation top-1 \d\.\d{4}, top-5 \d\.\d{4}, loss [\d.]+ \(10 images, epoch 1, step 2\)/,
    /seed\s+5/,
    /date\s+\d{4}-\d\d-\d\dT/,
    /written by\s+alexnet-ts \d+\.\d+\.\d+/,
  ])
    assert.match(r.stdout, re);
  const j = JSON.parse(runCli(['info', model, '--json']).stdout);
  assert.equal(j.schemaVersion, 1);
  assert.equal(j.meta.config.arch, 'd2l');
  assert.equal(j.training.recipe.seed, 5);

  const old = join(dir, 'old.safetensors');
  const config = defaultConfig('d2l', { inputSize: 67 });
  saveModel(old, buildNet(config, refBackend), { config, dataset: 'fashion-mnist' });
  const o = runCli(['info', old]);
  assert.equal(o.status, 0, o.stderr);
  assert.match(o.stdout, /variant\s+d2l/);
  assert.match(o.stdout, /training\s+no training record/);

  const bare = join(dir, 'bare.safetensors');
  writeSafetensors(bare, buildNet(config, refBackend).stateDict());
  const b = runCli(['info', bare]);
  assert.equal(b.status, 0, b.stderr);
  assert.match(b.stdout, /parameters\s+21,598,922/);
  assert.match(b.stdout, /metadata\s+none/);
});
