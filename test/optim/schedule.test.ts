// Learning-rate schedules: the paper's plateau rule (÷10, three times, floor), Caffe's step,
// cosine, constant; and the state survives a JSON round trip (checkpoints).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LrSchedule, scheduleSpecSchema } from '../../src/optim/schedule.js';

const spec = (o: object) => scheduleSpecSchema.parse(o);
const close = (a: number, b: number): boolean =>
  Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b));

test('plateau: ÷10 when validation error stops improving, at most three times, never below the floor', () => {
  const s = new LrSchedule(spec({ kind: 'plateau' }), 0.01, 1000);
  assert.equal(s.lr(0), 0.01);
  assert.equal(s.epochEnd(0.5), false);
  assert.equal(s.epochEnd(0.4), false); // improving
  assert.equal(s.epochEnd(0.4), true); // stopped improving → cut
  assert.ok(close(s.lr(10), 0.001));
  assert.equal(s.epochEnd(0.45), true);
  assert.ok(close(s.lr(10), 0.0001));
  assert.equal(s.epochEnd(0.45), true);
  assert.ok(close(s.lr(10), 0.00001));
  assert.equal(s.epochEnd(0.45), false, 'three cuts at most');
  assert.ok(close(s.lr(10), 0.00001));

  const f = new LrSchedule(spec({ kind: 'plateau', floor: 1e-3, maxCuts: 5 }), 0.01, 1);
  f.epochEnd(0.5);
  f.epochEnd(0.5);
  f.epochEnd(0.5);
  f.epochEnd(0.5);
  assert.ok(close(f.lr(0), 1e-3), 'the floor holds');
});

test('plateau patience and state round trip', () => {
  const s = new LrSchedule(spec({ kind: 'plateau', patience: 2 }), 0.1, 1);
  s.epochEnd(0.3);
  assert.equal(s.epochEnd(0.3), false);
  const copy = new LrSchedule(spec({ kind: 'plateau', patience: 2 }), 0.1, 1);
  copy.setState(JSON.parse(JSON.stringify(s.getState())));
  assert.equal(copy.epochEnd(0.3), true, 'the bad-epoch count survived the round trip');
  assert.ok(close(copy.lr(0), 0.01));
});

test('step: ×gamma every stepSize iterations (Caffe)', () => {
  const s = new LrSchedule(spec({ kind: 'step', stepSize: 100 }), 0.01, 1000);
  assert.equal(s.lr(0), 0.01);
  assert.equal(s.lr(99), 0.01);
  assert.ok(close(s.lr(100), 0.001));
  assert.ok(close(s.lr(250), 0.0001));
  assert.equal(s.epochEnd(0.9), false);
});

test('cosine from lr to the floor over the run; constant', () => {
  const s = new LrSchedule(spec({ kind: 'cosine', floor: 0 }), 0.04, 100);
  assert.equal(s.lr(0), 0.04);
  assert.ok(close(s.lr(50), 0.02));
  assert.ok(s.lr(100) < 1e-15);
  assert.ok(s.lr(75) < s.lr(25));
  const c = new LrSchedule(spec({ kind: 'constant' }), 0.01, 100);
  assert.equal(c.lr(0), 0.01);
  assert.equal(c.lr(1e6), 0.01);
});

test('linear warm-up over the first iterations, then the schedule', () => {
  const s = new LrSchedule(spec({ kind: 'constant', warmup: 4 }), 0.04, 100);
  assert.deepEqual(
    [0, 1, 2, 3, 4, 50].map((i) => s.lr(i)),
    [0.01, 0.02, 0.03, 0.04, 0.04, 0.04],
  );
});
