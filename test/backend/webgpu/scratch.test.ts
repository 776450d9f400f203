// A work buffer the webgpu device grows between two recorded calls. The device batches
// dispatches into one command encoder until a read or a write submits it; a kernel that asks for
// a larger work array than the one the pending work uses must not destroy that array before the
// pending work is submitted (WebGPU fails the submit: "used in submit while destroyed"). Full-size
// training hit it: conv5's backward records its dW slices in a small array, conv4's needs a larger
// one before anything is submitted. Here two convolutions' backward passes are recorded back to
// back, the second's dW slices larger than the first's, then read, against the ref backend.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../../../src/backend/backend.js';
import { refBackend } from '../../../src/backend/ref/index.js';
import { webgpuBackend } from '../../../src/backend/webgpu/index.js';
import { Tensor } from '../../../src/tensor/tensor.js';
import { Rng } from '../../../src/util/rng.js';
import { openTestDevice } from '../../helpers/webgpu-device.js';

const { dev, skip } = await openTestDevice();

// batch 2 of 16×16 maps: k = 512 positions, enough for the dW GEMM to split into slices
const SMALL = {
  n: 2,
  cIn: 2,
  h: 16,
  w: 16,
  cOut: 4,
  kh: 3,
  kw: 3,
  stride: 1,
  pad: 1,
  groups: 1,
  ho: 16,
  wo: 16,
};
const LARGE = { ...SMALL, cIn: 4, cOut: 8 };
type Geom = typeof SMALL;

function random(rng: Rng, shape: number[]): Tensor {
  const t = new Tensor(shape);
  for (let i = 0; i < t.size; i++) t.data[i] = rng.normal();
  return t;
}

/** dW of both convolutions, recorded one after the other with nothing submitted between (every
 *  input is uploaded first: an upload submits the pending work). */
async function twoBackwards(b: Backend, inputs: Tensor[][]): Promise<Tensor[]> {
  const on = inputs.map((ts) => ts.map((t) => (b.hostMemory ? t : b.upload(t))));
  const dws = [SMALL, LARGE].map((g: Geom, i) => {
    const [x, w, dy] = on[i];
    const dw = b.alloc([g.cOut, g.cIn, g.kh, g.kw], 'float32');
    b.conv2dBackward({ x, w, dy, dx: null, dw, db: null }, g);
    return dw;
  });
  b.flush();
  return Promise.all(dws.map((t) => b.download(t)));
}

describe('webgpu: a work buffer grown between recorded calls', { skip }, () => {
  after(() => dev?.destroy());

  it('two conv backward passes, the second with larger dW slices, equal ref', async () => {
    const rng = new Rng(3);
    const inputs = [SMALL, LARGE].map((g) => [
      random(rng, [g.n, g.cIn, g.h, g.w]),
      random(rng, [g.cOut, g.cIn, g.kh, g.kw]),
      random(rng, [g.n, g.cOut, g.h, g.w]),
    ]);
    const want = await twoBackwards(refBackend, inputs);
    const got = await twoBackwards(webgpuBackend(dev!), inputs);
    const tol = 2e-6 * (8 + Math.sqrt(SMALL.n * SMALL.h * SMALL.w));
    got.forEach((g, i) => {
      for (let j = 0; j < g.size; j++) {
        const err = Math.abs(g.data[j] - want[i].data[j]);
        assert.ok(
          err <= tol * (1 + Math.abs(want[i].data[j])),
          `conv ${i} dw[${j}]: ${g.data[j]} vs ${want[i].data[j]}`,
        );
      }
    });
  });
});
