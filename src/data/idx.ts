// Fashion-MNIST (or MNIST) IDX files from a directory: train-images-idx3-ubyte, train-labels-
// idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each optionally .gz (node:zlib).
// IDX: big-endian magic 0x0000080D (D = number of dimensions, type 0x08 = unsigned byte),
// D u32 sizes, then the bytes.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { usage } from '../util/errors.js';
import { ByteDataset, FASHION_CLASSES, type ByteDatasetOptions } from './byte-dataset.js';
import type { ByteImages } from './byte-images.js';

const FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** The path of an IDX file in dir (plain or .gz), or null. */
function findIdx(dir: string, base: string): string | null {
  for (const name of [base, `${base}.gz`, base.replace(/-idx/, '.idx')]) {
    if (existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

/** Whether dir holds the four IDX files. */
export function isIdxDir(dir: string): boolean {
  return Object.values(FILES).every((f) => findIdx(dir, f) !== null);
}

export function readIdx(path: string): { dims: number[]; data: Uint8Array } {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
    if (buf[0] === 0x1f && buf[1] === 0x8b) buf = gunzipSync(buf);
  } catch (e) {
    return usage(
      `${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0 || buf[2] !== 0x08)
    usage(`${path}: not an unsigned-byte IDX file (bad magic)`);
  const nd = buf[3];
  if (buf.length < 4 + 4 * nd) usage(`${path}: IDX header is truncated`);
  const dims: number[] = [];
  for (let i = 0; i < nd; i++) dims.push(buf.readUInt32BE(4 + 4 * i));
  const count = dims.reduce((a, d) => a * d, 1);
  const off = 4 + 4 * nd;
  if (buf.length - off !== count)
    usage(`${path}: IDX data has ${buf.length - off} bytes, its header says ${count}`);
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + off, count) };
}

function readPair(dir: string, images: string, labels: string): ByteImages {
  const ip = findIdx(dir, images)!;
  const lp = findIdx(dir, labels)!;
  const im = readIdx(ip);
  const lb = readIdx(lp);
  if (im.dims.length !== 3 || im.dims[1] !== im.dims[2])
    usage(`${ip}: expected [N, S, S] square images, got [${im.dims.join(', ')}]`);
  if (lb.dims.length !== 1 || lb.dims[0] !== im.dims[0])
    usage(`${lp}: ${lb.dims[0]} labels for ${im.dims[0]} images`);
  return { images: im.data, labels: Int32Array.from(lb.data), side: im.dims[1] };
}

export function openIdx(dir: string, opts: ByteDatasetOptions): ByteDataset {
  if (!isIdxDir(dir)) {
    usage(`--data ${dir}: expected ${Object.values(FILES).join(', ')} (optionally .gz)`);
  }
  const train = readPair(dir, FILES.trainImages, FILES.trainLabels);
  const test = readPair(dir, FILES.testImages, FILES.testLabels);
  if (train.side !== test.side)
    usage(
      `--data ${dir}: train images are ${train.side}×${train.side}, test ${test.side}×${test.side}`,
    );
  let classes = 0;
  for (const l of train.labels) classes = Math.max(classes, l + 1);
  const names =
    classes === FASHION_CLASSES.length
      ? [...FASHION_CLASSES]
      : Array.from({ length: classes }, (_, i) => String(i));
  return new ByteDataset(dir, names, train, test, [], opts);
}
