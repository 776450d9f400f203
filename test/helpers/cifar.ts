// CIFAR-10 binary files for tests: records of a label byte and the 32×32 R, G, B planes. Class c's
// images are tinted (red for 0, green for 1, …) with a bright row at 3c, so they are learnable.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../src/util/rng.js';

export function cifarRecords(n: number, seed: number, classes = 10): Buffer {
  const rng = new Rng(seed);
  const b = Buffer.alloc(n * 3073);
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    const off = i * 3073;
    b[off] = c;
    for (let ch = 0; ch < 3; ch++)
      for (let p = 0; p < 1024; p++) {
        const row = Math.floor(p / 32);
        const tint = ch === c % 3 ? 90 : 20;
        b[off + 1 + ch * 1024 + p] = row === 3 * c ? 250 : tint + rng.int(40);
      }
  }
  return b;
}

/** A CIFAR-10 directory: data_batch_1..files.bin of `perFile` records each, test_batch.bin. */
export function writeCifarDir(dir: string, perFile: number, test: number, files = 2): string {
  mkdirSync(dir, { recursive: true });
  for (let f = 1; f <= files; f++)
    writeFileSync(join(dir, `data_batch_${f}.bin`), cifarRecords(perFile, f));
  writeFileSync(join(dir, 'test_batch.bin'), cifarRecords(test, 99));
  return dir;
}
