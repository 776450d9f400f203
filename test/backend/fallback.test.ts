// Fallback: a backend with only some kernels runs the rest on ref through the edges. A partial
// test backend whose edges really copy (readSync hands out a copy, upload copies back) must give,
// for a whole training step of two variants, bit for bit what the full ref backend gives — so
// every fallen-back kernel read its inputs and wrote its outputs back — and say once, in one
// line, which kernels fell back. The decision is per (kernel, dtypes): a kernel the backend has in
// float32 only falls back for its bfloat16 calls alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../../src/backend/backend.js';
import { hostBackend, type HostKernels } from '../../src/backend/host.js';
import { fallbackName, partialKernels, withFallback } from '../../src/backend/fallback.js';
import { KERNEL_NAMES, type KernelName } from '../../src/backend/kernels.js';
import { refBackend, refKernels } from '../../src/backend/ref/index.js';
import { initialize } from '../../src/models/init.js';
import { SoftmaxLoss } from '../../src/nn/loss.js';
import type { Net } from '../../src/nn/net.js';
import { Sgd } from '../../src/optim/sgd.js';
import { Tensor, type DType, type HostArray } from '../../src/tensor/tensor.js';
import { Rng } from '../../src/util/rng.js';
import { scaledNet } from '../helpers/scaled.js';

const HAS: readonly KernelName[] = [
  'conv2dForward',
  'linearForward',
  'activationForward',
  'maxPoolForward',
  'sgdUpdate',
];

/** Ref's kernels in `has` only; its edges copy, as a device's would. */
function partialBackend(has: readonly KernelName[]): Backend {
  const kernels: HostKernels = {};
  for (const k of has) (kernels as Record<string, unknown>)[k] = refKernels[k];
  const base = hostBackend({ name: 'partial', kernels, setThreads() {}, getThreads: () => 1 });
  return {
    ...base,
    readSync: <D extends DType>(t: Tensor<D> | object): Tensor<D> => {
      const h = t as Tensor<D>;
      return Tensor.of(h.dtype, h.shape, h.data.slice() as HostArray<D>);
    },
  };
}

async function trainingStep(net: Net): Promise<{ logits: Float32Array; loss: number }> {
  initialize(net, 'kaiming', 3);
  const rng = new Rng(9);
  const x = new Tensor([2, ...net.input]);
  for (let i = 0; i < x.size; i++) x.data[i] = rng.normal();
  const logits = Float32Array.from((await net.backend.download(net.forward(x, false))).data);
  const lossFn = new SoftmaxLoss(net.backend);
  lossFn.run(net.forward(x, true), Int32Array.from([1, 3]), 0.1, true);
  const { loss } = await lossFn.read();
  net.backward(lossFn.dlogits!);
  new Sgd(net.params, net.backend, { momentum: 0.9, weightDecay: 5e-4 }).step(0.01);
  return { logits, loss };
}

for (const arch of ['alexnet2012', 'torchvision'] as const) {
  test(`${arch}: a backend with ${HAS.length} of ${KERNEL_NAMES.length} kernels trains like ref, bit for bit`, async () => {
    const lines: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((s: string) => (lines.push(String(s)), true)) as typeof write;
    let partialNet: Net;
    try {
      partialNet = scaledNet(arch, 3, 67, 8, 32, 10, partialBackend(HAS));
      scaledNet(arch, 3, 67, 8, 32, 10, partialBackend(HAS)); // a second net: no second line
    } finally {
      process.stderr.write = write;
    }
    const fellBack = lines.filter((l) => l.includes('backend partial lacks'));
    assert.equal(fellBack.length, 1, `one line, got ${JSON.stringify(lines)}`);
    assert.match(fellBack[0], /conv2dBackward.*softmaxCrossEntropy.*; they run on ref\n$/);
    assert.doesNotMatch(fellBack[0], /conv2dForward|sgdUpdate/);

    const refNet = scaledNet(arch, 3, 67, 8, 32, 10, refBackend);
    const want = await trainingStep(refNet);
    const got = await trainingStep(partialNet);
    assert.deepEqual(got.logits, want.logits);
    assert.equal(got.loss, want.loss);
    const wantParams = await refNet.readState();
    const gotParams = await partialNet.readState();
    for (const [name, t] of wantParams)
      assert.deepEqual(gotParams.get(name)!.data, t.data, `${name} after one step`);
  });
}

test('fallback is per (kernel, dtypes): a kernel the backend has in float32 only falls back only for its bfloat16 calls', async () => {
  // ref's kernels, but cast in float32 only (a float32 → float32 copy), counting its own calls
  let own = 0;
  const kernels: HostKernels = {
    ...refKernels,
    cast: (t, a) => (own++, refKernels.cast(t, a)),
  };
  const base = hostBackend({
    name: 'f32only',
    kernels,
    setThreads() {},
    getThreads: () => 1,
    dtypes: { cast: ['float32'] },
  });
  const primary: Backend = {
    ...base,
    readSync: <D extends DType>(t: Tensor<D> | object): Tensor<D> => {
      const h = t as Tensor<D>;
      return Tensor.of(h.dtype, h.shape, h.data.slice() as HostArray<D>);
    },
  };
  assert.ok(primary.supports('cast', ['float32']));
  assert.ok(!primary.supports('cast', ['float32', 'bfloat16']));
  assert.deepEqual(partialKernels(primary, ['cast', 'conv2dForward', 'cast']), ['cast']);
  const heard: string[] = [];
  const b = withFallback(primary, refBackend, ['cast'], (k, dtypes) =>
    heard.push(fallbackName(k, dtypes)),
  );

  const x = new Tensor([4], Float32Array.from([1, -2.5, 3.140625, 1e-3]));
  const y32 = new Tensor([4]);
  b.cast({ x, y: y32 }, {});
  assert.equal(own, 1, 'the float32 call ran on the backend itself');
  assert.deepEqual(heard, []);
  assert.deepEqual(y32.data, x.data);

  const y16 = Tensor.of('bfloat16', [4]);
  b.cast({ x, y: y16 }, {});
  assert.equal(own, 1, 'the bfloat16 call did not reach the backend');
  assert.deepEqual(heard, ['cast (float32, bfloat16)']);
  const want = Tensor.of('bfloat16', [4]);
  refBackend.cast({ x, y: want }, {});
  assert.deepEqual(y16.data, want.data, 'ref computed it and the edge wrote it back');
  assert.notDeepEqual([...y16.data], [0, 0, 0, 0]);

  // and back: bfloat16 → float32 falls back too
  const back = new Tensor([4]);
  b.cast({ x: y16, y: back }, {});
  assert.equal(own, 1);
  assert.equal(heard.length, 2);
  assert.deepEqual([...back.data], [1, -2.5, 3.140625, 0.00099945068359375]);
});

test('the wrapper calls the edges on the backend itself, which may know its tensors by identity', () => {
  // As webgpu: a tensor names the backend that made it, and the edges refuse any other `this`.
  class Owned {
    readonly name = 'owned';
    readonly hostMemory = true;
    setThreads(): void {}
    getThreads(): number {
      return 1;
    }
    supports(k: KernelName, dtypes: readonly DType[] = ['float32']): boolean {
      return refBackend.supports(k, dtypes) && dtypes.every((d) => d === 'float32');
    }
    alloc<D extends DType>(shape: number[], dtype: D): Tensor<D> {
      this.mine();
      return Tensor.of(dtype, shape);
    }
    upload<D extends DType>(host: Tensor<D>, into?: Tensor<D>): Tensor<D> {
      this.mine();
      if (!into) return host;
      into.data.set(host.data as never);
      return into;
    }
    readSync<D extends DType>(t: Tensor<D>): Tensor<D> {
      this.mine();
      return t;
    }
    async download<D extends DType>(t: Tensor<D>): Promise<Tensor<D>> {
      return this.readSync(t);
    }
    view<D extends DType>(t: Tensor<D>, shape: number[]): Tensor<D> {
      this.mine();
      return t.reshape(shape);
    }
    flush(): void {
      this.mine();
    }
    private mine(): void {
      if (!(this instanceof Owned) || Object.getPrototypeOf(this) !== Owned.prototype)
        throw new TypeError('called on another object');
    }
  }
  const primary = Object.assign(new Owned(), refKernels) as unknown as Backend;
  // conv2dForward is float32-only here, so the wrapper exists for its bfloat16 calls.
  const b = withFallback(primary, refBackend, ['conv2dForward']);
  assert.notEqual(b, primary);
  const t = b.alloc([2, 3], 'float32');
  b.upload(Tensor.of('float32', [2, 3], new Float32Array(6).fill(1)), t);
  assert.deepEqual([...b.readSync!(b.view(t, [6])).data], [1, 1, 1, 1, 1, 1]);
  b.flush();
});
