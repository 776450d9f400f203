// alexnet2012's fc6 at full size on the webgpu backend: weights [4096, 9216], 151 MB, more than
// one storage binding holds on lavapipe (maxStorageBufferBindingSize 128 MiB), so the kernels
// bind the weights and their gradient in windows of whole rows (here two: the device's own
// limit, not the kernel suite's forced 4 KiB cap). Forward with bias and ReLU, then the backward
// (dx, dw, db), at batch 2, against the native backend (ref where the addon did not build),
// with the kernel suite's tolerance |webgpu − cpu| ≤ 2e-6·(8 + √R)·(1 + |cpu|) for a reduction of
// length R. Skips (saying why) where the adapter's bindings hold fc6 whole: nothing to split.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../../../src/backend/backend.js';
import { nativeBackend } from '../../../src/backend/native/index.js';
import { refBackend } from '../../../src/backend/ref/index.js';
import type { GpuDevice } from '../../../src/backend/webgpu/device.js';
import { webgpuBackend } from '../../../src/backend/webgpu/index.js';
import { openNodeDevice } from '../../../src/backend/webgpu/node-gpu.js';
import { Tensor } from '../../../src/tensor/tensor.js';
import { Rng } from '../../../src/util/rng.js';

const [N, D, F] = [2, 9216, 4096];

let dev: GpuDevice | null = null;
let skip: string | false = false;
try {
  dev = await openNodeDevice();
  if (dev.bindingLimit >= F * D * 4)
    skip = `this adapter's ${dev.bindingLimit}-byte bindings hold fc6's weights whole`;
} catch (e) {
  if (process.env.CI === 'true') throw e;
  skip = (e as Error).message;
}

function random(rng: Rng, shape: number[], scale: number): Tensor {
  const t = new Tensor(shape);
  for (let i = 0; i < t.size; i++) t.data[i] = scale * rng.normal();
  return t;
}

type Out = Record<'y' | 'dx' | 'dw' | 'db', Tensor>;

async function fc6(b: Backend, x: Tensor, w: Tensor, bias: Tensor, dy: Tensor): Promise<Out> {
  const on = (t: Tensor) => (b.hostMemory ? t : b.upload(t));
  const [xb, wb, bb, dyb] = [x, w, bias, dy].map(on);
  const y = b.alloc([N, F], 'float32');
  const [dx, dw, db] = [
    b.alloc([N, D], 'float32'),
    b.alloc([F, D], 'float32'),
    b.alloc([F], 'float32'),
  ];
  b.linearForward({ x: xb, w: wb, b: bb, y }, { n: N, d: D, f: F, relu: true });
  b.linearBackward({ x: xb, w: wb, dy: dyb, dx, dw, db }, { n: N, d: D, f: F });
  b.flush();
  const [yh, dxh, dwh, dbh] = await Promise.all([y, dx, dw, db].map((t) => b.download(t)));
  return { y: yh, dx: dxh, dw: dwh, db: dbh };
}

describe('fc6 of alexnet2012 at full size on webgpu (weights beyond one binding)', { skip }, () => {
  after(() => dev?.destroy());

  it(`linear forward + backward at [${N}, ${D}] → ${F}: webgpu = ${nativeBackend ? 'native' : 'ref'}`, async () => {
    const rng = new Rng(6);
    const x = random(rng, [N, D], 1);
    const w = random(rng, [F, D], 0.01);
    const bias = random(rng, [F], 0.1);
    const dy = random(rng, [N, F], 1);
    const cpu = nativeBackend ?? refBackend;
    const want = await fc6(cpu, x, w, bias, dy);
    const got = await fc6(webgpuBackend(dev!), x, w, bias, dy);
    const reduction = { y: D, dx: F, dw: N, db: N };
    for (const k of ['y', 'dx', 'dw', 'db'] as const) {
      const tol = 2e-6 * (8 + Math.sqrt(reduction[k]));
      let worst = 0;
      for (let i = 0; i < want[k].size; i++) {
        const e = Math.abs(got[k].data[i] - want[k].data[i]) / (1 + Math.abs(want[k].data[i]));
        if (!(e <= worst)) worst = e; // NaN stays
      }
      assert.ok(
        worst <= tol,
        `${k}: max scaled error ${worst.toExponential(2)} > ${tol.toExponential(2)}`,
      );
    }
  });
});
