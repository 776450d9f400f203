// `--parallel towers` equals the single-process grouped network: on a reduced alexnet2012 and
// caffenet (channels ÷ 8, fc 32, 67 px, dropout 0.5), the same parameters give the same logits,
// three SGD steps with momentum (and the same dropout masks) give the same parameters and
// momentum, and exactly the paper's exchanges cross between the towers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostData } from '../../src/backend/backend.js';
import { nativeBackend } from '../../src/backend/native/index.js';
import { refBackend } from '../../src/backend/ref/index.js';
import { initialize } from '../../src/models/init.js';
import type { Net } from '../../src/nn/net.js';
import { Sgd } from '../../src/optim/sgd.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Rng } from '../../src/util/rng.js';
import { Towers } from '../../src/parallel/towers.js';
import { scaledNet } from '../helpers/scaled.js';
import { maxAbsDiff } from '../helpers/compare.js';
import { stepSideBySide } from '../helpers/side-by-side.js';

const backend = nativeBackend ?? refBackend;
const N = 6;
const CLASSES = 10;
const SGD = { momentum: 0.9, weightDecay: 5e-4, multipliers: 'caffe' as const };

function batch(step: number): { x: Tensor; labels: Int32Array } {
  const rng = new Rng(100 + step);
  const x = new Tensor([N, 3, 67, 67]);
  for (let i = 0; i < x.size; i++) x.data[i] = rng.normal();
  return { x, labels: Int32Array.from({ length: N }, () => rng.nextU32() % CLASSES) };
}

function pair(arch: 'alexnet2012' | 'caffenet'): { single: Net; twin: Net } {
  const single = scaledNet(arch, 3, 67, 8, 128, CLASSES, backend, 0.5);
  initialize(single, 'kaiming', 7);
  const twin = scaledNet(arch, 3, 67, 8, 128, CLASSES, backend, 0.5);
  twin.loadStateDict(single.stateDict(), 'the single net');
  return { single, twin };
}

for (const arch of ['alexnet2012', 'caffenet'] as const) {
  test(
    `${arch}: two towers on two workers equal the grouped net (logits, 3 SGD steps, momentum)`,
    { timeout: 60000 },
    async () => {
      const { single, twin } = pair(arch);
      const towers = await Towers.start(twin, { maxBatch: N, sgd: SGD });
      try {
        await towers.push();
        const sgd = await stepSideBySide(
          single,
          towers,
          backend,
          SGD,
          [0, 1, 2].map(batch),
          (l1, l2, step) => assert.ok(maxAbsDiff(l1, l2) < 1e-4, `logits at step ${step}`),
        );
        const sgdT = new Sgd(twin.params, backend, SGD);
        await towers.pull(sgdT);
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
        // Eval: the same logits.
        const { x } = batch(9);
        const e1 = hostData(backend, single.forward(x, false));
        const e2 = (await towers.forward(x, false)).data;
        assert.ok(maxAbsDiff(e1, e2) < 1e-4);
        // What crossed in that forward: the LRN halos (2 maps each way), both towers' pool2 and
        // pool5 maps, fc6's units both ways, and fc7's units to tower A alone.
        const rows = new Map(single.rows.map((r) => [r.name, r.output]));
        const plane = (name: string): number => rows.get(name)![1] * rows.get(name)![2];
        const halos =
          2 *
          (arch === 'alexnet2012'
            ? plane('relu1') + plane('relu2')
            : plane('pool1') + plane('pool2'));
        const half = (name: string): number => rows.get(name)!.reduce((a, b) => a * b, 1) / 2;
        const both = halos + half('pool2') + half('pool5') + half('drop6');
        assert.deepEqual(towers.lastBytes, {
          aToB: 4 * N * both,
          bToA: 4 * N * (both + half('drop7')),
        });
      } finally {
        await towers.close();
      }
    },
  );
}
