// Whole training steps on the webgpu backend against the native backend (ref where the addon did
// not build): every variant at reduced width (convs × 1/8, fc6/fc7 128 wide) and the smallest
// input each accepts (67), batch 4, dropout 0.5 on (the masks come from the net's seeded
// generator on both), SGD with momentum 0.9 and weight decay, two steps (the second uses the
// momentum the first left). The losses must agree to 2e-5 relative and every parameter and
// velocity after the steps to 2e-5·(1 + |native|): float32 sums in another order over a few
// thousand terms, compounded through the layers.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../../../src/backend/backend.js';
import { selectBackend } from '../../../src/backend/index.js';
import { webgpuBackend } from '../../../src/backend/webgpu/index.js';
import { buildNet } from '../../../src/models/alexnet.js';
import { ARCHS, defaultConfig, type Arch } from '../../../src/models/config.js';
import { initialize } from '../../../src/models/init.js';
import { variantSchema } from '../../../src/models/variants.js';
import { SoftmaxLoss } from '../../../src/nn/loss.js';
import { Sgd } from '../../../src/optim/sgd.js';
import { Tensor } from '../../../src/tensor/tensor.js';
import { Rng } from '../../../src/util/rng.js';
import { openTestDevice } from '../../helpers/webgpu-device.js';

const { dev, skip } = await openTestDevice();

const TOL = 2e-5;
const BATCH = 4;

interface Result {
  losses: number[];
  state: Map<string, Tensor>;
}

async function train(backend: Backend, arch: Arch): Promise<Result> {
  const config = defaultConfig(arch, {
    inputSize: 67,
    variant: variantSchema.parse({ width: 1 / 8, fc: 128 }),
  });
  const net = buildNet(config, backend, 7);
  initialize(net, 'xavier', 3);
  const sgd = new Sgd(net.params, backend, { momentum: 0.9, weightDecay: 5e-4 });
  const loss = new SoftmaxLoss(backend);
  const rng = new Rng(11);
  const per = config.channels * 67 * 67;
  const losses: number[] = [];
  for (let step = 0; step < 2; step++) {
    const x = new Tensor([BATCH, config.channels, 67, 67]);
    for (let i = 0; i < BATCH * per; i++) x.data[i] = rng.normal();
    const labels = Int32Array.from({ length: BATCH }, () => rng.int(config.classes));
    loss.run(net.forward(x, true), labels, 0.1, true);
    net.backward(loss.dlogits!);
    sgd.step(0.01);
    losses.push((await loss.read()).loss);
  }
  const state = await net.readState();
  for (const [name, v] of await sgd.readStateTensors()) state.set(name, v);
  return { losses, state };
}

describe('one training step of every variant: webgpu = native', { skip }, () => {
  after(() => dev?.destroy());
  const native = selectBackend(undefined);

  for (const arch of ARCHS) {
    it(`${arch} at width 1/8, 67 px, batch ${BATCH}, two steps`, async () => {
      const want = await train(native, arch);
      const got = await train(webgpuBackend(dev!), arch);
      got.losses.forEach((l, i) =>
        assert.ok(
          Math.abs(l - want.losses[i]) <= TOL * Math.abs(want.losses[i]),
          `step ${i + 1} loss: webgpu ${l}, ${native.name} ${want.losses[i]}`,
        ),
      );
      assert.deepEqual([...got.state.keys()], [...want.state.keys()]);
      for (const [name, t] of want.state) {
        const g = got.state.get(name)!.data;
        let worst = 0;
        for (let i = 0; i < t.size; i++)
          worst = Math.max(worst, Math.abs(g[i] - t.data[i]) / (1 + Math.abs(t.data[i])));
        assert.ok(worst <= TOL, `${name}: max scaled error ${worst.toExponential(2)} > ${TOL}`);
      }
    });
  }
});
