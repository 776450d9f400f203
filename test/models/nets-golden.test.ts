// Whole networks against PyTorch: every variant at reduced width (convs ÷8, fc ÷32, input 67, 10 classes),
// forward logits in eval mode and every parameter gradient of the cross-entropy loss, on every
// backend. Fixtures: tools/golden_nets.py.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Arch } from '../../src/models/config.js';
import { SoftmaxLoss } from '../../src/nn/loss.js';
import { backendsUnderTest } from '../helpers/backends.js';
import { goldenNet, maxRelError } from '../helpers/golden-nets.js';

// Relative to the largest magnitude of the reference tensor: float32 sums over up to ~10^4 terms.
const TOLERANCE: Record<string, number> = { ref: 2e-5, native: 2e-4 };

const backends = await backendsUnderTest();

for (const arch of ['alexnet2012', 'caffenet', 'torchvision', 'd2l'] as Arch[]) {
  for (const backend of backends) {
    test(`${arch} (÷8, 67 px) matches PyTorch on ${backend.name}: logits and all gradients`, async () => {
      const { net, get } = goldenNet(arch, backend);
      const tol = TOLERANCE[backend.name] ?? 1e-3;

      const x = get('input');
      const logits = await backend.download(net.forward(x, false));
      const eLogits = maxRelError(logits.data, get('logits').data);
      assert.ok(eLogits < tol, `logits max rel error ${eLogits.toExponential(2)} ≥ ${tol}`);

      const labels = Int32Array.from(get('labels').data);
      const lossFn = new SoftmaxLoss(backend);
      lossFn.run(net.forward(x, true), labels, 0, true);
      const { loss } = await lossFn.read();
      assert.ok(
        Math.abs(loss - get('loss').data[0]) < 1e-4 * Math.max(1, loss),
        `loss ${loss} vs ${get('loss').data[0]}`,
      );
      net.backward(lossFn.dlogits!);
      for (const p of net.params) {
        const e = maxRelError((await backend.download(p.grad)).data, get(`grad.${p.name}`).data);
        assert.ok(
          e < tol * 5,
          `grad of ${p.name}: max rel error ${e.toExponential(2)} ≥ ${tol * 5}`,
        );
      }
    });
  }
}
