// Test-time views (paper §4.1): the ten are the four corners and the centre, each also mirrored,
// cut pixel-exact; viewsFor normalises as a checkpoint's Preprocess says; loadImage256 prepares a
// file as the training cache does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Preprocess } from '../../src/data/presets.js';
import {
  centerView,
  loadImage256,
  tenCropParams,
  tenCropViews,
  viewsFor,
} from '../../src/data/views.js';
import { UsageError } from '../../src/util/errors.js';
import { patternImage, tempDir, writeImage } from './imagefolder-fixtures.js';

const R = 256;
const src = patternImage(R, R, 1);
const px = (y: number, x: number, c: number): number => src[(y * R + x) * 3 + c];
const RAW = { scale: 1, mean: [0, 0, 0], std: [1, 1, 1] };

test('the ten crops are the four corners, the centre, then the same five mirrored', () => {
  assert.deepEqual(tenCropParams(256, 224), [
    { x: 0, y: 0, flip: false },
    { x: 32, y: 0, flip: false },
    { x: 0, y: 32, flip: false },
    { x: 32, y: 32, flip: false },
    { x: 16, y: 16, flip: false },
    { x: 0, y: 0, flip: true },
    { x: 32, y: 0, flip: true },
    { x: 0, y: 32, flip: true },
    { x: 32, y: 32, flip: true },
    { x: 16, y: 16, flip: true },
  ]);
  assert.deepEqual(
    tenCropParams(256, 227)
      .map((p) => [p.x, p.y])
      .slice(0, 5),
    [
      [0, 0],
      [29, 0],
      [0, 29],
      [29, 29],
      [14, 14],
    ],
  );
});

test('each of the ten views holds the right pixels', () => {
  const S = 224;
  const views = tenCropViews(src, S, RAW);
  assert.equal(views.length, 10);
  const corners: [number, number][] = [
    [0, 0],
    [0, 32],
    [32, 0],
    [32, 32],
    [16, 16],
  ]; // (y, x)
  for (let v = 0; v < 10; v++) {
    const [y0, x0] = corners[v % 5];
    const flip = v >= 5;
    for (const [c, i, j] of [
      [0, 0, 0],
      [1, 0, S - 1],
      [2, S - 1, 0],
      [0, S - 1, S - 1],
      [1, 100, 37],
      [2, 7, 200],
    ]) {
      const want = px(y0 + i, x0 + (flip ? S - 1 - j : j), c);
      assert.equal(views[v][c * S * S + i * S + j], want, `view ${v} (${c}, ${i}, ${j})`);
    }
  }
  // The centre view alone is the fifth of the ten; mirrored views are their originals reversed.
  assert.deepEqual(centerView(src, S, RAW), views[4]);
  for (let i = 0; i < S; i++) {
    const row = views[2].subarray(S * S + i * S, S * S + (i + 1) * S);
    assert.deepEqual(
      Array.from(views[7].subarray(S * S + i * S, S * S + (i + 1) * S)),
      Array.from(row).reverse(),
    );
  }
});

test("viewsFor applies a checkpoint's Preprocess (torchvision mean/std on [0, 1] pixels)", () => {
  const pre: Preprocess = {
    colorOrder: 'rgb',
    resize: 256,
    cropSize: 224,
    pixelScale: 1 / 255,
    mean: [0.485, 0.456, 0.406],
    std: [0.229, 0.224, 0.225],
    invert: false,
  };
  const [v] = viewsFor(src, 224, 'center', pre);
  const got = v[2 * 224 * 224 + 3 * 224 + 5];
  const want = (px(16 + 3, 16 + 5, 2) / 255 - 0.406) / 0.225;
  assert.ok(Math.abs(got - want) < 1e-6);
  assert.equal(viewsFor(src, 224, '10', pre).length, 10);
  assert.throws(() => viewsFor(src.subarray(0, 100), 224, 'center', pre), UsageError);
  assert.throws(() => viewsFor(src, 224, 'center', { ...pre, colorOrder: 'gray' }), UsageError);
});

test('loadImage256: shorter side to 256, centre crop, RGB; a missing file is a usage error', async () => {
  const dir = tempDir();
  // A 256×400 PNG (taller than wide): no resize, crop rows 72..327.
  const tall = patternImage(256, 400, 2);
  await writeImage(join(dir, 'tall.png'), tall, 256, 400);
  const img = await loadImage256(join(dir, 'tall.png'));
  assert.equal(img.length, 256 * 256 * 3);
  for (const [y, x, c] of [
    [0, 0, 0],
    [255, 255, 2],
    [128, 17, 1],
  ]) {
    assert.equal(img[(y * 256 + x) * 3 + c], tall[((y + 72) * 256 + x) * 3 + c]);
  }
  // A small grey-ish image is scaled up.
  await writeImage(join(dir, 'small.jpg'), patternImage(40, 30), 40, 30);
  assert.equal((await loadImage256(join(dir, 'small.jpg'))).length, 256 * 256 * 3);
  await assert.rejects(
    loadImage256(join(dir, 'nope.jpg')),
    (e) => e instanceof UsageError && e.message.includes('nope.jpg'),
  );
});
