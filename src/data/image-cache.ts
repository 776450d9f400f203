// ImageNet-style preprocessing (paper §2: "rescaled the image such that the shorter side was of
// length 256, and then cropped out the central 256×256 patch") and its on-disk cache, so that
// epochs read 196,608-byte records instead of decoding full-size JPEGs again.
//
// The cache is a directory holding
//   images.bin  — records of [256, 256, 3] uint8 RGB, appended; record k at byte k·RECORD_BYTES;
//   index.json  — per source file (path relative to the dataset root): size, mtime, and its record
//                 or why it could not be decoded.
// A file whose size or mtime changed is decoded again into a new record (the old one is left as
// dead space); a crash mid-build loses at most the records appended since the last index write.
import { createHash } from 'node:crypto';
import { constants, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { access, open, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';

export const SIDE = 256;
export const RECORD_BYTES = SIDE * SIDE * 3;
const INDEX_VERSION = 1;

/** Decodes an image file (JPEG, PNG, WebP, …) to [256, 256, 3] uint8 RGB: EXIF orientation
 *  applied, shorter side resized to 256 (bicubic), centre 256×256 cut at ⌊(side − 256)/2⌋. */
export async function decode256(input: string | Buffer, side = SIDE): Promise<Uint8Array> {
  // Loaded on first use so that loader threads, which only read records, never load libvips.
  const { openImage, imageFromBytes, checkResize, decoder } = await import('./image-file.js');
  const img =
    typeof input === 'string'
      ? await openImage(input)
      : await imageFromBytes(input, 'image buffer');
  let w = img.orientedWidth;
  let h = img.orientedHeight;
  checkResize(img, w, h, side);
  const scale = side / Math.min(w, h);
  const rw = Math.max(side, Math.round(w * scale));
  const rh = Math.max(side, Math.round(h * scale));
  const { data, info } = await decoder(img, { failOn: 'warning' })
    .autoOrient()
    .resize(rw, rh, { fit: 'fill', kernel: 'cubic' })
    .extract({
      left: Math.floor((rw - side) / 2),
      top: Math.floor((rh - side) / 2),
      width: side,
      height: side,
    })
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  w = info.width;
  h = info.height;
  if (w !== side || h !== side) throw new Error(`decoded to ${w}×${h}, expected ${side}×${side}`);
  if (info.channels === 3) return new Uint8Array(data.buffer, data.byteOffset, data.length);
  // Grey images come back with one channel even after toColourspace on some inputs.
  const out = new Uint8Array(side * side * 3);
  const ch = info.channels;
  for (let i = 0; i < side * side; i++) {
    const g = data[i * ch];
    out[i * 3] = ch >= 3 ? data[i * ch] : g;
    out[i * 3 + 1] = ch >= 3 ? data[i * ch + 1] : g;
    out[i * 3 + 2] = ch >= 3 ? data[i * ch + 2] : g;
  }
  return out;
}

interface IndexEntry {
  size: number;
  mtimeMs: number;
  record?: number;
  error?: string;
}

interface CacheIndex {
  version: number;
  recordBytes: number;
  entries: Record<string, IndexEntry>;
}

/** Where a dataset's cache lives: DIR/.alexnet-cache when DIR is writable, else
 *  ~/.cache/alexnet-ts/<hash of DIR's absolute path>. */
export async function cacheDirFor(root: string): Promise<string> {
  const local = join(root, '.alexnet-cache');
  try {
    mkdirSync(local, { recursive: true });
    await access(local, constants.W_OK);
    return local;
  } catch {
    const hash = createHash('sha256').update(resolve(root)).digest('hex').slice(0, 16);
    const dir = join(homedir(), '.cache', 'alexnet-ts', hash);
    mkdirSync(dir, { recursive: true });
    return dir;
  }
}

/** The cached result for one source file: a record number, or why it was skipped. */
export type CacheResult = { record: number } | { error: string };

export interface CacheBuild {
  /** images.bin: what the loader reads records from. */
  binPath: string;
  /** One result per requested file, in the order given. */
  results: CacheResult[];
  /** Files decoded now, and files whose cached record (or cached failure) was reused. */
  decoded: number;
  reused: number;
  /** Identity of each file's cached content (path, size, mtime), for keying derived statistics. */
  keys: string[];
}

/** Brings the cache in `cacheDir` up to date for `files` (paths relative to `root`) and returns
 *  each file's record. Decoding runs `concurrency` sharp pipelines at a time (libuv threads). */
export async function buildCache(
  root: string,
  files: readonly string[],
  cacheDir: string,
  opts: {
    concurrency?: number;
    log?: (line: string) => void;
    /** Called after each file decoded: (done, of the files to decode). */
    onProgress?: (done: number, total: number) => void;
  } = {},
): Promise<CacheBuild> {
  const indexPath = join(cacheDir, 'index.json');
  const binPath = join(cacheDir, 'images.bin');
  let index = readIndex(indexPath);
  const fh = await open(binPath, index && existsSync(binPath) ? 'r+' : 'w+');
  try {
    if (!index) index = { version: INDEX_VERSION, recordBytes: RECORD_BYTES, entries: {} };
    let next = Math.floor((await fh.stat()).size / RECORD_BYTES);
    const stats = await mapLimit(files, 64, (f) =>
      stat(join(root, f)).then(
        (s) => s,
        (e: Error) => e,
      ),
    );
    const results: CacheResult[] = new Array(files.length);
    const keys: string[] = new Array(files.length);
    const todo: number[] = [];
    let reused = 0;
    files.forEach((f, i) => {
      const s = stats[i];
      if (s instanceof Error) {
        results[i] = { error: `cannot read: ${(s as NodeJS.ErrnoException).code ?? s.message}` };
        keys[i] = `${f}\0missing`;
        return;
      }
      keys[i] = `${f}\0${s.size}\0${s.mtimeMs}`;
      const e = index!.entries[f];
      if (
        e &&
        e.size === s.size &&
        e.mtimeMs === s.mtimeMs &&
        (e.error !== undefined || (e.record ?? Infinity) < next)
      ) {
        results[i] = e.error !== undefined ? { error: e.error } : { record: e.record! };
        reused++;
      } else {
        todo.push(i);
      }
    });
    const log = opts.log;
    if (todo.length >= 200 && log)
      log(
        `caching ${todo.length} images of ${root} (shorter side → 256, centre 256×256) in ${cacheDir}`,
      );
    let done = 0;
    let sinceSave = 0;
    await mapLimit(todo, opts.concurrency ?? 8, async (i) => {
      const f = files[i];
      const s = stats[i] as Awaited<ReturnType<typeof stat>>;
      let entry: IndexEntry;
      try {
        const pixels = await decode256(join(root, f));
        const record = next++;
        await fh.write(pixels, 0, RECORD_BYTES, record * RECORD_BYTES);
        entry = { size: Number(s.size), mtimeMs: Number(s.mtimeMs), record };
        results[i] = { record };
      } catch (e) {
        const why = (e as Error).message.split('\n')[0];
        entry = { size: Number(s.size), mtimeMs: Number(s.mtimeMs), error: why };
        results[i] = { error: why };
      }
      index!.entries[f] = entry;
      done++;
      opts.onProgress?.(done, todo.length);
      if (++sinceSave >= 2000) {
        // an interrupted build of a large set keeps what it has done
        sinceSave = 0;
        await fh.sync();
        writeIndex(indexPath, index!);
        if (log) log(`cached ${done}/${todo.length} images`);
      }
    });
    if (todo.length > 0) {
      await fh.sync();
      writeIndex(indexPath, index);
    }
    return { binPath, results, decoded: todo.length, reused, keys };
  } finally {
    await fh.close();
  }
}

function readIndex(path: string): CacheIndex | null {
  try {
    const j = JSON.parse(readFileSync(path, 'utf8')) as CacheIndex;
    if (
      j.version !== INDEX_VERSION ||
      j.recordBytes !== RECORD_BYTES ||
      typeof j.entries !== 'object'
    )
      return null;
    return j;
  } catch {
    return null;
  }
}

function writeIndex(path: string, index: CacheIndex): void {
  writeFileAtomic(path, new TextEncoder().encode(JSON.stringify(index)));
}

/** Runs f over items with at most `limit` in flight; results in input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  f: (x: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const run = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
  return out;
}
