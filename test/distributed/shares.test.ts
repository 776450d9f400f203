// A rank's share of an augmented batch is filled exactly as those rows of the whole batch:
// Split.fill(indices of the share, …, seed, first) equals the share's rows of fill(indices of
// the batch, …, seed), for the byte-image splits (inline and on the worker) and CIFAR-10.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCifar } from '../../src/data/cifar.js';
import { CropSplit, SubsetSplit } from '../../src/lab/splits.js';
import type { Split } from '../../src/data/dataset.js';
import { shareOf } from '../../src/train/distributed.js';
import { writeCifarDir } from '../helpers/cifar.js';
import { tinyDataset } from '../train/tiny.js';

async function assertSharesMatch(split: Split, what: string): Promise<void> {
  const idx = Int32Array.from([9, 3, 14, 0, 7, 11, 2, 5, 12, 8]);
  const per = split.sampleShape.reduce((a, b) => a * b, 1);
  const whole = new Float32Array(idx.length * per);
  await split.fill(idx, whole, true, 1234);
  for (const ranks of [2, 3]) {
    for (let r = 0; r < ranks; r++) {
      const { first, count } = shareOf(idx.length, r, ranks);
      const part = new Float32Array(count * per);
      await split.fill(idx.subarray(first, first + count), part, true, 1234, first);
      assert.deepEqual(
        part,
        whole.subarray(first * per, (first + count) * per),
        `${what}: rank ${r} of ${ranks}`,
      );
    }
  }
}

test('byte images: a share gets its rows of the whole batch (inline and on the worker)', async () => {
  for (const workers of [false, true]) {
    const ds = tinyDataset({ workers });
    try {
      await assertSharesMatch(ds.train, `workers ${workers}`);
    } finally {
      await ds.close();
    }
  }
});

test('CIFAR-10: a share gets its rows of the whole batch (mirrors and colour noise)', async () => {
  const dir = writeCifarDir(mkdtempSync(join(tmpdir(), 'alexnet-cifar-')), 12, 7);
  const ds = openCifar(dir, { inputSize: 32, normalize: true, colorAugment: true });
  await assertSharesMatch(ds.train, 'cifar');
});

test("the lab's subset and crop views pass a share's position through", async () => {
  const dir = writeCifarDir(mkdtempSync(join(tmpdir(), 'alexnet-cifar-')), 12, 7);
  const ds = openCifar(dir, { inputSize: 32, normalize: true, colorAugment: true });
  const subset = new SubsetSplit(
    ds.train,
    Int32Array.from({ length: 16 }, (_, i) => 23 - i),
  );
  await assertSharesMatch(subset, 'subset');
  await assertSharesMatch(new CropSplit(subset, 24), 'crop');
});
