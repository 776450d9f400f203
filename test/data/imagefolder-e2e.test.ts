// End to end: a tiny ImageFolder of JPEGs, PNGs and WebPs of mixed sizes plus one corrupt file,
// opened at the smallest input alexnet2012 accepts (67: pool5 is 1×1), batches fed through the
// network; then the user's flow through the command line: pca → train --data → eval on the split
// the training held out (found from the model's record, whatever the seed) and on a whole other
// tree → predict --views 10.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { refBackend } from '../../src/backend/ref/index.js';
import { openImageFolder } from '../../src/data/imagefolder.js';
import { loadImage256, viewsFor } from '../../src/data/views.js';
import { buildNet } from '../../src/models/alexnet.js';
import { defaultConfig } from '../../src/models/config.js';
import { Tensor } from '../../src/tensor/tensor.js';
import {
  patternImage,
  solidImage,
  tempDir,
  writeCorrupt,
  writeImage,
} from './imagefolder-fixtures.js';
import { runCli } from '../helpers/cli.js';

const S = 67;

/** DIR/{circle,square}/ with 6 images each in three formats and sizes, and a corrupt JPEG. */
async function makeFolder(): Promise<string> {
  const dir = tempDir('alexnet-e2e-');
  const sizes: [number, number][] = [
    [320, 240],
    [200, 300],
    [256, 256],
    [90, 60],
    [400, 400],
    [300, 280],
  ];
  const exts = ['jpg', 'png', 'webp'];
  for (const [c, cls] of ['circle', 'square'].entries()) {
    for (let k = 0; k < 6; k++) {
      const [w, h] = sizes[k];
      const px = c === 0 ? solidImage(w, h, [220, 40 + k * 10, 30]) : patternImage(w, h, k);
      await writeImage(join(dir, cls, `${k}.${exts[k % 3]}`), px, w, h);
    }
  }
  writeCorrupt(join(dir, 'square', 'truncated.jpg'));
  return dir;
}

test('a mixed folder opens, skips its corrupt file, and feeds alexnet2012 at 67×67', async () => {
  const dir = await makeFolder();
  const warnings: string[] = [];
  const ds = await openImageFolder(dir, {
    inputSize: S,
    seed: 3,
    valFraction: 0.34,
    warn: (l) => warnings.push(l),
  });
  try {
    assert.deepEqual(ds.classNames, ['circle', 'square']);
    assert.equal(ds.train.size + ds.test.size, 12);
    assert.equal(ds.test.size, 4);
    assert.equal(ds.skipped.length, 1);
    assert.match(warnings.join('\n'), /square\/truncated\.jpg: skipped/);
    const net = buildNet(defaultConfig('alexnet2012', { inputSize: S, classes: 2 }), refBackend, 1);
    assert.deepEqual(net.input, [...ds.train.sampleShape]);
    const n = ds.train.size;
    const x = new Float32Array(n * 3 * S * S);
    await ds.train.fill(
      Int32Array.from({ length: n }, (_, i) => i),
      x,
      true,
      17,
    );
    assert.ok(x.every(Number.isFinite));
    const logits = net.forward(new Tensor([n, 3, S, S], x), true);
    assert.deepEqual(logits.shape, [n, 2]);
    // predict's path: a file prepared as training prepared it, ten views with the dataset's Preprocess.
    const img = await loadImage256(join(dir, 'circle', '0.jpg'));
    const views = viewsFor(img, S, '10', ds.preprocess);
    assert.equal(views.length, 10);
    const v10 = new Float32Array(10 * 3 * S * S);
    views.forEach((v, i) => v10.set(v, i * v.length));
    assert.deepEqual(net.forward(new Tensor([10, 3, S, S], v10), false).shape, [10, 2]);
  } finally {
    await ds.close();
  }
});

test('command line: pca, train --data, eval on the held-out split and on a whole tree, predict', async () => {
  const dir = await makeFolder();
  const out = join(tempDir('alexnet-e2e-run-'), 'run');
  const pcaPath = join(out, '..', 'pca.json');
  const pca = runCli(['pca', '--data', dir, '--output', pcaPath, '--json']);
  assert.equal(pca.status, 0, pca.stderr);
  assert.equal(JSON.parse(readFileSync(pcaPath, 'utf8')).eigenvalues.length, 3);
  assert.match(pca.stderr, /truncated\.jpg/);

  // Seed 1, so the held-out images differ from seed 0's: eval must find seed 1's again.
  const train = runCli([
    'train',
    '--data',
    dir,
    '--arch',
    'alexnet2012',
    '--input-size',
    String(S),
    '--epochs',
    '1',
    '--batch',
    '4',
    '--lr',
    '0.001',
    '--out',
    out,
    '--seed',
    '7',
    '--json',
  ]);
  assert.equal(train.status, 0, train.stderr);
  const lines = train.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(lines[0].event, 'config');
  assert.equal(lines[0].preset, 'imagefolder', 'an ImageFolder --data gets the imagefolder recipe');
  assert.equal(lines[0].config.maxSeconds, null);
  // 6 and 7 files a class, round(0.1·n) = 1 held out of each: 2 for validation; 10 readable left.
  assert.equal(lines[0].valImages, 2);
  assert.equal(lines[0].trainImages, 10);
  const final = lines[lines.length - 1];
  assert.equal(final.event, 'final');
  assert.equal(final.test.samples, 2);
  const model = join(out, 'model.safetensors');
  assert.ok(existsSync(model), 'train writes OUT/model.safetensors');

  // No --data: the training tree, and exactly the images its training held out — the same
  // measurement as the run's last validation.
  const held = runCli(['eval', '--model', model, '--json']);
  assert.equal(held.status, 0, held.stderr);
  const h = JSON.parse(held.stdout);
  assert.deepEqual(h.split, { kind: 'fraction', seed: 7, valFraction: 0.1 });
  assert.equal(h.samples, 2);
  assert.equal(h.top1, final.test.top1);
  assert.ok(
    Math.abs(h.loss - final.test.loss) < 1e-6,
    `eval loss ${h.loss}, training's ${final.test.loss}`,
  );
  // --data naming the same tree is the same held-out split, with ten views too.
  const ev10 = runCli(['eval', '--model', model, '--data', dir, '--views', '10', '--json']);
  assert.equal(ev10.status, 0, ev10.stderr);
  assert.equal(JSON.parse(ev10.stdout).samples, 2);

  // Another tree is a test set, whole: all 12 readable images of a copy at another path.
  const other = join(tempDir('alexnet-e2e-other-'), 'tree');
  cpSync(dir, other, { recursive: true, filter: (p) => !p.includes('.alexnet-cache') });
  const whole = runCli(['eval', '--model', model, '--data', other]);
  assert.equal(whole.status, 0, whole.stderr);
  assert.match(whole.stdout, /\(12 test images, center view\):/);
  const perClass = whole.stdout.match(/^(circle|square)\s+([\d.]+)\s+(\d+)$/gm) ?? [];
  assert.deepEqual(
    perClass.map((l) => l.split(/\s+/)[2]),
    ['6', '6'],
    'per-class counts of the whole tree',
  );

  // A tree with no images for the model: one line, exit 2, not "0 test images" and accuracy 0.
  const empty = join(tempDir('alexnet-e2e-empty-'), 'tree');
  mkdirSync(join(empty, 'circle'), { recursive: true });
  mkdirSync(join(empty, 'square'), { recursive: true });
  writeCorrupt(join(empty, 'square', 'x.jpg'));
  const none = runCli(['eval', '--model', model, '--data', empty]);
  assert.equal(none.status, 2, none.stderr);
  assert.equal(
    none.stderr
      .trim()
      .split('\n')
      .filter((l) => !/warning/.test(l)).length,
    1,
  );
  assert.match(none.stderr, /no images|no test images/);

  const pr = runCli([
    'predict',
    '--model',
    model,
    join(dir, 'circle', '1.png'),
    join(dir, 'square', '2.webp'),
    '--views',
    '10',
    '--top',
    '2',
    '--json',
  ]);
  assert.equal(pr.status, 0, pr.stderr);
  const preds = pr.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    preds.map((p) => p.image),
    [join(dir, 'circle', '1.png'), join(dir, 'square', '2.webp')],
  );
  for (const p of preds) {
    assert.deepEqual(p.top.map((t: { label: string }) => t.label).sort(), ['circle', 'square']);
    const [a, b] = p.top.map((t: { probability: number }) => t.probability);
    assert.ok(a >= b && Math.abs(a + b - 1) < 1e-5, `two classes' probabilities ${a}, ${b}`);
  }
  const bad = runCli([
    'predict',
    '--model',
    model,
    join(dir, 'square', 'truncated.jpg'),
    '--views',
    '10',
  ]);
  assert.equal(bad.status, 2, 'a corrupt image given to predict is a usage error');
  assert.match(bad.stderr, /truncated\.jpg/);
});
