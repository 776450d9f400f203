// The ImageFolder loader alone (never part of `npm test`): images/s of
//   1. the one-time decode into the 256×256 cache (sharp: JPEG decode, resize, centre crop), and
//   2. training batches from the cache on 2 worker threads (random crop, mirror, PCA colour noise,
//      mean subtraction) — what every epoch costs —
// on a generated folder of ImageNet-sized JPEGs (500×375, the commonest ImageNet shape).
//   node dist/bench/loader.js [--images N] [--batch B] [--workers W] [--input-size S]
import { rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { openImageFolder } from '../src/data/imagefolder.js';
import { mapLimit } from '../src/data/image-cache.js';
import { Rng } from '../src/util/rng.js';
import { tempDir, writeImage } from '../test/data/imagefolder-fixtures.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

const N = arg('images', 512);
const B = arg('batch', 128);
const W = arg('workers', 2);
const S = arg('input-size', 224);
const CLASSES = 8;

const dir = tempDir('alexnet-loader-bench-');
try {
  const rng = new Rng(1);
  const w = 500,
    h = 375;
  await mapLimit(
    Array.from({ length: N }, (_, i) => i),
    16,
    async (i) => {
      // Smooth gradients plus noise: JPEG-compresses like a photo rather than like a flat colour.
      const px = new Uint8Array(w * h * 3);
      const r0 = rng.int(256),
        g0 = rng.int(256),
        b0 = rng.int(256);
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          const o = (y * w + x) * 3;
          const n = (x * 31 + y * 17 + i) % 23;
          px[o] = (r0 + x / 2 + n) & 255;
          px[o + 1] = (g0 + y / 2 + n) & 255;
          px[o + 2] = (b0 + (x + y) / 4) & 255;
        }
      await writeImage(join(dir, `class${i % CLASSES}`, `${i}.jpg`), px, w, h);
    },
  );

  let t = performance.now();
  const ds = await openImageFolder(dir, { inputSize: S, seed: 0, valFraction: 0, workers: W });
  const openSec = (performance.now() - t) / 1000;
  try {
    const per = 3 * S * S;
    const x = new Float32Array(B * per);
    const order = Int32Array.from({ length: ds.train.size }, (_, i) => i);
    const batch = (k: number): Int32Array => {
      const idx = new Int32Array(B);
      for (let j = 0; j < B; j++) idx[j] = order[(k * B + j) % order.length];
      return idx;
    };
    await ds.train.fill(batch(0), x, true, 0); // warm the threads and the page cache
    const batches = Math.max(8, Math.ceil((3 * N) / B));
    t = performance.now();
    for (let k = 0; k < batches; k++) await ds.train.fill(batch(k), x, true, k);
    const augSec = (performance.now() - t) / 1000;

    const inline = await openImageFolder(dir, {
      inputSize: S,
      seed: 0,
      valFraction: 0,
      workers: 0,
    });
    t = performance.now();
    for (let k = 0; k < batches; k++) await inline.train.fill(batch(k), x, true, k);
    const inlineSec = (performance.now() - t) / 1000;
    await inline.close();

    const f = (v: number): string => v.toFixed(0).padStart(7);
    process.stdout.write(
      `loader bench: ${N} JPEGs ${w}×${h}, ${CLASSES} classes, input ${S}, batch ${B}, ${cpus().length} cores\n` +
        `  decode → 256×256 cache (once; sharp, ${Math.max(4, cpus().length)} in flight, incl. mean/PCA pass): ${f(N / openSec)} images/s\n` +
        `  augmented batches from the cache, ${W} worker threads:                      ${f((batches * B) / augSec)} images/s\n` +
        `  augmented batches from the cache, on the main thread:                    ${f((batches * B) / inlineSec)} images/s\n` +
        `  (decode + augment, end to end for one epoch of a fresh folder: ${f(N / (openSec + N / ((batches * B) / augSec)))} images/s)\n`,
    );
  } finally {
    await ds.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
