// Does the ImageFolder loader keep the backend fed? (never part of `npm test`)
// Trains alexnet2012 for two epochs on a generated folder of ImageNet-sized JPEGs through the real
// `alexnet train --data DIR` (crops, flips and PCA colour noise on worker threads, overlapped with
// compute) and compares the second epoch's images/s — wall time, waits for data included — with
// `alexnet bench --mode train` on tensors already in memory, in the same run.
//   node dist/bench/folder-vs-memory.js [--images N] [--batch B] [--threads T]
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { patternImage, tempDir, writeImage } from '../test/data/imagefolder-fixtures.js';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const N = arg('images', 320);
const B = arg('batch', 32);
const T = arg('threads', 2);
const alexnet = (args: string[]): string =>
  execFileSync(process.execPath, [join(root, 'bin', 'alexnet.js'), ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });

const dir = tempDir('alexnet-folder-bench-');
try {
  for (let i = 0; i < N; i++)
    await writeImage(join(dir, `class${i % 8}`, `${i}.jpg`), patternImage(500, 375, i), 500, 375);
  const epochs = alexnet([
    'train',
    '--data',
    dir,
    '--arch',
    'alexnet2012',
    '--epochs',
    '2',
    '--batch',
    String(B),
    '--threads',
    String(T),
    '--json',
    '--out',
    join(dir, 'run'),
    '--max-seconds',
    '0',
  ])
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((j) => j.event === 'epoch');
  const folder = epochs[epochs.length - 1].imagesPerSecond as number;
  const memory = JSON.parse(
    alexnet([
      'bench',
      '--arch',
      'alexnet2012',
      '--mode',
      'train',
      '--batch',
      String(B),
      '--threads',
      String(T),
      '--iterations',
      '5',
      '--json',
    ]),
  ).imagesPerSecond as number;
  process.stdout.write(
    `alexnet2012 training, batch ${B}, ${T} threads: from a folder of ${N} JPEGs (500×375) ${folder.toFixed(1)} images/s, ` +
      `from tensors in memory ${memory.toFixed(1)} images/s: folder/memory = ${(folder / memory).toFixed(3)}\n`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
