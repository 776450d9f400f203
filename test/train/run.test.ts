// A run through the library's train(): the time budget counts from the call, the best model is
// kept beside the last, the model carries its training record, an interrupt before the first
// validation leaves an empty metrics log and a plot, and a quick try with a preset's long
// warm-up still learns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { refBackend } from '../../src/backend/ref/index.js';
import { initialize } from '../../src/models/init.js';
import { readSafetensors } from '../../src/tensor/safetensors.js';
import type { Progress } from '../../src/train/progress.js';
import { readTrainingRecord } from '../../src/train/record.js';
import { train } from '../../src/train/trainer.js';
import { tinyConfig, tinyDataset, tinyMeta, tinyNet } from './tiny.js';

const root = mkdtempSync(join(tmpdir(), 'alexnet-run-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));

function freshNet(seed = 7): ReturnType<typeof tinyNet> {
  const net = tinyNet(refBackend, seed);
  initialize(net, 'kaiming', seed);
  return net;
}

test('the time budget counts from the call, not from the start of the process', async () => {
  const budget = 12;
  // Idle past the budget first: a budget counted from process start would stop at the first step.
  await new Promise((r) => setTimeout(r, Math.max(0, (budget + 0.5) * 1000 - performance.now())));
  const ds = tinyDataset();
  const r = await train({
    net: freshNet(),
    meta: tinyMeta(ds),
    dataset: ds,
    config: tinyConfig({ epochs: 1, maxSeconds: budget }),
    outDir: join(root, 'budget'),
    plots: false,
  });
  await ds.close();
  assert.equal(r.budgetStop, false);
  assert.equal(r.history.length, 1);
  assert.equal(r.history[0].partial, false);
  assert.equal(r.history[0].step, 12, 'every batch of the epoch ran');
});

test('model-best.safetensors holds the best validation; both models carry the training record', async () => {
  const ds = tinyDataset();
  const out = join(root, 'best');
  const r = await train({
    net: freshNet(),
    meta: tinyMeta(ds),
    dataset: ds,
    config: tinyConfig({ epochs: 3 }),
    outDir: out,
    preset: 'tiny-test',
    plots: false,
  });
  await ds.close();
  const tops = r.history.map((h) => h.val.top1);
  const bestEpoch = tops.indexOf(Math.max(...tops)) + 1;
  assert.deepEqual(r.best, { epoch: bestEpoch, top1: Math.max(...tops) });
  const last = readTrainingRecord(r.modelPath, readSafetensors(r.modelPath).metadata)!;
  assert.equal(last.result?.epoch, 3);
  assert.deepEqual(last.result?.val, r.history[2].val);
  assert.equal(last.recipe.seed, 7);
  assert.equal(last.preset, 'tiny-test');
  assert.deepEqual(last.dataset, {
    id: 'tiny',
    split: { kind: 'files' },
    trainImages: 192,
    valImages: 30,
  });
  assert.match(last.package.version, /^\d+\.\d+\.\d+/);
  assert.ok(Math.abs(Date.parse(last.date) - Date.now()) < 60_000);
  const bestPath = join(out, 'model-best.safetensors');
  const best = readTrainingRecord(bestPath, readSafetensors(bestPath).metadata)!;
  assert.equal(best.result?.epoch, bestEpoch);
  const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n');
  assert.equal(metrics.length, 3);
  const line = JSON.parse(metrics[0]);
  assert.equal(line.schemaVersion, 1);
  assert.deepEqual(Object.keys(line.val).sort(), ['loss', 'samples', 'top1', 'top5']);
});

test('an interrupt before the first validation: empty metrics.jsonl, a plot of the steps so far', async () => {
  const ds = tinyDataset();
  const out = join(root, 'interrupted');
  const progress: Progress = {
    step(i) {
      if (i.batch === 9) process.emit('SIGINT');
    },
    note() {},
    task: () => ({ update() {}, stop() {} }),
    done() {},
  };
  const r = await train({
    net: freshNet(),
    meta: tinyMeta(ds),
    dataset: ds,
    config: tinyConfig({ epochs: 2, batch: 4 }),
    outDir: out,
    progress,
  });
  await ds.close();
  assert.equal(r.interrupted, 'SIGINT');
  assert.equal(readFileSync(join(out, 'metrics.jsonl'), 'utf8'), '');
  const svg = readFileSync(join(out, 'curves.svg'), 'utf8');
  // 2 epochs of 48 steps plan one point a step: 9 of them so far, as one path per panel.
  const path = svg.match(/<path d="([^"]+)" fill="none" stroke="#1f77b4"/);
  assert.ok(path, 'the training loss is drawn');
  assert.equal(path[1].split(' ').length, 9);
  assert.ok(svg.includes('learning rate'));
  assert.ok(existsSync(join(out, 'curves.png')));
  const rec = readTrainingRecord(r.modelPath, readSafetensors(r.modelPath).metadata)!;
  assert.equal(rec.result, null, 'weights saved by an interrupt are not the validated ones');
  assert.equal(existsSync(join(out, 'model-best.safetensors')), false);
});

test("a quick try learns although the recipe's warm-up is longer than the whole run", async () => {
  const ds = tinyDataset();
  const r = await train({
    net: freshNet(),
    meta: tinyMeta(ds),
    dataset: ds,
    // 36 steps; a 100-step warm-up left as it is would stay below a third of the learning rate.
    config: tinyConfig({
      epochs: 3,
      lr: 0.05,
      schedule: { ...tinyConfig().schedule, kind: 'cosine', warmup: 100, floor: 1e-4 },
    }),
    outDir: join(root, 'quick'),
    plots: false,
  });
  await ds.close();
  // Half-way, the cosine is at half the base rate: 0.025 once the warm-up is over.
  assert.ok(r.history[0].lr > 0.03, `lr ${r.history[0].lr} after the first epoch`);
  assert.ok(r.test!.top1 > 0.9, `validation top-1 ${r.test!.top1} after 36 steps`);
});
