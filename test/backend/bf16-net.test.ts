// A bf16 net (issue #12): its conv and linear layers hand the GEMM kernels a bfloat16 copy of
// their weight, cast from the float32 master once per optimiser step (not per kernel call);
// master weights, gradients, momentum and checkpoints stay float32.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../../src/backend/backend.js';
import { refBackend } from '../../src/backend/ref/index.js';
import { initialize } from '../../src/models/init.js';
import { SoftmaxLoss } from '../../src/nn/loss.js';
import { Net, type LayerSpec } from '../../src/nn/net.js';
import type { Precision } from '../../src/nn/precision.js';
import { Sgd } from '../../src/optim/sgd.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { UsageError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';
import { backendsUnderTest } from '../helpers/backends.js';

const SPECS: LayerSpec[] = [
  { kind: 'conv', name: 'conv1', out: 6, k: 3, stride: 1, pad: 1, groups: 1 },
  { kind: 'relu', name: 'relu1' },
  { kind: 'maxpool', name: 'pool1', k: 2, stride: 2 },
  { kind: 'conv', name: 'conv2', out: 8, k: 3, stride: 1, pad: 0, groups: 2 },
  { kind: 'relu', name: 'relu2' },
  { kind: 'flatten', name: 'flatten' },
  { kind: 'linear', name: 'fc1', out: 16 },
  { kind: 'relu', name: 'relu3' },
  { kind: 'linear', name: 'fc2', out: 'classes' },
];
const WEIGHTS = 4; // conv1, conv2, fc1, fc2

function tinyNet(backend: Backend, precision: Precision): Net {
  const net = new Net(
    SPECS,
    { input: [2, 10, 10], classes: 5, dropoutMode: 'inverted', precision },
    backend,
  );
  initialize(net, 'kaiming', 7);
  return net;
}

function batch(seed: number): { x: Tensor; labels: Int32Array } {
  const rng = new Rng(seed);
  const x = new Tensor([4, 2, 10, 10]);
  for (let i = 0; i < x.size; i++) x.data[i] = rng.normal();
  return { x, labels: Int32Array.from([0, 1, 2, 4]) };
}

async function step(net: Net, sgd: Sgd, seed: number, lr = 0.05): Promise<void> {
  const { x, labels } = batch(seed);
  const loss = new SoftmaxLoss(net.backend);
  loss.run(net.forward(x, true), labels, 0, true);
  await loss.read();
  net.backward(loss.dlogits!);
  sgd.step(lr);
}

const logits = async (net: Net, x: Tensor): Promise<Float32Array> =>
  Float32Array.from((await net.backend.download(net.forward(x, false))).data);

function bf16Of(master: Float32Array): Uint16Array {
  const y = Tensor.of('bfloat16', [master.length]);
  refBackend.cast({ x: new Tensor([master.length], master), y }, {});
  return y.data;
}

// A backend whose sgdUpdate takes w16 refreshes the copies in the update (one cast per weight,
// when the net first runs); one without it recasts each weight once per step, never per call.
for (const updateWrites of [true, false]) {
  test(`a bf16 net casts each weight ${updateWrites ? 'once, then the update refreshes the copy' : 'once per optimiser step'}, not once per kernel call`, async () => {
    let casts = 0;
    const counting: Backend = {
      ...refBackend,
      supports: (k, d) =>
        k === 'sgdUpdate' && d?.includes('bfloat16') ? updateWrites : refBackend.supports(k, d),
      cast: (t, a) => {
        casts++;
        refBackend.cast(t, a);
      },
    };
    const perStep = updateWrites ? 0 : WEIGHTS;
    const net = tinyNet(counting, 'bf16');
    const sgd = new Sgd(net.params, net.backend, { momentum: 0.9, weightDecay: 5e-4 });
    await step(net, sgd, 1); // forward casts the fresh weights; backward reuses the copies
    assert.equal(casts, WEIGHTS);
    await step(net, sgd, 2);
    assert.equal(casts, WEIGHTS + perStep);
    const { x } = batch(3);
    await logits(net, x);
    await logits(net, x);
    assert.equal(casts, WEIGHTS + 2 * perStep, 'two inference calls after a step: no more casts');
    // The copies are the masters rounded, as of the last update.
    for (const p of net.params) {
      if (!p.shadow) continue;
      assert.deepEqual(
        p.shadow.value,
        Tensor.of('bfloat16', p.shape, bf16Of(net.stateDict().get(p.name)!.data)),
      );
    }
    assert.equal(net.params.filter((p) => p.shadow).length, WEIGHTS, 'biases have no copy');
  });
}

test('bf16 keeps float32 masters, gradients and momentum; fp32 after setPrecision is exact', async () => {
  const net = tinyNet(refBackend, 'bf16');
  const before = new Map([...net.stateDict()].map(([k, t]) => [k, Float32Array.from(t.data)]));
  const sgd = new Sgd(net.params, net.backend, { momentum: 0.9, weightDecay: 0 });
  await step(net, sgd, 1, 1e-4);
  for (const p of net.params) {
    assert.equal(p.value.dtype, 'float32');
    assert.equal(p.grad.dtype, 'float32');
    assert.equal(sgd.velocity.get(p.name)!.dtype, 'float32');
  }
  // A step of lr 1e-4 moves most weights by less than a bfloat16 step (2⁻⁸ relative): a master
  // held in bfloat16 would have lost those moves.
  const w = net.stateDict().get('fc1.weight')!.data;
  const old = before.get('fc1.weight')!;
  let moved = 0;
  for (let i = 0; i < w.length; i++) if (w[i] !== old[i]) moved++;
  assert.ok(moved > w.length / 2, `${moved} of ${w.length} fc1 weights moved`);
  const [nowBf, oldBf] = [bf16Of(w), bf16Of(old)];
  let belowBf16 = 0;
  for (let i = 0; i < w.length; i++) if (w[i] !== old[i] && nowBf[i] === oldBf[i]) belowBf16++;
  assert.ok(belowBf16 > moved / 2, `${belowBf16} of ${moved} moves are below bfloat16's step`);

  const { x } = batch(5);
  const mixed = await logits(net, x);
  const fp32 = tinyNet(refBackend, 'fp32');
  fp32.loadStateDict(net.stateDict(), 'net');
  const full = await logits(fp32, x);
  assert.notDeepEqual(mixed, full, 'bf16 rounds the GEMM inputs');
  const scale = Math.max(...full.map(Math.abs));
  for (let i = 0; i < full.length; i++)
    assert.ok(
      Math.abs(mixed[i] - full[i]) <= 2e-2 * scale,
      `logit ${i}: ${mixed[i]} vs ${full[i]}`,
    );
  net.setPrecision('fp32');
  assert.equal(net.precision, 'fp32');
  assert.ok(net.params.every((p) => p.shadow === null));
  assert.deepEqual(await logits(net, x), full);
});

test('loadStateDict refreshes the bfloat16 copies', async () => {
  const a = tinyNet(refBackend, 'bf16');
  const { x } = batch(6);
  await logits(a, x); // a's copies are now fresh
  const b = new Net(SPECS, { input: [2, 10, 10], classes: 5, dropoutMode: 'inverted' }, refBackend);
  initialize(b, 'xavier', 99);
  a.loadStateDict(b.stateDict(), 'b');
  const fresh = tinyNet(refBackend, 'bf16');
  fresh.loadStateDict(b.stateDict(), 'b');
  assert.deepEqual(await logits(a, x), await logits(fresh, x));
});

for (const backend of await backendsUnderTest()) {
  if (backend === refBackend) continue;
  test(`a bf16 net on ${backend.name} trains like the bf16 net on ref`, async () => {
    const nets = [tinyNet(refBackend, 'bf16'), tinyNet(backend, 'bf16')];
    const out: Float32Array[] = [];
    for (const net of nets) {
      const sgd = new Sgd(net.params, net.backend, { momentum: 0.9, weightDecay: 5e-4 });
      await step(net, sgd, 1);
      await step(net, sgd, 2);
      out.push(await logits(net, batch(3).x));
    }
    for (let i = 0; i < out[0].length; i++)
      assert.ok(Math.abs(out[1][i] - out[0][i]) <= 1e-3 * (1 + Math.abs(out[0][i])), `logit ${i}`);
  });
}

test('bf16 on a backend without bfloat16 GEMMs or synchronous reads (webgpu) is a usage error', () => {
  const asyncOnly: Backend = {
    ...refBackend,
    name: 'async-only',
    readSync: undefined,
    supports: (k, dtypes = ['float32']) => k === 'cast' || dtypes.every((d) => d === 'float32'),
  };
  assert.ok(tinyNet(asyncOnly, 'fp32'));
  assert.throws(
    () => tinyNet(asyncOnly, 'bf16'),
    (e: unknown) =>
      e instanceof UsageError &&
      e.option === 'precision' &&
      /backend async-only has no bfloat16 convolution and linear kernels/.test(e.message),
  );
});
