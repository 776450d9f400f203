// `--parallel towers` and `hybrid` on WebGPU: each worker opens its own WebGPU device (on a
// machine without a GPU, devices of the CPU Vulkan driver in .webgpu/), and every exchange is read
// back from one device into the shared channel and uploaded onto the other. On reduced nets
// (channels ÷ 8, fc 32, 67 px, dropout 0.5; batch 5, which hybrid splits 3 + 2) the workers give
// the logits of the single-process network on the CPU backend, and after two SGD steps with
// momentum the same parameters and momentum, within float tolerance (the devices sum in another
// order). Skipping one exchange breaks it (the commit that added this file says how it was tried).
// A tower that throws on webgpu ends the run with the WorkerDied naming it; what webgpu cannot do
// with --parallel stays a one-line usage error.
// Skips, saying why, only where no WebGPU device opens (with CI=true it must run).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hostData } from '../../src/backend/backend.js';
import { nativeBackend } from '../../src/backend/native/index.js';
import { refBackend } from '../../src/backend/ref/index.js';
import { openNodeDevice } from '../../src/backend/webgpu/node-gpu.js';
import { initialize } from '../../src/models/init.js';
import type { Arch } from '../../src/models/config.js';
import type { Net } from '../../src/nn/net.js';
import { Sgd } from '../../src/optim/sgd.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Rng } from '../../src/util/rng.js';
import { Hybrid } from '../../src/parallel/hybrid.js';
import type { StepWorkers } from '../../src/parallel/step-workers.js';
import { Towers } from '../../src/parallel/towers.js';
import { WorkerDied } from '../../src/parallel/worker.js';
import { runCli } from '../helpers/cli.js';
import { scaledNet } from '../helpers/scaled.js';
import { maxAbsDiff } from '../helpers/compare.js';
import { stepSideBySide } from '../helpers/side-by-side.js';

let skip: string | false = false;
try {
  (await openNodeDevice()).destroy(); // only a probe: the workers open their own
} catch (e) {
  if (process.env.CI === 'true') throw e;
  skip = (e as Error).message;
}

const backend = nativeBackend ?? refBackend;
const N = 5;
const CLASSES = 10;
const SGD = { momentum: 0.9, weightDecay: 5e-4, multipliers: 'caffe' as const };

function batch(step: number): { x: Tensor; labels: Int32Array } {
  const rng = new Rng(100 + step);
  const x = new Tensor([N, 3, 67, 67]);
  for (let i = 0; i < x.size; i++) x.data[i] = rng.normal();
  return { x, labels: Int32Array.from({ length: N }, () => rng.nextU32() % CLASSES) };
}

function pair(arch: Arch): { single: Net; twin: Net } {
  const single = scaledNet(arch, 3, 67, 8, 128, CLASSES, backend, 0.5);
  initialize(single, 'kaiming', 7);
  const twin = scaledNet(arch, 3, 67, 8, 128, CLASSES, backend, 0.5);
  twin.loadStateDict(single.stateDict(), 'the single net');
  return { single, twin };
}

/** |a − b| ≤ tol·(1 + max |a|): the devices' sums run in another order than the CPU's. */
function close(a: Float32Array, b: Float32Array, tol: number, what: string): void {
  const scale = 1 + a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const d = maxAbsDiff(a, b);
  assert.ok(d <= tol * scale, `${what} differs by ${d} (scale ${scale})`);
}

const opts = { backend: 'webgpu' as const, maxBatch: N, sgd: SGD };
const schemes: [string, Arch, (net: Net) => Promise<StepWorkers>][] = [
  ['towers', 'alexnet2012', (net) => Towers.start(net, opts)],
  ['towers', 'caffenet', (net) => Towers.start(net, opts)],
  ['hybrid on 2 workers', 'torchvision', (net) => Hybrid.start(net, { ...opts, workers: 2 })],
];

describe('the parallel schemes on WebGPU devices, one per worker', { skip }, () => {
  for (const [scheme, arch, start] of schemes) {
    it(`${arch}: ${scheme} equal the net on the CPU (logits, 2 SGD steps, momentum)`, async () => {
      const { single, twin } = pair(arch);
      const workers = await start(twin);
      try {
        await workers.push();
        const sgd = await stepSideBySide(
          single,
          workers,
          backend,
          SGD,
          [0, 1].map(batch),
          (l1, l2, step) => close(l1, l2, 1e-4, `logits at step ${step}`),
        );
        const sgdT = new Sgd(twin.params, backend, SGD);
        await workers.pull(sgdT);
        for (const p of single.params) {
          const q = twin.paramsByName.get(p.name)!;
          close(hostData(backend, p.value), hostData(backend, q.value), 1e-5, p.name);
          close(
            hostData(backend, sgd.velocity.get(p.name)!),
            hostData(backend, sgdT.velocity.get(p.name)!),
            1e-4,
            `momentum.${p.name}`,
          );
        }
        assert.deepEqual(twin.rng.getState(), single.rng.getState()); // the same masks were drawn
        const { x } = batch(9);
        close(
          hostData(backend, single.forward(x, false)),
          (await workers.forward(x, false)).data,
          1e-4,
          'eval logits',
        );
      } finally {
        await workers.close();
      }
    });
  }

  it('what webgpu workers cannot do is one line, exit 2', () => {
    const bench = ['bench', '--arch', 'caffenet', '--backend', 'webgpu', '--batch', '1'];
    for (const [flags, line] of [
      [
        ['--parallel', 'data'],
        '--parallel data runs its replicas on the CPU backends (--backend native or ref); towers and hybrid run on webgpu',
      ],
      [
        ['--parallel', 'towers', '--precision', 'bf16'],
        '--precision bf16: not with --parallel towers (its workers compute in fp32)',
      ],
    ] as const) {
      const r = runCli([...bench, ...flags]);
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stderr, `alexnet: ${line}\n`);
    }
  });

  it('a tower that throws ends the run with one WorkerDied naming it', async () => {
    const { twin } = pair('caffenet');
    process.env.ALEXNET_TOWER_FAIL = 'B:throw:2';
    const workers = await Towers.start(twin, { backend: 'webgpu', maxBatch: N, sgd: SGD });
    delete process.env.ALEXNET_TOWER_FAIL;
    try {
      await workers.push();
      await workers.forward(batch(0).x, false);
      await assert.rejects(workers.forward(batch(1).x, false), (e: unknown) => {
        assert.ok(e instanceof WorkerDied);
        assert.equal(e.message, 'tower B threw: injected failure at forward 2');
        return true;
      });
    } finally {
      await workers.close();
    }
  });
});
