import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

// IDX files (the MNIST/Fashion-MNIST format) for tests: a big-endian header — two zero bytes, the
// type 0x08 (unsigned bytes), the number of dimensions, each dimension as uint32 — then the bytes.
export function encodeIdx(dims: number[], data: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = 0x08;
  head[3] = dims.length;
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, data]);
}

/** Writes a Fashion-MNIST-shaped IDX directory (train .gz, test raw) of `n` training images. */
export function writeIdxDir(idxDir: string, n: number): void {
  mkdirSync(idxDir);
  const images = new Uint8Array(n * 784).map((_, i) => (i * 7) % 256);
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
  writeFileSync(
    join(idxDir, 'train-images-idx3-ubyte.gz'),
    gzipSync(encodeIdx([n, 28, 28], images)),
  );
  writeFileSync(join(idxDir, 'train-labels-idx1-ubyte.gz'), gzipSync(encodeIdx([n], labels)));
  writeFileSync(
    join(idxDir, 't10k-images-idx3-ubyte'),
    encodeIdx([10, 28, 28], images.subarray(0, 7840)),
  );
  writeFileSync(join(idxDir, 't10k-labels-idx1-ubyte'), encodeIdx([10], labels.subarray(0, 10)));
}
