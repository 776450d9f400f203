// top-k accuracy, confusion matrix, per-class accuracy, and softmax averaging over an ensemble.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { refBackend } from '../../src/backend/ref/index.js';
import { confusionMatrix, perClassAccuracy } from '../../src/eval/confusion.js';
import { predictSplit } from '../../src/eval/evaluate.js';
import { topK, topKAccuracy } from '../../src/eval/topk.js';
import { initialize } from '../../src/models/init.js';
import { tinyDataset, tinyNet } from '../train/tiny.js';

// 4 samples × 6 classes
const scores = Float32Array.from([
  0.9,
  0.05,
  0.02,
  0.01,
  0.01,
  0.01, // label 0: top-1 hit
  0.1,
  0.2,
  0.3,
  0.15,
  0.25,
  0.0, // label 3: rank 4 (0.3, 0.25, 0.2, 0.15)
  0.0,
  0.0,
  0.0,
  0.0,
  0.1,
  0.9, // label 4: rank 2
  0.5,
  0.1,
  0.1,
  0.1,
  0.1,
  0.1, // label 1: tied with 2, 3, 4, 5 — counted after the earlier index only
]);
const labels = Int32Array.from([0, 3, 4, 1]);

test('top-1 and top-5 accuracy', () => {
  assert.equal(topKAccuracy(scores, labels, 6, 1), 0.25);
  assert.equal(topKAccuracy(scores, labels, 6, 2), 0.75);
  assert.equal(topKAccuracy(scores, labels, 6, 3), 0.75);
  assert.equal(topKAccuracy(scores, labels, 6, 4), 1);
  assert.equal(topKAccuracy(scores, labels, 6, 5), 1);
  assert.deepEqual(
    topK(scores, 1, 6, 3).map((t) => t.index),
    [2, 4, 1],
  );
});

test('confusion matrix rows are true classes, columns predictions; per-class accuracy', () => {
  const m = confusionMatrix(scores, labels, 6);
  assert.equal(m[0][0], 1);
  assert.equal(m[3][2], 1);
  assert.equal(m[4][5], 1);
  assert.equal(m[1][0], 1);
  assert.equal(
    m.flat().reduce((a, b) => a + b, 0),
    4,
  );
  const pc = perClassAccuracy(m, ['a', 'b', 'c', 'd', 'e', 'f']);
  assert.deepEqual(
    pc.map((c) => c.accuracy),
    [1, 0, 0, 0, 0, 0],
  );
  assert.deepEqual(
    pc.map((c) => c.count),
    [1, 1, 0, 1, 1, 0],
  );
});

test("an ensemble averages the members' softmax outputs", async () => {
  const ds = tinyDataset();
  const a = tinyNet(refBackend, 1);
  const b = tinyNet(refBackend, 2);
  initialize(a, 'kaiming', 1);
  initialize(b, 'kaiming', 2);
  const pa = await predictSplit([a], ds.test, { batch: 7 });
  const pb = await predictSplit([b], ds.test, { batch: 11 });
  const pe = await predictSplit([a, b], ds.test, { batch: 30 });
  for (let i = 0; i < pe.probs.length; i++)
    assert.ok(Math.abs(pe.probs[i] - (pa.probs[i] + pb.probs[i]) / 2) < 1e-6);
  for (let i = 0; i < ds.test.size; i++) {
    const row = pe.probs.subarray(i * 3, i * 3 + 3);
    assert.ok(Math.abs(row[0] + row[1] + row[2] - 1) < 1e-5);
  }
  await assert.rejects(predictSplit([a], ds.test, { views: '10' }), /only the centre view/);
  await ds.close();
});
