// Fashion-MNIST (or MNIST) IDX files from a directory: train-images-idx3-ubyte, train-labels-
// idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each optionally .gz (inflated
// within the size its IDX header declares).
// IDX: big-endian magic 0x0000080D (D = number of dimensions, type 0x08 = unsigned byte),
// D u32 sizes, then the bytes.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Gunzip } from 'fflate';
import { usage } from '../util/errors.js';
import { formatBytes, readInputFile } from '../util/input-file.js';
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

/** The most bytes an IDX file may hold: 256 MiB (Fashion-MNIST's training images are 47 MB). */
export const MAX_IDX_BYTES = 2 ** 28;

export function readIdx(path: string): { dims: number[]; data: Uint8Array } {
  let buf = readInputFile(path, MAX_IDX_BYTES + 1024);
  if (buf[0] === 0x1f && buf[1] === 0x8b) buf = gunzipIdx(buf, path);
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0 || buf[2] !== 0x08)
    usage(`${path}: not an unsigned-byte IDX file (bad magic)`);
  const nd = buf[3];
  if (buf.length < 4 + 4 * nd) usage(`${path}: IDX header is truncated`);
  const dims = idxDims(buf, path)!;
  const count = dims.reduce((a, d) => a * d, 1);
  const off = 4 + 4 * nd;
  if (buf.length - off !== count)
    usage(`${path}: IDX data has ${buf.length - off} bytes, its header says ${count}`);
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + off, count) };
}

/** The header's sizes once all of it is in `buf` (else null); refuses a size over the bound. */
function idxDims(buf: Uint8Array, path: string): number[] | null {
  if (buf.length < 4 || buf.length < 4 + 4 * buf[3]) return null;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < buf[3]; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, d) => a * d, 1);
  if (count > MAX_IDX_BYTES)
    usage(
      `${path}: IDX header declares ${count} bytes of data, over the ${formatBytes(MAX_IDX_BYTES)} bound`,
    );
  return dims;
}

/** Inflates a .gz IDX file within what its IDX header declares (a gzip bomb inflates to
 *  gigabytes of zeros from a few kilobytes): fflate inflates just far enough to read the header,
 *  then node:zlib inflates the whole with that bound, checking the gzip CRC on the way. */
function gunzipIdx(gz: Uint8Array, path: string): Buffer {
  const chunks: Uint8Array[] = [];
  let total = 0;
  let dims: number[] | null = null;
  const peek = new Gunzip((chunk) => {
    chunks.push(chunk);
    total += chunk.length;
  });
  const STEP = 4096; // ≤ 4 MB of output per step at deflate's largest ratio
  try {
    for (let off = 0; off < gz.length && !dims; off += STEP) {
      peek.push(gz.subarray(off, off + STEP), off + STEP >= gz.length);
      if (total >= 4) dims = idxDims(Buffer.concat(chunks), path);
    }
    if (!dims) return Buffer.concat(chunks); // too short for a header: readIdx says so
    const limit = 4 + 4 * dims.length + dims.reduce((a, d) => a * d, 1);
    return gunzipSync(gz, { maxOutputLength: limit });
  } catch (e) {
    if ((e as Error).name === 'UsageError') throw e;
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
      usage(`${path}: inflates to more than the bytes its IDX header declares (a gzip bomb?)`);
    return usage(`${path}: not a readable gzip file (${(e as Error).message})`);
  }
}

function readPair(dir: string, images: string, labels: string): ByteImages {
  const ip = findIdx(dir, images)!;
  const lp = findIdx(dir, labels)!;
  const im = readIdx(ip);
  const lb = readIdx(lp);
  if (im.dims.length !== 3 || im.dims[1] !== im.dims[2])
    usage(`${ip}: expected [N, S, S] square images, got [${im.dims.join(', ')}]`);
  if (im.dims[1] === 0) usage(`${ip}: the images are 0×0`);
  if (im.dims[0] === 0) usage(`${ip}: holds no images`);
  if (lb.dims.length !== 1 || lb.dims[0] !== im.dims[0])
    usage(`${lp}: ${lb.dims[0]} labels for ${im.dims[0]} images`);
  // IDX declares no class count; Fashion-MNIST (and MNIST) have 10. A stray 255 would otherwise
  // make a 256-class model without a word.
  const bad = lb.data.findIndex((l) => l >= FASHION_CLASSES.length);
  if (bad >= 0)
    usage(
      `${lp}: label ${lb.data[bad]} at index ${bad} is outside the dataset's ${FASHION_CLASSES.length} classes (0–${FASHION_CLASSES.length - 1})`,
    );
  return { images: im.data, labels: Int32Array.from(lb.data), side: im.dims[1] };
}

export function openIdx(dir: string, opts: ByteDatasetOptions): ByteDataset {
  if (!isIdxDir(dir)) {
    usage(`${dir}: expected ${Object.values(FILES).join(', ')} (optionally .gz)`, 'data');
  }
  const train = readPair(dir, FILES.trainImages, FILES.trainLabels);
  const test = readPair(dir, FILES.testImages, FILES.testLabels);
  if (train.side !== test.side)
    usage(
      `${dir}: train images are ${train.side}×${train.side}, test ${test.side}×${test.side}`,
      'data',
    );
  return new ByteDataset(dir, [...FASHION_CLASSES], train, test, [], opts);
}
