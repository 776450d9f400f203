// `--parallel hybrid` equals the single-process network with the whole batch: on every variant
// at reduced width (channels ÷ 8, fc 32, 67 px, dropout 0.5 — the masks are the single net's,
// drawn by the same seeded generator), 2 workers (and 3 on one, so the units and samples split
// unevenly), the same parameters give the same logits, and three SGD steps with momentum give
// the same parameters, momentum and generator state, within float rounding (the workers sum the
// same products in another order).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostData } from '../../src/backend/backend.js';
import { nativeBackend } from '../../src/backend/native/index.js';
import { refBackend } from '../../src/backend/ref/index.js';
import type { Arch } from '../../src/models/config.js';
import { initialize } from '../../src/models/init.js';
import type { Net } from '../../src/nn/net.js';
import { Sgd } from '../../src/optim/sgd.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Rng } from '../../src/util/rng.js';
import { Hybrid } from '../../src/parallel/hybrid.js';
import { scaledNet } from '../helpers/scaled.js';
import { maxAbsDiff } from '../helpers/compare.js';
import { stepSideBySide } from '../helpers/side-by-side.js';

const backend = nativeBackend ?? refBackend;
const CLASSES = 10;
const SGD = { momentum: 0.9, weightDecay: 5e-4, multipliers: 'caffe' as const };

function batch(step: number, n: number): { x: Tensor; labels: Int32Array } {
  const rng = new Rng(100 + step);
  const x = new Tensor([n, 3, 67, 67]);
  for (let i = 0; i < x.size; i++) x.data[i] = rng.normal();
  return { x, labels: Int32Array.from({ length: n }, () => rng.nextU32() % CLASSES) };
}

function pair(arch: Arch): { single: Net; twin: Net } {
  const single = scaledNet(arch, 3, 67, 8, 128, CLASSES, backend, 0.5);
  initialize(single, 'kaiming', 7);
  const twin = scaledNet(arch, 3, 67, 8, 128, CLASSES, backend, 0.5);
  twin.loadStateDict(single.stateDict(), 'the single net');
  return { single, twin };
}

for (const [arch, workers] of [
  ['alexnet2012', 2],
  ['caffenet', 2],
  ['torchvision', 2],
  ['d2l', 3],
] as const) {
  test(
    `${arch}: hybrid on ${workers} workers equals the single net (logits, 3 SGD steps, momentum, masks)`,
    { timeout: 60000 },
    async () => {
      const { single, twin } = pair(arch);
      const hybrid = await Hybrid.start(twin, { maxBatch: 7, sgd: SGD, workers });
      try {
        await hybrid.push();
        const batches = [batch(0, 6), batch(1, 7), batch(2, 5)];
        const sgd = await stepSideBySide(single, hybrid, backend, SGD, batches, (l1, l2, step) => {
          const d = maxAbsDiff(l1, l2);
          assert.ok(d < 1e-4, `logits at step ${step} differ by ${d}`);
        });
        const sgdT = new Sgd(twin.params, backend, SGD);
        await hybrid.pull(sgdT);
        for (const p of single.params) {
          const q = twin.paramsByName.get(p.name)!;
          const d = maxAbsDiff(hostData(backend, p.value), hostData(backend, q.value));
          assert.ok(d < 1e-5, `${p.name} differs by ${d}`);
          const v = maxAbsDiff(
            hostData(backend, sgd.velocity.get(p.name)!),
            hostData(backend, sgdT.velocity.get(p.name)!),
          );
          assert.ok(v < 1e-5, `momentum.${p.name} differs by ${v}`);
        }
        assert.deepEqual(twin.rng.getState(), single.rng.getState()); // the same masks were drawn
        const { x } = batch(9, 4);
        const e = maxAbsDiff(
          hostData(backend, single.forward(x, false)),
          (await hybrid.forward(x, false)).data,
        );
        assert.ok(e < 1e-4, `eval logits differ by ${e}`);
      } finally {
        await hybrid.close();
      }
    },
  );
}
