// Synthetic ImageFolder trees for the data tests: images whose pixels are known, written with sharp.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import sharp from 'sharp';

export function tempDir(prefix = 'alexnet-data-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** [H, W, 3] uint8 with a pattern that tells every pixel apart from its neighbours. */
export function patternImage(w: number, h: number, seed = 0): Uint8Array {
  const a = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++)
        a[(y * w + x) * 3 + c] = (x * 7 + y * 13 + c * 101 + seed * 31) & 255;
    }
  }
  return a;
}

/** [H, W, 3] uint8 of one colour. */
export function solidImage(w: number, h: number, rgb: [number, number, number]): Uint8Array {
  const a = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) a.set(rgb, i * 3);
  return a;
}

export async function writeImage(
  path: string,
  pixels: Uint8Array,
  w: number,
  h: number,
): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  const img = sharp(Buffer.from(pixels), { raw: { width: w, height: h, channels: 3 } });
  const ext = path.slice(path.lastIndexOf('.') + 1).toLowerCase();
  const buf =
    ext === 'png'
      ? await img.png().toBuffer()
      : ext === 'webp'
        ? await img.webp({ lossless: true }).toBuffer()
        : await img.jpeg({ quality: 90 }).toBuffer();
  writeFileSync(path, buf);
}

/** A file with an image's name and garbage inside. */
export function writeCorrupt(path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(
    path,
    Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('not really a jpeg')]),
  );
}
