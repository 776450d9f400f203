// The small pieces of a run: the duration formatter of the progress bars, the schedule fitted to
// the planned steps, the curves' tick values, the metrics vocabulary (and older checkpoints'
// flat records), an empty metrics log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scheduleSpecSchema } from '../../src/optim/schedule.js';
import { epochRecordSchema, writeMetrics } from '../../src/train/metrics.js';
import { fitSchedule, planRun } from '../../src/train/plan.js';
import { niceTicks, tickLabel } from '../../src/train/plot.js';
import { preset } from '../../src/train/presets.js';
import { formatDuration, taskCallback, type Progress } from '../../src/train/progress.js';
import { tinyDataset } from './tiny.js';

test('formatDuration rounds first and has hours', () => {
  assert.equal(formatDuration(119.6), '2m00s'); // was 1m60s
  assert.equal(formatDuration(59.4), '59s');
  assert.equal(formatDuration(59.6), '1m00s');
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(3599.5), '1h00m00s');
  assert.equal(formatDuration(3 * 3600 + 25 * 60 + 7), '3h25m07s');
  assert.equal(formatDuration(Infinity), '?');
  assert.equal(formatDuration(NaN), '?');
});

test("the warm-up is at most a tenth of the planned steps; a preset's full run keeps its own", () => {
  const spec = scheduleSpecSchema.parse({ kind: 'cosine', warmup: 100 });
  assert.equal(fitSchedule(spec, 48).warmup, 4);
  assert.equal(fitSchedule(spec, 1407).warmup, 100);
  assert.equal(fitSchedule(spec, 5).warmup, 0);
  assert.equal(fitSchedule({ ...spec, warmup: 0 }, 1000).warmup, 0);
  const ds = tinyDataset({ train: 192, test: 30 });
  const c = { ...preset('fashion-quick'), maxTrain: 64, maxTest: 12, batch: 16 };
  const plan = planRun(c, ds);
  assert.equal(plan.trainIndices.length, 64);
  assert.equal(plan.valIndices.length, 12);
  assert.equal(plan.trainTotal, 192);
  assert.equal(plan.batchesPerEpoch, 4);
  assert.equal(plan.steps, 12);
  assert.equal(plan.schedule.warmup, 1);
});

test('tick values are round numbers covering the data', () => {
  assert.deepEqual(niceTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(0.81, 0.93), [0.8, 0.85, 0.9, 0.95]);
  assert.deepEqual(niceTicks(0, 3), [0, 1, 2, 3]);
  assert.deepEqual(niceTicks(0, 0.04), [0, 0.01, 0.02, 0.03, 0.04]);
  const t = niceTicks(0, 2.7);
  assert.ok(t[0] <= 0 && t[t.length - 1] >= 2.7);
  assert.equal(tickLabel(0.84, 0.02), '0.84');
  assert.equal(tickLabel(1.5, 0.5), '1.5');
  assert.equal(tickLabel(10, 5), '10');
  assert.equal(tickLabel(0.004, 0.002), '4e-3');
});

test('epoch records: one vocabulary; flat records of older checkpoints still parse', () => {
  const flat = {
    epoch: 1,
    step: 10,
    lr: 0.01,
    trainLoss: 1.5,
    trainAccuracy: 0.4,
    valLoss: 1.2,
    valTop1: 0.5,
    valTop5: 0.9,
    seconds: 3,
    imagesPerSecond: 100,
    partial: false,
  };
  const r = epochRecordSchema.parse(flat);
  assert.deepEqual(r.train, { loss: 1.5, top1: 0.4, samples: 0 });
  assert.deepEqual(r.val, { top1: 0.5, top5: 0.9, loss: 1.2, samples: 0 });
});

test('metrics.jsonl of an empty history is an empty file, not a blank line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'alexnet-metrics-'));
  try {
    const p = join(dir, 'metrics.jsonl');
    writeMetrics(p, []);
    assert.equal(readFileSync(p, 'utf8'), '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('taskCallback: one task per pass, updated, stopped at the end', () => {
  const events: string[] = [];
  const progress: Progress = {
    step() {},
    note() {},
    done() {},
    task(label, total) {
      events.push(`start ${label} ${total}`);
      return { update: (d) => events.push(`at ${d}`), stop: () => events.push('stop') };
    },
  };
  const cb = taskCallback(progress, 'caching images');
  for (let d = 1; d <= 3; d++) cb(d, 3);
  cb(1, 2);
  assert.deepEqual(events, [
    'start caching images 3',
    'at 1',
    'at 2',
    'at 3',
    'stop',
    'start caching images 2',
    'at 1',
  ]);
});
