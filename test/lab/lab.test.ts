// Every experiment's mechanics at tiny settings (a reduced-width net, a few steps): the runs
// happen, the report and plots exist and carry the numbers of the runs, and the paper's numbers
// stand beside them. Grey data is refused by pca-noise with one line; a CIFAR-10 directory runs it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectBackend } from '../../src/backend/index.js';
import { readSafetensors } from '../../src/tensor/safetensors.js';
import { EXPERIMENTS } from '../../src/lab/experiments.js';
import { experiment, runExperiment, scaledToData, settingsFor } from '../../src/lab/lab.js';
import type { ExperimentReport } from '../../src/lab/report.js';
import { UsageError } from '../../src/util/errors.js';
import { ROOT, runCli } from '../helpers/cli.js';
import { writeCifarDir } from '../helpers/cifar.js';
import { pngStats, writeIdxDir } from '../helpers/lab-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'alexnet-lab-'));
const grey = writeIdxDir(join(dir, 'idx'), 120, 40);
const colour = writeCifarDir(join(dir, 'cifar'), 60, 40);
const backend = selectBackend(undefined, 2);
const TINY = {
  width: 1 / 12,
  fc: 32,
  epochs: 1,
  batch: 20,
  maxTrain: 60,
  maxTest: 40,
  schedule: { kind: 'cosine' as const, warmup: 0 },
};

async function check(id: string, data: string): Promise<ExperimentReport> {
  const e = experiment(id);
  const out = join(dir, id);
  const s = settingsFor(e, true, data, TINY);
  const report = await runExperiment(e, s, true, { out, backend });
  const md = readFileSync(join(out, 'report.md'), 'utf8');
  assert.ok(md.includes(report.verdict), `${id}: the verdict is in the report`);
  assert.match(report.verdict, /^(agrees|disagrees|partly disagrees|no effect|inconclusive)/);
  for (const row of report.rows) {
    assert.ok(
      md.includes(`| ${row.quantity} | ${row.paper} | ${row.ours} |`),
      `${id}: ${row.quantity}`,
    );
  }
  for (const r of report.runs) {
    assert.ok(
      md.includes(`| ${r.label} | ${(100 * r.top1Error).toFixed(2)}% |`),
      `${id}: run ${r.label}`,
    );
    assert.ok(r.steps >= 3 && r.seconds > 0 && existsSync(r.model), `${id}: run ${r.name} trained`);
  }
  const json = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as ExperimentReport;
  assert.deepEqual(json.rows, report.rows);
  assert.ok(json.reductions.some((x) => x.startsWith('width: conv channels ×')));
  for (const f of ['steps.png', 'curves.png']) {
    const st = await pngStats(join(out, f));
    assert.ok(
      st.width >= 700 && st.height >= 300 && st.std > 10,
      `${id}: ${f} ${JSON.stringify(st)}`,
    );
  }
  const steps = readFileSync(join(out, 'steps.svg'), 'utf8');
  assert.equal(
    [...steps.matchAll(/<path /g)].length,
    2 * report.runs.length,
    `${id}: a line per run and panel`,
  );
  return report;
}

test('lab: the pairs (relu-tanh, lrn, overlap-pool, dropout, towers) and depth', async () => {
  const counts: Record<string, number> = {};
  for (const id of ['relu-tanh', 'lrn', 'overlap-pool', 'dropout', 'towers', 'depth'])
    counts[id] = (await check(id, grey)).runs.length;
  assert.deepEqual(counts, {
    'relu-tanh': 2,
    lrn: 2,
    'overlap-pool': 2,
    dropout: 2,
    towers: 2,
    depth: 4,
  });
  // The one-tower net is the paper's: conv1–conv4 halved, conv5 kept, no groups.
  const one = readSafetensors(
    join(dir, 'towers', 'runs', 'one-tower', 'model.safetensors'),
  ).tensors;
  const two = readSafetensors(
    join(dir, 'towers', 'runs', 'two-towers', 'model.safetensors'),
  ).tensors;
  assert.equal(one.get('conv1.weight')!.shape[0] * 2, two.get('conv1.weight')!.shape[0]);
  assert.equal(one.get('conv5.weight')!.shape[0], two.get('conv5.weight')!.shape[0]);
  assert.equal(
    one.get('conv4.weight')!.shape[1],
    one.get('conv3.weight')!.shape[0],
    'conv4 ungrouped',
  );
  const noConv3 = readSafetensors(
    join(dir, 'depth', 'runs', 'no-conv3', 'model.safetensors'),
  ).tensors;
  assert.ok(!noConv3.has('conv3.weight') && noConv3.has('conv4.weight'));
});

test('lab views: ten-view and centre errors of one crop-trained net', async () => {
  const r = await check('views', grey);
  assert.equal(r.rows[0].paper, '40.66%');
  assert.match(r.rows[1].ours, /^\d+\.\d\d%$/);
});

test('lab ensemble: 5 CNNs and 2 CNN* (pretrained on the other images, then fine-tuned)', async () => {
  const r = await check('ensemble', grey);
  assert.equal(r.runs.length, 9);
  assert.deepEqual(
    r.rows.map((x) => x.paper),
    ['40.7% / 18.2%', '38.1% / 16.4%', '39.0% / 16.6%', '36.7% / 15.4%', '—'],
  );
  // The members' own errors, beside chance, so that an ensemble of untrained nets shows as such.
  const members = r.runs.filter((x) => /^cnn6?-/.test(x.name)).map((x) => x.top1Error);
  const lo = `${(100 * Math.min(...members)).toFixed(2)}%`;
  const hi = `${(100 * Math.max(...members)).toFixed(2)}%`;
  assert.equal(r.rows[4].ours, `${lo}–${hi} (chance 90.00%)`);
  // The 1-CNN row is the first member's own error; CNN* has the sixth conv layer.
  const first = r.runs.find((x) => x.name === 'cnn-1')!;
  assert.ok(r.rows[0].ours.startsWith(`${(100 * first.top1Error).toFixed(2)}%`));
  const star = readSafetensors(
    join(dir, 'ensemble', 'runs', 'cnn6-1', 'model.safetensors'),
  ).tensors;
  const pre = readSafetensors(
    join(dir, 'ensemble', 'runs', 'pretrain-1', 'model.safetensors'),
  ).tensors;
  assert.ok(star.has('conv6.weight'));
  assert.notDeepEqual(star.get('fc8.weight')!.data, pre.get('fc8.weight')!.data);
});

test('lab pca-noise: colour data runs it; grey data is refused in one line', async () => {
  const r = await check('pca-noise', colour);
  assert.equal(r.runs.length, 2);
  await assert.rejects(
    runExperiment(
      experiment('pca-noise'),
      settingsFor(experiment('pca-noise'), true, grey, TINY),
      true,
      {
        out: join(dir, 'refused'),
        backend,
      },
    ),
    (e: Error) =>
      e instanceof UsageError && /needs colour images.*grey \(1 channel\)/.test(e.message),
  );
  assert.ok(!existsSync(join(dir, 'refused', 'report.md')));
  assert.equal(EXPERIMENTS.length, 9);
});

test('alexnet lab through the command: --json, bad names and grey pca-noise exit 2', () => {
  const tiny = [
    '--quick',
    '--width',
    String(1 / 12),
    '--fc',
    '32',
    '--epochs',
    '1',
    '--batch',
    '20',
    '--max-train',
    '40',
    '--max-test',
    '20',
  ];
  const r = runCli(['lab', 'lrn', ...tiny, '--data', grey, '--out', join(dir, 'cli'), '--json']);
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as ExperimentReport;
  assert.equal(report.experiment, 'lrn');
  assert.equal(report.settings.width, 1 / 12);
  for (const args of [
    ['lab', 'nope'],
    ['lab', 'pca-noise', ...tiny, '--data', grey, '--out', join(dir, 'x')],
  ]) {
    const bad = runCli(args);
    assert.equal(bad.status, 2, bad.stderr);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  }
});

test('--quick: an ImageFolder tree at 227 (its loader crops of a 256 copy); small data gets more epochs', () => {
  const e = experiment('pca-noise');
  assert.equal(settingsFor(e, true, grey).inputSize, 67);
  assert.equal(settingsFor(e, true, join(ROOT, 'examples', 'shapes')).inputSize, 227);
  assert.equal(settingsFor(e, false, join(ROOT, 'examples', 'shapes')).inputSize, 227); // the paper's
  const s = settingsFor(e, true, colour);
  assert.deepEqual(
    [scaledToData(s, 1200).epochs, scaledToData(s, 1200).maxTrain],
    [(s.epochs * s.maxTrain!) / 1200, 1200],
  );
  assert.equal(scaledToData(s, 50000), s);
});
