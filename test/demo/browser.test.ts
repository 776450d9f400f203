// The browser demo in headless Debian chromium (its WebGPU runs on SwiftShader): `serve-demo`'s
// server on 127.0.0.1, three training steps of the page, and the same three steps in Node on
// Dawn (lavapipe) from the same seed and images — the losses must agree to 1e-3 relative (two
// different CPU emulations of the GPU round differently; no reduction here is longer than 2,304).
// Skips, saying why, without chromium or a Node WebGPU adapter; with CI=true both must be there.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { webgpuBackend } from '../../src/backend/webgpu/index.js';
import { openNodeDevice } from '../../src/backend/webgpu/node-gpu.js';
import type { GpuDevice } from '../../src/backend/webgpu/device.js';
import { loadFashionRaw } from '../../src/data/fashion.js';
import { serveDemo } from '../../src/demo/server.js';
import { DemoTrainer, decodeDemoData, encodeDemoData } from '../../src/demo/train-steps.js';

const CHROMIUM = '/usr/bin/chromium';
let dev: GpuDevice | null = null;
let skip: string | false = false;
try {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is not installed (apt-get install chromium)`);
  dev = await openNodeDevice();
} catch (e) {
  if (process.env.CI === 'true') throw e;
  skip = (e as Error).message;
}

const OPTIONS = { inputSize: 67, width: 0.125, batch: 8, lr: 0.02, seed: 5 };
const STEPS = 3;
const IMAGES = 64;

describe('browser demo: the page trains, and its losses are Node’s', { skip }, () => {
  let server: Server;
  let browser: Browser;
  before(async () => {
    server = await serveDemo({ port: 0, images: IMAGES });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        ...['--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking'],
        ...['--disable-component-update', '--disable-sync', '--no-first-run'],
      ],
    });
  });
  after(async () => {
    await browser?.close();
    server?.close();
    dev?.destroy();
  });

  it(`${STEPS} steps in chromium = ${STEPS} steps in Node`, async () => {
    const page = await browser.newPage();
    const { port } = server.address() as AddressInfo;
    const o = OPTIONS;
    const query = `steps=${STEPS}&batch=${o.batch}&width=${o.width}&size=${o.inputSize}&lr=${o.lr}&seed=${o.seed}`;
    await page.goto(`http://127.0.0.1:${port}/?${query}`);
    await page.waitForFunction(
      () => (window as unknown as { demo?: { done: boolean } }).demo?.done,
      null,
      {
        timeout: 240_000,
      },
    );
    const demo = (await page.evaluate(() => (window as unknown as { demo: unknown }).demo)) as {
      error: string | null;
      adapter: string;
      steps: { loss: number; accuracy: number }[];
    };
    assert.equal(demo.error, null, `the page failed: ${demo.error}`);
    assert.equal(demo.steps.length, STEPS);
    assert.match(
      (await page.textContent('#progress')) ?? '',
      new RegExp(`step ${STEPS}/${STEPS}: loss`),
    );

    const raw = loadFashionRaw();
    const data = decodeDemoData(
      encodeDemoData(raw.train.images, raw.train.labels, IMAGES).buffer as ArrayBuffer,
    );
    const trainer = new DemoTrainer(webgpuBackend(dev!), data, o);
    for (let i = 0; i < STEPS; i++) {
      const node = (await trainer.next()).loss;
      const web = demo.steps[i].loss;
      assert.ok(Number.isFinite(web) && web > 0, `page loss ${web}`);
      assert.ok(
        Math.abs(web - node) <= 1e-3 * node,
        `step ${i + 1}: page ${web} (${demo.adapter}), node ${node}`,
      );
    }
  });
});
