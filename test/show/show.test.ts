// `alexnet show …` through the built command: each figure is written, has a readable size and
// non-trivial content, and carries its numbers; bad input is one line and exit code 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { filtersSvg } from '../../src/show/filters.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { runCli } from '../helpers/cli.js';
import { pngStats, writeIdxDir, writeImage, writeTinyModel } from '../helpers/lab-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'alexnet-show-'));
const rgbModel = writeTinyModel(dir, 'alexnet2012');
const greyModel = writeTinyModel(dir, 'd2l', { channels: 1 });
const images = [0, 1, 2].map((i) => join(dir, `img${i}.png`));
const ok = (args: string[]): void => {
  const r = runCli(['show', ...args, ...(args[0] === 'curves' ? [] : ['--backend', 'ref'])]);
  assert.equal(r.status, 0, r.stderr);
};

test('filters: tower A above tower B, each kernel stretched on its own', async () => {
  // 4 kernels of 1×2: two towers of two. Each kernel's own min → 0, max → 255.
  const w = new Tensor([4, 1, 1, 2], new Float32Array([0, 1, 5, 6, -3, 3, 100, 101]));
  const svg = await filtersSvg(w, { towers: 2, perRow: 2, scale: 1 });
  assert.match(svg, /tower A: kernels 1–2/);
  assert.match(svg, /tower B: kernels 3–4/);
  const pngs = [...svg.matchAll(/base64,([^"]+)"/g)].map((m) => Buffer.from(m[1], 'base64'));
  assert.equal(pngs.length, 2);
  const { data, info } = await sharp(pngs[0]).raw().toBuffer({ resolveWithObject: true });
  // Row 2 (below the 2-pixel gap): kernel 1 at x 2–3, kernel 2 at x 6–7 (1-pixel kernels + gaps).
  const at = (x: number): number => data[(2 * info.width + x) * info.channels];
  assert.deepEqual([at(2), at(3), at(6), at(7)], [0, 255, 0, 255]);
});

test('show filters (RGB two-tower and grey), predictions, neighbors, activations', async () => {
  for (const [i, p] of images.entries()) await writeImage(p, i + 1);
  const index = join(dir, 'index');
  mkdirSync(index);
  for (let i = 0; i < 7; i++) await writeImage(join(index, `n${i}.png`), i + 2);

  ok(['filters', '--model', rgbModel, '--output', join(dir, 'f.png')]);
  const f = await pngStats(join(dir, 'f.png'));
  assert.ok(f.width >= 360 && f.height >= 150, `filters ${f.width}×${f.height}`);
  assert.ok(f.std > 20, `filters look flat (std ${f.std})`);
  ok(['filters', '--model', rgbModel, '--output', join(dir, 'f.svg')]);
  const fsvg = readFileSync(join(dir, 'f.svg'), 'utf8');
  assert.match(fsvg, /tower A: kernels 1–4/); // 8 kernels at width 1/12
  assert.match(fsvg, /tower B: kernels 5–8/);
  ok(['filters', '--model', greyModel, '--output', join(dir, 'g.png')]);
  assert.ok((await pngStats(join(dir, 'g.png'))).std > 20);

  ok(['predictions', '--model', rgbModel, ...images, '--output', join(dir, 'p.svg')]);
  const psvg = readFileSync(join(dir, 'p.svg'), 'utf8');
  const probs = [...psvg.matchAll(/>(0\.\d{3})</g)].map((m) => Number(m[1]));
  assert.equal(probs.length, 15, 'five bars for each of three images');
  for (let i = 0; i < 3; i++) {
    const five = probs.slice(5 * i, 5 * i + 5);
    assert.deepEqual(
      five,
      [...five].sort((a, b) => b - a),
      'bars are best first',
    );
  }
  assert.match(psvg, /class \d/);
  ok(['predictions', '--model', rgbModel, ...images, '--output', join(dir, 'p.png')]);
  assert.ok((await pngStats(join(dir, 'p.png'))).width >= 600);

  // A query that is in the index finds itself first, at distance 0.
  writeFileSync(join(index, 'q.png'), readFileSync(images[0]));
  const neighbors = (queries: string[], out: string): void =>
    ok([
      'neighbors',
      '--model',
      rgbModel,
      '--index',
      index,
      ...queries,
      '--output',
      join(dir, out),
    ]);
  neighbors([images[0], images[1]], 'n.svg');
  const nsvg = readFileSync(join(dir, 'n.svg'), 'utf8');
  assert.equal([...nsvg.matchAll(/d = /g)].length, 12, 'six neighbours per query');
  assert.match(nsvg, />q\.png<\/text>\s*<text[^>]*>d = 0\.00</);
  neighbors([images[0]], 'n.png');
  assert.ok((await pngStats(join(dir, 'n.png'))).std > 10);

  const activations = (layer: string, out: string): void =>
    ok([
      'activations',
      '--model',
      rgbModel,
      images[0],
      '--layer',
      layer,
      '--output',
      join(dir, out),
    ]);
  activations('conv1', 'a.svg');
  assert.match(readFileSync(join(dir, 'a.svg'), 'utf8'), /8 maps of 15×15/);
  activations('fc7', 'a.png');
  assert.ok((await pngStats(join(dir, 'a.png'))).height > 60);
});

test('show curves overlays runs; show confusion draws the matrix with its counts', async () => {
  const runs = ['relu', 'tanh'].map((name, k) => {
    const d = join(dir, name);
    mkdirSync(d);
    const lines = [1, 2, 3].map((e) =>
      JSON.stringify({
        epoch: e,
        step: 10 * e,
        lr: 0.01,
        trainLoss: 2 / (e + k),
        trainAccuracy: 0.3 * e,
        valLoss: 1,
        valTop1: 0.25 * e - 0.1 * k,
        valTop5: 0.9,
        seconds: e,
        imagesPerSecond: 100,
      }),
    );
    writeFileSync(join(d, 'metrics.jsonl'), lines.join('\n') + '\n');
    return d;
  });
  ok(['curves', ...runs, '--output', join(dir, 'c.svg')]);
  const csvg = readFileSync(join(dir, 'c.svg'), 'utf8');
  assert.match(csvg, />relu</);
  assert.match(csvg, />tanh</);
  assert.equal([...csvg.matchAll(/<path /g)].length, 4, 'two runs × two panels');

  const data = writeIdxDir(join(dir, 'idx'), 20, 30);
  ok(['confusion', '--model', greyModel, '--data', data, '--output', join(dir, 'm.svg')]);
  const msvg = readFileSync(join(dir, 'm.svg'), 'utf8');
  assert.match(msvg, /top-1 0\.\d{4} \(30 images\)/);
  const counts = [...msvg.matchAll(/fill="(?:white|black)">(\d+)</g)].map((m) => Number(m[1]));
  assert.equal(
    counts.reduce((a, b) => a + b, 0),
    30,
    'the cells count every test image',
  );
  ok(['confusion', '--model', greyModel, '--data', data, '--output', join(dir, 'm.png')]);
  assert.ok((await pngStats(join(dir, 'm.png'))).width >= 500);
});

test('show: bad input is one line and exit code 2', () => {
  for (const args of [
    ['filters', '--model', rgbModel, '--output', join(dir, 'x.jpg')],
    ['filters', '--model', join(dir, 'missing.safetensors'), '--output', join(dir, 'x.png')],
    [
      'activations',
      '--model',
      rgbModel,
      images[0],
      '--layer',
      'conv9',
      '--output',
      join(dir, 'x.png'),
    ],
    ['curves', join(dir, 'nothing-here'), '--output', join(dir, 'x.png')],
  ]) {
    const r = runCli(['show', ...args]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^alexnet: /);
  }
});
