// PCA colour noise (paper §4.1): the 3×3 eigen-decomposition, the pixel moments it comes from,
// and a statistical check that the noise has the covariance the draws imply.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  eigenSym3,
  pcaLighting,
  PixelMoments,
  readPca,
  writePca,
  type PcaStats,
} from '../../src/data/pca.js';
import { drawAlpha } from '../../src/data/augment.js';
import { UsageError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';
import { tempDir } from './imagefolder-fixtures.js';

test('Jacobi eigen-decomposition: A·p = λ·p, orthonormal, sorted, on random symmetric matrices', () => {
  const rng = new Rng(3);
  for (let t = 0; t < 200; t++) {
    const b = Array.from({ length: 9 }, () => rng.normal());
    const a = [0, 1, 2].flatMap((i) => [0, 1, 2].map((j) => b[i * 3 + j] + b[j * 3 + i]));
    if (t % 3 === 0) {
      a[1] = a[3] = 0;
    } // some already partly diagonal
    const { values, vectors } = eigenSym3(a);
    assert.ok(values[0] >= values[1] && values[1] >= values[2]);
    for (let i = 0; i < 3; i++) {
      const p = vectors[i];
      for (let r = 0; r < 3; r++) {
        const ap = a[r * 3] * p[0] + a[r * 3 + 1] * p[1] + a[r * 3 + 2] * p[2];
        assert.ok(Math.abs(ap - values[i] * p[r]) < 1e-9, `A·p${i} ≠ λp${i}`);
      }
      for (let j = 0; j < 3; j++) {
        const d = p[0] * vectors[j][0] + p[1] * vectors[j][1] + p[2] * vectors[j][2];
        assert.ok(Math.abs(d - (i === j ? 1 : 0)) < 1e-12);
      }
    }
  }
  const diag = eigenSym3([1, 0, 0, 0, 3, 0, 0, 0, 2]);
  assert.deepEqual(diag.values, [3, 2, 1]);
  assert.deepEqual(diag.vectors, [
    [0, 1, 0],
    [0, 0, 1],
    [1, 0, 0],
  ]);
});

test('pixel moments: mean and covariance of [0, 1] values match a direct computation', () => {
  const rng = new Rng(5);
  const m = new PixelMoments();
  const all: number[][] = [];
  for (let k = 0; k < 3; k++) {
    const img = new Uint8Array(50 * 3);
    for (let i = 0; i < 50; i++) {
      const base = rng.int(256);
      const px = [base, (base + rng.int(40)) & 255, rng.int(256)];
      img.set(px, i * 3);
      all.push(px.map((v) => v / 255));
    }
    m.add(img);
  }
  const n = all.length;
  const mean = [0, 1, 2].map((c) => all.reduce((s, p) => s + p[c], 0) / n);
  const { mean: got, covariance } = m.unitMoments();
  for (let c = 0; c < 3; c++) assert.ok(Math.abs(got[c] - mean[c]) < 1e-12);
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++) {
      const want = all.reduce((s, p) => s + (p[i] - mean[i]) * (p[j] - mean[j]), 0) / n;
      assert.ok(Math.abs(covariance[i * 3 + j] - want) < 1e-12);
    }
  assert.deepEqual(
    m.mean().map((x) => x / 255),
    got,
  );
});

test('colour noise p·(α∘λ) with α ~ N(0, 0.1²) has covariance 255²·P·diag(0.01·λ²)·Pᵀ (bound: 5% Frobenius)', () => {
  const rng = new Rng(11);
  const cov = [0.07, 0.06, 0.05, 0.06, 0.068, 0.058, 0.05, 0.058, 0.075];
  const { values, vectors } = eigenSym3(cov);
  const pca: PcaStats = { eigenvalues: values, eigenvectors: vectors };
  const N = 40000;
  const sum = new Float64Array(3);
  const sq = new Float64Array(9);
  for (let k = 0; k < N; k++) {
    const s = pcaLighting(pca, drawAlpha(rng, 0.1));
    for (let i = 0; i < 3; i++) {
      sum[i] += s[i];
      for (let j = 0; j < 3; j++) sq[i * 3 + j] += s[i] * s[j];
    }
  }
  let err = 0,
    norm = 0;
  for (let i = 0; i < 3; i++) {
    assert.ok(Math.abs(sum[i] / N) < 0.05 * 255 * 0.1 * values[0], 'the noise has mean ≈ 0');
    for (let j = 0; j < 3; j++) {
      let want = 0;
      for (let k = 0; k < 3; k++)
        want += vectors[k][i] * vectors[k][j] * 0.01 * values[k] ** 2 * 255 * 255;
      const got = sq[i * 3 + j] / N - (sum[i] / N) * (sum[j] / N);
      err += (got - want) ** 2;
      norm += want ** 2;
    }
  }
  // With N = 40,000 draws the sampling error of a covariance is ~ √(2/N) ≈ 0.7% of its size.
  assert.ok(Math.sqrt(err / norm) < 0.05, `relative error ${Math.sqrt(err / norm)}`);
});

test('PCA files round-trip; a bad file is a usage error naming it', () => {
  const dir = tempDir();
  const p = join(dir, 'pca.json');
  const stats: PcaStats = {
    eigenvalues: [0.2, 0.02, 0.005],
    eigenvectors: [
      [0.58, 0.58, 0.57],
      [-0.7, 0, 0.7],
      [0.4, -0.8, 0.4],
    ],
  };
  writePca(p, stats);
  assert.deepEqual(readPca(p), stats);
  writeFileSync(p, '{"eigenvalues": [1, 2]}');
  assert.throws(
    () => readPca(p),
    (e) => e instanceof UsageError && e.message.includes(p),
  );
  assert.throws(
    () => readPca(join(dir, 'missing.json')),
    (e) => e instanceof UsageError && /missing\.json/.test(e.message),
  );
});
