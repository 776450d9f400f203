// Crops, flips and colour shifts land where they should, pixel-exact on synthetic images, and the
// random draws are a function of the seed alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  centerCrop,
  cropInto,
  drawAlpha,
  drawCrop,
  packViews,
  unpackView,
  type Normalize,
  type ViewParams,
} from '../../src/data/augment.js';
import { Rng } from '../../src/util/rng.js';
import { patternImage } from './imagefolder-fixtures.js';

const R = 256;
const RAW: Normalize = { scale: 1, mean: [0, 0, 0], std: [1, 1, 1] };
const src = patternImage(R, R);
const px = (y: number, x: number, c: number): number => src[(y * R + x) * 3 + c];

function cut(p: ViewParams, S: number, norm = RAW): Float32Array {
  const out = new Float32Array(3 * S * S);
  cropInto(src, R, p, S, norm, out, 0);
  return out;
}

test('a crop copies the source window, channel-planar', () => {
  const S = 224;
  const out = cut({ x: 17, y: 30, flip: false, shift: [0, 0, 0] }, S);
  for (let c = 0; c < 3; c++)
    for (let i = 0; i < S; i++)
      for (let j = 0; j < S; j++) {
        if (out[c * S * S + i * S + j] !== px(30 + i, 17 + j, c)) assert.fail(`(${c}, ${i}, ${j})`);
      }
});

test('a mirrored crop reverses each row of the same window', () => {
  const S = 227;
  const out = cut({ x: 29, y: 0, flip: true, shift: [0, 0, 0] }, S);
  for (let c = 0; c < 3; c++)
    for (let i = 0; i < S; i++)
      for (let j = 0; j < S; j++) {
        if (out[c * S * S + i * S + j] !== px(i, 29 + S - 1 - j, c))
          assert.fail(`(${c}, ${i}, ${j})`);
      }
});

test('corner crops reach the image edges and a crop that does not fit is refused', () => {
  const S = 224;
  const out = cut({ x: 32, y: 32, flip: false, shift: [0, 0, 0] }, S);
  assert.equal(out[S * S - 1], px(255, 255, 0));
  assert.throws(() => cut({ x: 33, y: 0, flip: false, shift: [0, 0, 0] }, S), /does not fit/);
});

test('normalisation: shift, scale, mean, std, mean image at the source pixel, BGR order', () => {
  const S = 8;
  const meanImage = new Float32Array(R * R * 3);
  for (let i = 0; i < meanImage.length; i++) meanImage[i] = (i % 97) / 2;
  const norm: Normalize = {
    scale: 1 / 255,
    mean: [0.5, 0.4, 0.3],
    std: [0.2, 0.25, 0.5],
    meanImage,
    order: 'bgr',
  };
  const p: ViewParams = { x: 100, y: 50, flip: true, shift: [3, -2, 1.5] };
  const out = cut(p, S, norm);
  for (let c = 0; c < 3; c++)
    for (let i = 0; i < S; i++)
      for (let j = 0; j < S; j++) {
        const sy = p.y + i,
          sx = p.x + S - 1 - j;
        const m = meanImage[(sy * R + sx) * 3 + c];
        const want = ((px(sy, sx, c) + p.shift[c] - m) / 255 - norm.mean[c]) / norm.std[c];
        const got = out[(2 - c) * S * S + i * S + j];
        assert.ok(Math.abs(got - want) < 1e-5, `(${c}, ${i}, ${j}): ${got} vs ${want}`);
      }
});

test('the centre crop sits at ⌊(256 − S)/2⌋', () => {
  assert.deepEqual(centerCrop(256, 224), { x: 16, y: 16, flip: false });
  assert.deepEqual(centerCrop(256, 227), { x: 14, y: 14, flip: false });
});

test('drawn crops cover [0, 256 − S] uniformly, flips are fair, and the same seed draws the same', () => {
  const rng = new Rng(7);
  const S = 227;
  const seen = new Uint32Array(R - S + 1);
  let flips = 0;
  const N = 30000;
  for (let k = 0; k < N; k++) {
    const p = drawCrop(rng, R, S);
    assert.ok(p.x >= 0 && p.x <= R - S && p.y >= 0 && p.y <= R - S);
    seen[p.x]++;
    if (p.flip) flips++;
  }
  assert.ok(
    seen.every((n) => n > 0),
    'every offset is drawn',
  );
  assert.ok(Math.abs(flips / N - 0.5) < 0.02, `flip rate ${flips / N}`);
  const a = new Rng(42),
    b = new Rng(42);
  for (let k = 0; k < 100; k++)
    assert.deepEqual([drawCrop(a, R, 224), drawAlpha(a)], [drawCrop(b, R, 224), drawAlpha(b)]);
});

test('views pack for the workers and unpack unchanged', () => {
  const v: ViewParams[] = [
    { x: 1, y: 2, flip: true, shift: [0.5, -1, 2] },
    { x: 31, y: 0, flip: false, shift: [0, 0, 0] },
  ];
  const packed = packViews(v);
  assert.deepEqual([unpackView(packed, 0), unpackView(packed, 1)], v);
});
