// The dashboard end to end in a real browser (Debian's chromium through playwright-core). First a
// short training run on a tiny network, whose batches come from a deliberately slow loader so the
// page can be watched live: the step counter moves, the loss, accuracy, learning rate, speed and
// ETA show, the epoch table, conv1's kernels, the confusion matrix and the sample predictions
// appear, and a reload keeps it all. Then `alexnet train --ui` through the command and
// `alexnet ui RUN_DIR` serving that finished run from its files. Screenshots go to
// test-artifacts/ (git-ignored).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { refBackend } from '../../src/backend/ref/index.js';
import type { Split } from '../../src/data/dataset.js';
import { initialize } from '../../src/models/init.js';
import { train } from '../../src/train/trainer.js';
import { startTrainingDashboard } from '../../src/ui/training.js';
import { ROOT } from '../helpers/cli.js';
import { writeIdxDir } from '../helpers/lab-fixtures.js';
import { tinyConfig, tinyDataset, tinyMeta, tinyNet } from '../train/tiny.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'test-artifacts');
const skip = !existsSync(CHROMIUM) && `${CHROMIUM} is not installed (apt-get install chromium)`;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function open(page: Page, url: string, until: number): Promise<void> {
  for (;;) {
    try {
      await page.goto(url, { timeout: 2000 });
      return;
    } catch (e) {
      if (Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

const text = (page: Page, id: string): Promise<string> => page.locator(`#${id}`).innerText();

/** A split whose batches take at least `ms` to arrive (a slow loader). */
function slow(split: Split, ms: number): Split {
  return {
    size: split.size,
    labels: split.labels,
    sampleShape: split.sampleShape,
    fill: async (idx, x, augment, seed) => {
      await new Promise((r) => setTimeout(r, ms));
      return split.fill(idx, x, augment, seed);
    },
  };
}

async function browser(): Promise<BrowserContext> {
  return chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'alexnet-chromium-')), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

test('dashboard: a training run watched live in chromium, then reloaded', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'alexnet-ui-'));
  const ds = tinyDataset();
  const dataset = { ...ds, train: slow(ds.train, 40), close: () => ds.close() };
  const net = tinyNet(refBackend, 1);
  const config = tinyConfig({ epochs: 3, init: 'xavier' });
  initialize(net, 'xavier', 1);
  const ui = await startTrainingDashboard({
    net,
    dataset,
    outDir: dir,
    port: 0,
    title: 'tiny run',
  });
  const context = await browser();
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await open(page, ui.url, Date.now() + 20_000);
    await page.waitForFunction(() => document.getElementById('connected')!.textContent === 'live');
    const training = train({
      net,
      meta: tinyMeta(ds),
      dataset,
      config,
      outDir: dir,
      handleSignals: false,
      plots: false,
      progress: ui.progress({
        step() {},
        note() {},
        task: () => ({ update() {}, stop() {} }),
        done() {},
      }),
      onEpoch: ui.onEpoch,
      onValidate: ui.onValidate,
    });
    await page.waitForFunction(() => Number(document.getElementById('step')!.textContent) > 0);
    const first = Number(await text(page, 'step'));
    await page.waitForFunction(
      (s) => Number(document.getElementById('step')!.textContent) > s,
      first,
    );
    assert.match(await text(page, 'loss'), /^\d+\.\d{4}$/);
    assert.match(await text(page, 'accuracy'), /^[01]\.\d{4}$/);
    assert.match(await text(page, 'lr'), /^\d\.\d\de[-+]\d+$/);
    assert.match(await text(page, 'ips'), /^\d+$/);
    assert.match(await text(page, 'eta'), /\d+s/);
    assert.equal(await page.locator('#filters svg').count(), 1, "conv1's kernels");
    const result = await training;
    await ui.close();
    // Everything the run did is on the page: every step, every epoch's top-1, the last validation.
    await page.waitForFunction(
      (n) => document.querySelectorAll('#epochs tr').length === n + 1,
      result.history.length,
    );
    assert.deepEqual(
      await page.locator('#epochs td.top1').allInnerTexts(),
      result.history.map((r) => r.val.top1.toFixed(4)),
    );
    assert.equal(Number(await text(page, 'step')), result.history.at(-1)!.step);
    assert.equal(await text(page, 'status'), 'finished');
    assert.equal(await page.locator('#confusion svg').count(), 1);
    assert.equal(await page.locator('#samples image').count(), 8, 'eight sample predictions');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-training.png'), fullPage: true });
    const saved = JSON.parse(readFileSync(join(dir, 'dashboard.json'), 'utf8'));
    assert.equal(saved.epochs.length, result.history.length);
    assert.equal(saved.steps.length, result.history.at(-1)!.step);
  } finally {
    await ui.close(); // a failed wait must not leave the server holding the process open
    await context.close();
  }
});

test('alexnet train --ui, then alexnet ui RUN_DIR in chromium', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'alexnet-ui-'));
  const data = writeIdxDir(join(dir, 'idx'), 200, 100);
  const out = join(dir, 'run');
  const port = await freePort();
  const r = spawnSync(
    process.execPath,
    [
      join(ROOT, 'bin', 'alexnet.js'),
      'train',
      '--data',
      data,
      '--arch',
      'd2l',
      '--input-size',
      '67',
      '--epochs',
      '1',
      '--batch',
      '16',
      '--max-train',
      '48',
      '--max-test',
      '32',
      '--max-seconds',
      '0',
      '--no-workers',
      '--ui',
      '--port',
      String(port),
      '--out',
      out,
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`dashboard: http://127\\.0\\.0\\.1:${port}/`));
  const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { val: { top1: number } });
  const port2 = await freePort();
  const ui = spawn(
    process.execPath,
    [join(ROOT, 'bin', 'alexnet.js'), 'ui', out, '--port', String(port2)],
    { stdio: 'ignore' },
  );
  const context = await browser();
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await open(page, `http://127.0.0.1:${port2}/`, Date.now() + 20_000);
    await page.waitForFunction(
      (n) => document.querySelectorAll('#epochs tr').length === n + 1,
      metrics.length,
    );
    assert.equal(await text(page, 'status'), 'finished');
    assert.deepEqual(
      await page.locator('#epochs td.top1').allInnerTexts(),
      metrics.map((m) => m.val.top1.toFixed(4)),
    );
    assert.equal(Number(await text(page, 'step')), 3, '48 images in batches of 16');
    assert.equal(await page.locator('#confusion svg').count(), 1);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-finished.png'), fullPage: true });
  } finally {
    await context.close();
    ui.kill('SIGTERM');
  }
});
