// Training on the webgpu backend end to end. (1) It learns: 32 steps of the demo's loop (d2l at
// 67 px, width 1/8, batch 8, over 256 Fashion-MNIST images) bring the mean loss of the last 8
// steps well below that of the first 8 (measured: see the README). (2) The command: `alexnet
// train --backend webgpu --max-train 512 --max-test 128` (d2l at 67 px and --width 0.125:
// lavapipe is slow, ~50 s here) learns and follows the native run of the same seed; and without
// an adapter it is one line, exit 2.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nativeBackend } from '../../../src/backend/native/index.js';
import { webgpuBackend } from '../../../src/backend/webgpu/index.js';
import { loadFashionRaw } from '../../../src/data/fashion.js';
import { DemoTrainer } from '../../../src/demo/train-steps.js';
import { runCli } from '../../helpers/cli.js';
import { openTestDevice } from '../../helpers/webgpu-device.js';

const { dev, skip } = await openTestDevice();

/** The CPU run it follows: native, or ref where the addon did not build. */
const CPU = nativeBackend ? 'native' : 'ref';

interface Line {
  event: string;
  backend?: string;
  train?: { loss: number };
  val?: { loss: number; top1: number };
  test?: { top1: number };
}

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

describe('training on webgpu', { skip }, () => {
  after(() => dev?.destroy());

  it('learns: the loss falls over 32 steps', async () => {
    const raw = loadFashionRaw();
    const data = {
      images: raw.train.images.subarray(0, 256 * 784),
      labels: raw.train.labels.subarray(0, 256),
    };
    const trainer = new DemoTrainer(webgpuBackend(dev!), data, {
      ...{ inputSize: 67, width: 1 / 8, batch: 8, lr: 0.02, seed: 1 },
    });
    const losses: number[] = [];
    for (let i = 0; i < 32; i++) losses.push((await trainer.next()).loss);
    const [first, last] = [mean(losses.slice(0, 8)), mean(losses.slice(-8))];
    assert.ok(last < 0.8 * first, `mean loss of the first 8 steps ${first}, of the last 8 ${last}`);
  });

  it('alexnet train --backend webgpu --max-train 512 --max-test 128 learns as native does', () => {
    const out = mkdtempSync(join(tmpdir(), 'alexnet-webgpu-'));
    try {
      const [webgpu, cpu] = ['webgpu', CPU].map((backend) => {
        const r = runCli([
          ...['train', '--backend', backend, '--max-train', '512', '--max-test', '128'],
          ...['--width', '0.125', '--epochs', '2', '--batch', '32', '--lr', '0.05'],
          ...['--schedule', 'constant', '--warmup', '0', '--max-seconds', '0', '--seed', '0'],
          ...['--json', '--no-workers', '--out', join(out, backend)],
          ...['--precision', 'fp32'], // native too: fashion-quick's default may be bf16 there
        ]);
        assert.equal(r.status, 0, r.stderr.split('\n').slice(-5).join('\n'));
        const lines = r.stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Line);
        const final = lines.pop()!;
        assert.equal(final.event, 'final', r.stdout);
        assert.equal(final.backend, backend);
        return { epochs: lines.filter((l) => l.event === 'epoch'), final };
      });
      const [e1, e2] = webgpu.epochs;
      // It learns: chance is 0.1 on Fashion-MNIST's 10 balanced classes (measured 0.29).
      assert.ok(webgpu.final.test!.top1 >= 0.2, `test top-1 ${webgpu.final.test!.top1}`);
      assert.ok(
        e2.train!.loss < e1.train!.loss - 0.03,
        `train loss ${e1.train!.loss} → ${e2.train!.loss}`,
      );
      assert.ok(existsSync(join(out, 'webgpu', 'model.safetensors')));
      // As native does: the first epoch's 16 steps to 1e-3 (measured 2.5e-4; float32 sums in
      // another order), the second, where the net leaves the plateau and rounding differences
      // grow, to 0.05 in the losses (measured 0.017 and 0.036) and 4/128 in top-1.
      cpu.epochs.forEach((n, i) => {
        const g = webgpu.epochs[i];
        const tol = i === 0 ? 1e-3 * n.train!.loss : 0.05;
        for (const [what, a, b, t] of [
          ['train loss', g.train!.loss, n.train!.loss, tol],
          ['val loss', g.val!.loss, n.val!.loss, tol],
          ['val top-1', g.val!.top1, n.val!.top1, 4 / 128],
        ] as const)
          assert.ok(Math.abs(a - b) <= t, `epoch ${i + 1} ${what}: webgpu ${a}, ${CPU} ${b}`);
      });
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('a bad flag beside --backend webgpu is only the flag line (Dawn is quiet)', () => {
    const r = runCli(['train', '--backend', 'webgpu', '--frobnicate']);
    assert.equal(r.status, 2);
    assert.equal(r.stderr, "error: unknown option '--frobnicate'\n");
  });
});

// Without an adapter (the Vulkan loader pointed at no driver) the webgpu backend is our one line
// on stderr and exit 2: none of the Dawn and Vulkan warnings that precede it at the native level
// (they go to /dev/null while the device opens: native/stdio.cc, built with the addon).
describe('webgpu without an adapter', () => {
  for (const args of [
    ['train', '--backend', 'webgpu', '--max-train', '8'],
    ['bench', '--backend', 'webgpu'],
  ]) {
    it(`alexnet ${args.join(' ')}: one line, exit 2`, () => {
      const r = runCli(args, { VK_DRIVER_FILES: '/nonexistent.json' });
      assert.equal(r.status, 2);
      assert.match(
        r.stderr,
        /^alexnet: --backend webgpu: the webgpu (backend has no adapter \(.*VK_DRIVER_FILES chose the Vulkan drivers: \/nonexistent.json; ALEXNET_WEBGPU_LOG=1 shows Dawn's log\)|backend needs the optional npm package 'webgpu'.*)\n$/,
      );
      assert.equal(r.stdout, '');
    });
  }
});
