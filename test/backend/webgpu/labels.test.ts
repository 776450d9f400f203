// A label outside [0, L) in the softmax cross-entropy: the webgpu kernel checks the labels on the
// GPU and the read that brings the loss down throws the reference backend's one line (the native
// backend names the same label and range) — never a silently wrong loss. The first bad label is
// the one named, also when the batch runs in several binding windows (4 KiB bindings: 96 rows of
// 10 classes each); the device stays usable, and the next good batch reads normally.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../../../src/backend/backend.js';
import { nativeBackend } from '../../../src/backend/native/index.js';
import { refBackend } from '../../../src/backend/ref/index.js';
import type { GpuDevice } from '../../../src/backend/webgpu/device.js';
import { webgpuBackend } from '../../../src/backend/webgpu/index.js';
import { openNodeDevice } from '../../../src/backend/webgpu/node-gpu.js';
import { SoftmaxLoss } from '../../../src/nn/loss.js';
import { Tensor } from '../../../src/tensor/tensor.js';
import { Rng } from '../../../src/util/rng.js';

const devs: GpuDevice[] = [];
let skip: string | false = false;
try {
  devs.push(await openNodeDevice(), await openNodeDevice({ bindingLimit: 4096 }));
} catch (e) {
  if (process.env.CI === 'true') throw e;
  skip = (e as Error).message;
}

const L = 10;
const N = 200;

/** The loss of logits [N, L] (seeded) against `labels` on `backend`, or the Error it throws. */
async function lossOf(backend: Backend, labels: Int32Array): Promise<number | Error> {
  const rng = new Rng(5);
  const logits = new Tensor([labels.length, L]);
  for (let i = 0; i < logits.size; i++) logits.data[i] = rng.normal();
  const loss = new SoftmaxLoss(backend);
  try {
    loss.run(backend.hostMemory ? logits : backend.upload(logits), labels, 0.1, true);
    return (await loss.read()).loss;
  } catch (e) {
    return e as Error;
  }
}

describe('softmax cross-entropy refuses a bad label on webgpu', { skip }, () => {
  after(() => devs.forEach((d) => d.destroy()));
  const good = Int32Array.from({ length: N }, (_, i) => i % L);

  for (const [bad, at] of [
    [L, 150],
    [-1, 3],
    [1 << 30, 97],
  ] as const) {
    it(`label ${bad} at sample ${at} (and a later bad one): the reference's line`, async () => {
      const labels = good.slice();
      labels[at] = bad;
      labels[N - 1] = L + 5; // a second bad label: the first is the one named
      const want = await lossOf(refBackend, labels);
      assert.ok(want instanceof Error);
      assert.equal(want.message, `label ${bad} of sample ${at} is outside [0, ${L})`);
      if (nativeBackend) {
        const native = await lossOf(nativeBackend, labels);
        assert.ok(native instanceof Error);
        assert.match(
          native.message,
          new RegExp(`label ${bad} at row ${at} is outside \\[0, ${L}\\)`),
        );
      }
      for (const dev of devs) {
        const got = await lossOf(webgpuBackend(dev), labels);
        assert.ok(got instanceof Error, `bindings ≤ ${dev.bindingLimit} B: loss ${String(got)}`);
        assert.equal(got.message, want.message);
        const after = await lossOf(webgpuBackend(dev), good);
        const ref = (await lossOf(refBackend, good)) as number;
        assert.ok(typeof after === 'number' && Math.abs(after - ref) < 1e-5, `${after} vs ${ref}`);
      }
    });
  }
});
