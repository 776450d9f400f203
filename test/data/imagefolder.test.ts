// The ImageFolder dataset: layout, class names, skipped files, the decode cache and its
// invalidation, seeded batches that do not depend on which thread cut them, and the views.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cropInto } from '../../src/data/augment.js';
import { openImageFolder } from '../../src/data/imagefolder.js';
import { writePca } from '../../src/data/pca.js';
import { tenCropViews } from '../../src/data/views.js';
import { UsageError } from '../../src/util/errors.js';
import {
  patternImage,
  solidImage,
  tempDir,
  writeCorrupt,
  writeImage,
} from './imagefolder-fixtures.js';

const R = 256;

/** DIR/train/{zebra,ant,cat}/ + DIR/val/…, 256×256 PNGs (decoded exactly), one corrupt file,
 *  some files that are not images. */
async function makeTrainVal(): Promise<string> {
  const dir = tempDir();
  const classes = ['zebra', 'ant', 'cat'];
  let seed = 0;
  for (const [split, n] of [
    ['train', 3],
    ['val', 1],
  ] as const) {
    for (const c of classes) {
      for (let k = 0; k < n; k++)
        await writeImage(join(dir, split, c, `img${k}.png`), patternImage(R, R, seed++), R, R);
    }
  }
  writeCorrupt(join(dir, 'train', 'cat', 'broken.jpg'));
  writeFileSync(join(dir, 'train', 'ant', 'notes.txt'), 'not an image');
  writeFileSync(join(dir, 'train', 'ant', '.DS_Store'), 'x');
  return dir;
}

test('train/val layout: sorted class names, labels, non-images ignored, a corrupt file skipped and reported', async () => {
  const dir = await makeTrainVal();
  const warnings: string[] = [];
  const ds = await openImageFolder(dir, {
    inputSize: 224,
    seed: 1,
    workers: 0,
    warn: (l) => warnings.push(l),
  });
  try {
    assert.deepEqual(ds.classNames, ['ant', 'cat', 'zebra']);
    assert.equal(ds.train.size, 9);
    assert.equal(ds.test.size, 3);
    assert.deepEqual(Array.from(ds.train.labels), [0, 0, 0, 1, 1, 1, 2, 2, 2]);
    assert.deepEqual(Array.from(ds.test.labels), [0, 1, 2]);
    assert.equal(ds.skipped.length, 1);
    assert.match(ds.skipped[0].where, /train\/cat\/broken\.jpg$/);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /broken\.jpg.*skipped/);
    assert.deepEqual(ds.train.sampleShape, [3, 224, 224]);
    assert.equal(ds.preprocess.colorOrder, 'rgb');
    assert.equal(ds.preprocess.resize, 256);
    assert.equal(ds.preprocess.cropSize, 224);
    assert.equal(ds.preprocess.pixelScale, 1);
    assert.deepEqual(ds.preprocess.std, [1, 1, 1]);
    // 256×256 PNGs pass through the cache unchanged.
    const pattern = patternImage(R, R, 4);
    assert.deepEqual(ds.train.image256(1), pattern); // ant/img1, the fifth written
  } finally {
    await ds.close();
  }
});

test('a single tree is split per class by a seeded fraction', async () => {
  const dir = tempDir();
  for (const c of ['b', 'a'])
    for (let k = 0; k < 10; k++)
      await writeImage(join(dir, c, `${k}.png`), solidImage(8, 8, [k * 20, 0, 0]), 8, 8);
  const open = (seed: number) =>
    openImageFolder(dir, { inputSize: 224, seed, valFraction: 0.3, workers: 0 });
  const [d1, d2, d3] = [await open(5), await open(5), await open(6)];
  try {
    assert.deepEqual(d1.classNames, ['a', 'b']);
    assert.equal(d1.test.size, 6);
    assert.equal(d1.train.size, 14);
    assert.deepEqual(Array.from(d1.test.labels).sort(), [0, 0, 0, 1, 1, 1]);
    assert.deepEqual(d1.test.paths, d2.test.paths, 'same seed, same split');
    assert.notDeepEqual(d1.test.paths, d3.test.paths, 'another seed, another split');
    assert.equal(new Set([...d1.train.paths, ...d1.test.paths]).size, 20);
    assert.equal(d3.cache.decoded, 0, 'a new split reuses the cache');
  } finally {
    await Promise.all([d1.close(), d2.close(), d3.close()]);
  }
});

test('the cache is reused, and a changed file is decoded again', async () => {
  const dir = await makeTrainVal();
  const quiet = { inputSize: 224, seed: 1, workers: 0, warn: () => {} };
  const d1 = await openImageFolder(dir, quiet);
  assert.equal(d1.cache.decoded, 13); // 12 images + the corrupt file
  await d1.close();
  const d2 = await openImageFolder(dir, quiet);
  assert.deepEqual(d2.cache, { decoded: 0, reused: 13 });
  assert.equal(d2.skipped.length, 1, 'a cached failure is still reported');
  await d2.close();
  const changed = join(dir, 'train', 'ant', 'img1.png');
  await writeImage(changed, solidImage(R, R, [10, 200, 30]), R, R);
  const later = new Date(Date.now() + 5000);
  utimesSync(changed, later, later);
  const d3 = await openImageFolder(dir, quiet);
  try {
    assert.deepEqual(d3.cache, { decoded: 1, reused: 12 });
    assert.deepEqual(d3.train.image256(1), solidImage(R, R, [10, 200, 30]));
    assert.notDeepEqual(
      d3.stats.channelMean,
      d2.stats.channelMean,
      'the training statistics follow the change',
    );
  } finally {
    await d3.close();
  }
});

test('a folder with no images is a usage error', async () => {
  const empty = tempDir();
  await assert.rejects(
    openImageFolder(empty, { inputSize: 224, seed: 0 }),
    (e) => e instanceof UsageError && /no images found/.test(e.message),
  );
  mkdirSync(join(empty, 'cls'));
  writeFileSync(join(empty, 'cls', 'readme.txt'), 'hello');
  await assert.rejects(
    openImageFolder(empty, { inputSize: 224, seed: 0 }),
    (e) => e instanceof UsageError && /no images found/.test(e.message),
  );
  await assert.rejects(
    openImageFolder(join(empty, 'absent'), { inputSize: 224, seed: 0 }),
    UsageError,
  );
});

test('batches: the same seed gives the same batch on 0 or 2 threads; crops are the drawn ones', async () => {
  const dir = await makeTrainVal();
  const opts = { inputSize: 227, seed: 1, warn: () => {} };
  const inline = await openImageFolder(dir, { ...opts, workers: 0 });
  const pooled = await openImageFolder(dir, { ...opts, workers: 2 });
  try {
    const S = 227,
      per = 3 * S * S;
    const idx = Int32Array.from([8, 0, 3, 3, 5]);
    const a = new Float32Array(idx.length * per);
    const b = new Float32Array(idx.length * per);
    await inline.train.fill(idx, a, true, 1234);
    await pooled.train.fill(idx, b, true, 1234);
    assert.deepEqual(a, b);
    const c = new Float32Array(idx.length * per);
    await pooled.train.fill(idx, c, true, 1235);
    assert.notDeepEqual(a, c);
    // Each sample is the drawn crop/flip/colour shift of its cached image, normalised.
    const views = pooled.train.drawViews(idx.length, true, 1234);
    assert.ok(
      views.some((v) => v.shift[0] !== 0),
      'colour noise is on',
    );
    for (let k = 0; k < idx.length; k++) {
      const want = new Float32Array(per);
      cropInto(pooled.train.image256(idx[k]), R, views[k], S, pooled.normalize, want, 0);
      assert.deepEqual(b.subarray(k * per, (k + 1) * per), want);
    }
    // Without augmentation: the centre crop minus the per-channel mean.
    const t = new Float32Array(per);
    await pooled.test.fill(Int32Array.from([2]), t, false, 99);
    const img = pooled.test.image256(2);
    const m = pooled.stats.channelMean;
    assert.ok(Math.abs(t[per - 1] - (img[((14 + S - 1) * R + 14 + S - 1) * 3 + 2] - m[2])) < 1e-4);
    // Ten views, as tenCropViews cuts them with the dataset's normalisation.
    const v10 = new Float32Array(2 * 10 * per);
    await pooled.test.fillViews(Int32Array.from([0, 2]), v10, '10');
    const ref = tenCropViews(img, S, pooled.normalize);
    for (let v = 0; v < 10; v++)
      assert.deepEqual(v10.subarray((10 + v) * per, (11 + v) * per), ref[v]);
  } finally {
    await Promise.all([inline.close(), pooled.close()]);
  }
});

test('mean image, torchvision mode, no colour noise, and PCA given as a file', async () => {
  const dir = tempDir();
  await writeImage(join(dir, 'train', 'a', '0.png'), solidImage(R, R, [100, 50, 0]), R, R);
  await writeImage(join(dir, 'train', 'b', '0.png'), solidImage(R, R, [200, 150, 100]), R, R);
  await writeImage(join(dir, 'val', 'a', '0.png'), solidImage(R, R, [0, 0, 0]), R, R);
  const S = 64,
    per = 3 * S * S;
  const img = await openImageFolder(dir, { inputSize: S, seed: 0, meanMode: 'image', workers: 0 });
  try {
    assert.deepEqual(img.stats.channelMean, [150, 100, 50]);
    // Along the two images' colour difference (100, 100, 100): λ1 = 3·50²/255², p1 = (1, 1, 1)/√3.
    assert.ok(Math.abs(img.stats.pca.eigenvalues[0] - (3 * 2500) / 255 ** 2) < 1e-9);
    assert.ok(img.stats.pca.eigenvectors[0].every((x) => Math.abs(x - 1 / Math.sqrt(3)) < 1e-9));
    const x = new Float32Array(per);
    await img.test.fill(Int32Array.from([0]), x, false, 0);
    assert.deepEqual([x[0], x[S * S], x[2 * S * S]], [-150, -100, -50]);
  } finally {
    await img.close();
  }
  const pcaPath = join(dir, 'pca.json');
  writePca(pcaPath, {
    eigenvalues: [0, 0, 0],
    eigenvectors: [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ],
  });
  const tv = await openImageFolder(dir, {
    inputSize: S,
    seed: 0,
    meanMode: 'torchvision',
    pca: pcaPath,
    workers: 0,
  });
  const plain = await openImageFolder(dir, {
    inputSize: S,
    seed: 0,
    meanMode: 'torchvision',
    colorAugment: false,
    workers: 0,
  });
  try {
    assert.equal(tv.preprocess.pixelScale, 1 / 255);
    assert.deepEqual(tv.preprocess.mean, [0.485, 0.456, 0.406]);
    assert.deepEqual(tv.pca.eigenvalues, [0, 0, 0]);
    const a = new Float32Array(per),
      b = new Float32Array(per);
    await tv.train.fill(Int32Array.from([1]), a, true, 7);
    await plain.train.fill(Int32Array.from([1]), b, true, 7);
    assert.deepEqual(a, b, 'zero eigenvalues or no colour noise: the same crop, no shift');
    assert.ok(Math.abs(a[0] - (200 / 255 - 0.485) / 0.229) < 1e-5);
  } finally {
    await Promise.all([tv.close(), plain.close()]);
  }
});
