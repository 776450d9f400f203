// Dropout masks: the keep rate is right for p = 0.5 (bit path) and other p, and the two
// conventions are exact at test time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { refBackend } from '../../src/backend/ref/index.js';
import { Dropout, drawMask } from '../../src/nn/dropout.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Rng } from '../../src/util/rng.js';
import { hostData } from '../../src/backend/backend.js';

test('drawMask keeps the requested fraction (±4σ) and is reproducible from the seed', () => {
  for (const keep of [0.5, 0.8, 0.1]) {
    const m = new Uint8Array(100_003);
    drawMask(m, keep, new Rng(9));
    const kept = m.reduce((s, v) => s + v, 0);
    const sigma = Math.sqrt(m.length * keep * (1 - keep));
    assert.ok(Math.abs(kept - keep * m.length) < 4 * sigma, `keep ${keep}: ${kept} of ${m.length}`);
    const again = new Uint8Array(m.length);
    drawMask(again, keep, new Rng(9));
    assert.deepEqual(again, m);
  }
});

test('classic dropout scales by 1 − p at test time, inverted is the identity; train masks match', () => {
  const x = new Tensor(
    [2, 8],
    Float32Array.from({ length: 16 }, (_, i) => i + 1),
  );
  const ctx = (training: boolean) => ({ backend: refBackend, training, rng: new Rng(5) });
  const classic = new Dropout({ kind: 'dropout', name: 'd', p: 0.5 }, 'classic');
  const inverted = new Dropout({ kind: 'dropout', name: 'd', p: 0.5 }, 'inverted');
  assert.deepEqual(
    Array.from(hostData(refBackend, classic.forward(x, ctx(false)))),
    Array.from(x.data, (v) => v * 0.5),
  );
  assert.deepEqual(
    Array.from(hostData(refBackend, inverted.forward(x, ctx(false)))),
    Array.from(x.data),
  );
  const a = Array.from(hostData(refBackend, classic.forward(x, ctx(true))));
  const b = Array.from(hostData(refBackend, inverted.forward(x, ctx(true))));
  a.forEach((v, i) => assert.ok(v === 0 ? b[i] === 0 : b[i] === 2 * v && v === x.data[i]));
});
