// Features and retrieval: fc7 rows per image in order, an image's nearest neighbour in an index
// that contains it is itself at distance 0, unreadable index files are skipped and reported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import sharp from 'sharp';
import { extractFeatures, listImages, nearestNeighbors } from '../../src/eval/retrieval.js';
import { preprocessPreset } from '../../src/data/presets.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { tinyConfig, tinyNet } from './tiny.js';

async function writeImage(path: string, seed: number): Promise<void> {
  const w = 64;
  const h = 48;
  const px = Buffer.alloc(w * h * 3);
  for (let i = 0; i < px.length; i++)
    px[i] = (Math.sin(i * 0.01 * (seed + 1)) * 127 + 128 + seed * 37) & 255;
  await sharp(px, { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toFile(path);
}

test('nearestNeighbors: Euclidean, nearest first, ties to the lower index', () => {
  const index = new Tensor([4, 2], new Float32Array([0, 0, 3, 4, 1, 0, 0, 1]));
  const r = nearestNeighbors(index, new Float32Array([0, 0]), 3);
  assert.deepEqual(
    r.map((n) => n.index),
    [0, 2, 3],
  );
  assert.deepEqual(
    r.map((n) => n.distance),
    [0, 1, 1],
  );
  assert.equal(nearestNeighbors(index, new Float32Array([0, 0]), 10).length, 4);
});

test('features and neighbours of image files through a network', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'alexnet-retrieval-'));
  mkdirSync(join(dir, 'b'));
  const files = [join(dir, 'a0.png'), join(dir, 'b', 'b1.png'), join(dir, 'c2.png')];
  for (const [i, f] of files.entries()) await writeImage(f, i);
  writeFileSync(join(dir, 'broken.jpg'), 'not an image');
  writeFileSync(join(dir, 'notes.txt'), 'ignored');
  const config = tinyConfig('torchvision');
  const net = tinyNet(config);
  const meta = { config, preprocess: preprocessPreset('torchvision') };

  const listed = listImages(dir);
  assert.deepEqual(listed, [
    join(dir, 'a0.png'),
    join(dir, 'b', 'b1.png'),
    join(dir, 'broken.jpg'),
    join(dir, 'c2.png'),
  ]);
  const index = await extractFeatures(net, meta, listed, 'fc7', 2, true);
  assert.deepEqual(index.paths, [files[0], files[1], files[2]]);
  assert.equal(index.skipped.length, 1);
  assert.match(index.skipped[0].reason, /broken\.jpg/);
  assert.deepEqual(index.features.shape, [3, 32]);

  // Batch size does not change the rows.
  const one = await extractFeatures(net, meta, [files[2], files[0]], 'fc7', 1);
  assert.deepEqual(one.features.data.subarray(0, 32), index.features.data.subarray(64, 96));
  assert.deepEqual(one.features.data.subarray(32, 64), index.features.data.subarray(0, 32));
  const nn = nearestNeighbors(index.features, one.features.data.subarray(0, 32), 2);
  assert.equal(index.paths[nn[0].index], files[2]);
  assert.equal(nn[0].distance, 0);
  assert.ok(nn[1].distance > 0);

  // An unreadable query is an error (exit 2 in the CLI), not a skip.
  await assert.rejects(extractFeatures(net, meta, [join(dir, 'broken.jpg')], 'fc7'), /broken\.jpg/);
});
