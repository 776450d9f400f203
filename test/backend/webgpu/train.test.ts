// Training on the webgpu backend end to end. (1) It learns: 32 steps of the demo's loop (d2l at
// 67 px, width 1/8, batch 8, over 256 Fashion-MNIST images) bring the mean loss of the last 8
// steps well below that of the first 8 (measured: see the README). (2) The command: `alexnet
// train --backend webgpu` on a small seeded subset (full-width d2l at 67 px: lavapipe is slow)
// finishes, validates and writes a model file; and without an adapter it is one line, exit 2.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GpuDevice } from '../../../src/backend/webgpu/device.js';
import { webgpuBackend } from '../../../src/backend/webgpu/index.js';
import { openNodeDevice } from '../../../src/backend/webgpu/node-gpu.js';
import { loadFashionRaw } from '../../../src/data/fashion.js';
import { DemoTrainer } from '../../../src/demo/train-steps.js';
import { runCli } from '../../helpers/cli.js';

let dev: GpuDevice | null = null;
let skip: string | false = false;
try {
  dev = await openNodeDevice();
} catch (e) {
  if (process.env.CI === 'true') throw e;
  skip = (e as Error).message;
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

  it('alexnet train --backend webgpu trains, validates and saves', () => {
    const out = mkdtempSync(join(tmpdir(), 'alexnet-webgpu-'));
    try {
      const r = runCli([
        ...['train', '--backend', 'webgpu', '--max-train', '32', '--max-test', '16'],
        ...['--epochs', '1', '--batch', '16', '--warmup', '0', '--max-seconds', '0', '--json'],
        ...['--no-workers', '--out', join(out, 'run')],
      ]);
      assert.equal(r.status, 0, r.stderr.split('\n').slice(-5).join('\n'));
      const final = JSON.parse(r.stdout.trim().split('\n').pop()!);
      assert.equal(final.event, 'final', r.stdout);
      assert.equal(final.backend, 'webgpu');
      assert.ok(final.test.top1 >= 0 && final.test.top1 <= 1, r.stdout);
      assert.ok(Number.isFinite(final.test.loss), r.stdout);
      assert.ok(existsSync(join(out, 'run', 'model.safetensors')));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('without an adapter, --backend webgpu is one line and exit 2', () => {
    const r = runCli(['bench', '--backend', 'webgpu'], { VK_DRIVER_FILES: '/nonexistent.json' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^alexnet: --backend webgpu: the webgpu backend has no adapter .*$/m);
    // (Dawn's own Vulkan warnings may precede it; no JavaScript stack trace may.)
    assert.doesNotMatch(r.stderr, /\n\s+at .*(file:|node:)/);
  });
});
