// CIFAR-10's binary format: records read in file order with their labels, planes to CHW inputs
// exactly, seeded mirrors and PCA colour noise (a constant shift per image and channel), the
// archive's subfolder found, and malformed files refused with one line naming the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CIFAR_CLASSES, isCifarDir, openCifar } from '../../src/data/cifar.js';
import { openData } from '../../src/train/setup.js';
import { UsageError } from '../../src/util/errors.js';
import { cifarRecords, writeCifarDir } from '../helpers/cifar.js';

test('cifar: files in order, labels, exact CHW inputs at 32, class names', async () => {
  const dir = writeCifarDir(mkdtempSync(join(tmpdir(), 'alexnet-cifar-')), 12, 7);
  assert.ok(isCifarDir(dir));
  const ds = openCifar(dir, { inputSize: 32, normalize: false, colorAugment: false });
  assert.equal(ds.train.size, 24);
  assert.equal(ds.test.size, 7);
  assert.deepEqual(ds.classNames, CIFAR_CLASSES);
  assert.deepEqual([...ds.train.labels.slice(10, 14)], [0, 1, 0, 1], 'file 2 follows file 1');
  const raw = cifarRecords(12, 2); // data_batch_2.bin: train samples 12…23
  const x = new Float32Array(2 * 3 * 1024);
  await ds.train.fill(Int32Array.from([13, 12]), x, false, 0);
  for (let p = 0; p < 3 * 1024; p++) {
    assert.equal(x[p], Math.fround(raw[3073 + 1 + p] / 255));
    assert.equal(x[3072 + p], Math.fround(raw[1 + p] / 255));
  }
  // Mirrors: seeded, and a mirrored row is the row reversed.
  const a = new Float32Array(8 * 3072);
  const b = new Float32Array(8 * 3072);
  const idx = Int32Array.from({ length: 8 }, (_, i) => i);
  await ds.train.fill(idx, a, true, 5);
  await ds.train.fill(idx, b, true, 5);
  assert.deepEqual(a, b);
  const plain = new Float32Array(8 * 3072);
  await ds.train.fill(idx, plain, false, 0);
  let mirrored = 0;
  for (let i = 0; i < 8; i++) {
    const row = (arr: Float32Array): number[] => [
      ...arr.subarray(i * 3072 + 32 * 5, i * 3072 + 32 * 6),
    ];
    if (row(a).join() !== row(plain).join()) {
      assert.deepEqual(row(a), row(plain).reverse());
      mirrored++;
    }
  }
  assert.ok(mirrored > 0 && mirrored < 8, `${mirrored} of 8 mirrored`);
});

test('cifar: PCA colour noise shifts each image and channel by a constant; normalised by the training stats', async () => {
  const dir = writeCifarDir(mkdtempSync(join(tmpdir(), 'alexnet-cifar-')), 20, 5);
  const noisy = openCifar(dir, { inputSize: 20 });
  const clean = openCifar(dir, { inputSize: 20, colorAugment: false });
  assert.equal(noisy.preprocess.mean.length, 3);
  const n = 4;
  const idx = Int32Array.from({ length: n }, (_, i) => i);
  const x = new Float32Array(n * 3 * 400);
  const y = new Float32Array(n * 3 * 400);
  // The same seed mirrors alike with and without colour noise: the difference is the shift.
  await noisy.train.fill(idx, x, true, 11);
  await clean.train.fill(idx, y, true, 11);
  const shifts = new Set<string>();
  for (let i = 0; i < n; i++)
    for (let c = 0; c < 3; c++) {
      const o = (i * 3 + c) * 400;
      const d = x[o] - y[o];
      for (let p = 1; p < 400; p++) assert.ok(Math.abs(x[o + p] - y[o + p] - d) < 1e-4);
      shifts.add(d.toFixed(4));
    }
  assert.ok(shifts.size >= 6, 'shifts differ between images and channels');
  // Test batches get no noise, and the whole training split is normalised to mean ≈ 0.
  const all = new Float32Array(40 * 3 * 400);
  await clean.train.fill(
    Int32Array.from({ length: 40 }, (_, i) => i),
    all,
    false,
    0,
  );
  const mean = all.reduce((s, v) => s + v, 0) / all.length;
  assert.ok(Math.abs(mean) < 0.05, `mean ${mean}`);
});

test('cifar: --data finds the archive folder; bad files are one-line errors naming the file', async () => {
  const top = mkdtempSync(join(tmpdir(), 'alexnet-cifar-'));
  writeCifarDir(join(top, 'cifar-10-batches-bin'), 10, 10, 1);
  writeFileSync(
    join(top, 'cifar-10-batches-bin', 'batches.meta.txt'),
    CIFAR_CLASSES.map((c) => c.toUpperCase()).join('\n') + '\n\n',
  );
  const ds = await openData(top, { inputSize: 16 });
  assert.equal(ds.classNames[9], 'TRUCK');
  assert.deepEqual(ds.train.sampleShape, [3, 16, 16]);

  const bad = writeCifarDir(mkdtempSync(join(tmpdir(), 'alexnet-cifar-')), 4, 4, 1);
  writeFileSync(join(bad, 'test_batch.bin'), cifarRecords(2, 1).subarray(0, 5000));
  assert.throws(
    () => openCifar(bad, { inputSize: 32 }),
    (e: Error) =>
      e instanceof UsageError &&
      /test_batch\.bin: 5000 bytes is not a whole number/.test(e.message),
  );
  const rec = cifarRecords(2, 1);
  rec[3073] = 12;
  writeFileSync(join(bad, 'test_batch.bin'), rec);
  assert.throws(() => openCifar(bad, { inputSize: 32 }), /test_batch\.bin: record 1 has label 12/);
});
