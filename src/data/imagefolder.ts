// An ImageFolder tree as a Dataset (SPEC §3): DIR/train/<class>/… + DIR/val/<class>/…, or one tree
// DIR/<class>/… split by a seeded fraction. Class names are the sorted folder names. Images are
// prepared once (shorter side → 256, centre 256×256, see image-cache.ts) and cached; the training
// set's mean (per channel and per pixel) and RGB PCA are computed once and cached beside them.
// Batches are cut from the cache on worker threads: random S×S crop + mirror + PCA colour noise
// for training (paper §4.1), the centre crop otherwise, or the paper's ten views for evaluation.
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  statSync,
} from 'node:fs';
import { cpus } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { TORCHVISION_MEAN, TORCHVISION_STD, type Preprocess } from './presets.js';
import { writeFileAtomic } from '../util/atomic.js';
import { usage } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import {
  centerCrop,
  drawAlpha,
  drawCrop,
  type Normalize,
  packViews,
  type ViewParams,
} from './augment.js';
import type { Dataset, Split, SplitRecord } from './dataset.js';
import { buildCache, cacheDirFor, RECORD_BYTES, SIDE } from './image-cache.js';
import { PixelMoments, pcaLighting, pcaStatsSchema, readPca, type PcaStats } from './pca.js';
import { viewParams, type ViewMode } from './views.js';
import { LoaderPool } from './workers.js';

export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp']);

export type MeanMode = 'image' | 'channel' | 'torchvision';

export interface ImageFolderOptions {
  /** Network input side S: random S×S crops for training, centre S×S otherwise (224, or 227). */
  inputSize: number;
  /** For a single tree: the fraction of each class held out for validation (default 0.1; 1
   *  holds out everything: the whole tree is the test split, for evaluation). */
  valFraction?: number;
  /** Drives the train/val split of a single tree (default 0). */
  seed?: number;
  /** What is subtracted: the training set's mean image (paper), its per-channel mean (default),
   *  or torchvision's mean/std on [0, 1] pixels. */
  meanMode?: MeanMode;
  /** Evaluation: prepare batches with this normalisation (a model's) instead of the training
   *  set's; no training statistics are computed (`stats` then counts no images). */
  normalize?: Normalize;
  /** PCA statistics (a file written by `alexnet pca`, or the stats); default: computed and cached. */
  pca?: string | PcaStats;
  /** Loader threads (default 2; 0 or false runs the crops on the calling thread; true: 2). */
  workers?: number | boolean;
  /** PCA colour noise on training batches (default true, as the paper). */
  colorAugment?: boolean;
  /** Where the decoded images go (default DIR/.alexnet-cache, or ~/.cache/alexnet-ts/<hash>). */
  cacheDir?: string;
  /** Where warnings go: one line per skipped file (default: stderr). */
  warn?: (line: string) => void;
  /** Where progress lines go while a large folder is first cached (default: stderr). */
  log?: (line: string) => void;
  /** Called as files are decoded into the cache: (done, of the files to decode). */
  onCache?: (done: number, total: number) => void;
}

/** Training-set statistics, over every pixel of the cached 256×256 training images. */
export interface FolderStats {
  images: number;
  /** Per-channel mean in pixel units (0..255). */
  channelMean: number[];
  pca: PcaStats;
}

export interface ImageFolderDataset extends Dataset {
  readonly train: ImageFolderSplit;
  readonly test: ImageFolderSplit;
  readonly cacheDir: string;
  /** Files decoded by this open, and files whose cached result was reused. */
  readonly cache: { decoded: number; reused: number };
  readonly stats: FolderStats;
  /** The PCA used for colour noise (given, or `stats.pca`). */
  readonly pca: PcaStats;
  /** The exact normalisation of this dataset's batches (with the mean image in 'image' mode). */
  readonly normalize: Normalize;
}

interface Sample {
  rel: string; // path relative to the dataset root
  label: number;
}

export async function openImageFolder(
  dir: string,
  opts: ImageFolderOptions,
): Promise<ImageFolderDataset> {
  const S = opts.inputSize;
  if (!Number.isInteger(S) || S <= 0 || S > SIDE)
    usage(`input size ${S}: must be an integer in 1..${SIDE} for ImageFolder data`, 'inputSize');
  const valFraction = opts.valFraction ?? 0.1;
  if (!(valFraction >= 0 && valFraction <= 1))
    usage(`valFraction ${valFraction}: must be in [0, 1]`);
  const meanMode = opts.meanMode ?? 'channel';
  const warn = opts.warn ?? ((line: string) => process.stderr.write(line + '\n'));
  const root = resolve(dir);

  const { classNames, train, test, split } = scanFolder(root, dir, valFraction, opts.seed ?? 0);
  const cacheDir = opts.cacheDir ?? (await cacheDirFor(root));
  const all = [...train, ...test];
  const built = await buildCache(
    root,
    all.map((s) => s.rel),
    cacheDir,
    {
      concurrency: Math.max(4, cpus().length),
      log: opts.log ?? ((line) => process.stderr.write(`alexnet: ${line}\n`)),
      onProgress: opts.onCache,
    },
  );

  const skipped: { where: string; why: string }[] = [];
  const keep = (
    samples: Sample[],
    offset: number,
  ): { records: number[]; labels: number[]; paths: string[]; keys: string[] } => {
    const r = {
      records: [] as number[],
      labels: [] as number[],
      paths: [] as string[],
      keys: [] as string[],
    };
    samples.forEach((s, i) => {
      const res = built.results[offset + i];
      const where = join(root, s.rel);
      if ('error' in res) {
        skipped.push({ where, why: res.error });
        warn(`alexnet: warning: ${where}: skipped (${res.error})`);
        return;
      }
      r.records.push(res.record);
      r.labels.push(s.label);
      r.paths.push(where);
      r.keys.push(built.keys[offset + i]);
    });
    return r;
  };
  const tr = keep(train, 0);
  const te = keep(test, train.length);
  if (tr.records.length === 0 && (te.records.length === 0 || !opts.normalize))
    usage(`${dir}: no images found that could be read (${skipped.length} skipped)`);

  const fixed = opts.normalize;
  const { stats, meanPath } = fixed
    ? { stats: fixedStats(fixed), meanPath: '' }
    : await trainingStats(cacheDir, built.binPath, tr.records, tr.keys);
  const pca =
    opts.pca === undefined
      ? stats.pca
      : typeof opts.pca === 'string'
        ? readPca(opts.pca)
        : pcaStatsSchema.parse(opts.pca);

  let normalize: Normalize;
  let preprocess: Preprocess;
  if (fixed) {
    normalize = fixed;
    preprocess = {
      colorOrder: fixed.order ?? 'rgb',
      resize: SIDE,
      cropSize: S,
      pixelScale: fixed.scale,
      mean: [...fixed.mean],
      std: [...fixed.std],
      invert: false,
    };
  } else if (meanMode === 'torchvision') {
    normalize = { scale: 1 / 255, mean: TORCHVISION_MEAN, std: TORCHVISION_STD };
    // torchvision's mean and std, on this project's cached (bicubic) images: not the preset
    // of torchvision's own weights, whose photos are resized with PIL's filter.
    preprocess = {
      colorOrder: 'rgb',
      resize: SIDE,
      cropSize: S,
      resample: 'sharp-cubic',
      pixelScale: 1 / 255,
      mean: [...TORCHVISION_MEAN],
      std: [...TORCHVISION_STD],
      invert: false,
    };
  } else {
    // A checkpoint carries per-channel means only: in 'image' mode predict subtracts the mean
    // image's channel averages, which differ from the mean image by its spatial variation.
    normalize =
      meanMode === 'image'
        ? { scale: 1, mean: [0, 0, 0], std: [1, 1, 1], meanImage: readMeanImage(meanPath) }
        : { scale: 1, mean: stats.channelMean, std: [1, 1, 1] };
    preprocess = {
      colorOrder: 'rgb',
      resize: SIDE,
      cropSize: S,
      resample: 'sharp-cubic',
      pixelScale: 1,
      mean: stats.channelMean,
      std: [1, 1, 1],
      invert: false,
    };
  }

  const threads =
    opts.workers === undefined || opts.workers === true
      ? 2
      : opts.workers === false
        ? 0
        : opts.workers;
  const pool = new LoaderPool({ binPath: built.binPath, norm: normalize }, threads);
  const colorAugment = opts.colorAugment ?? true;
  const mk = (p: typeof tr): ImageFolderSplit =>
    new ImageFolderSplit(
      pool,
      built.binPath,
      S,
      Int32Array.from(p.records),
      Int32Array.from(p.labels),
      p.paths,
      colorAugment ? pca : null,
    );

  return {
    id: root,
    classNames,
    train: mk(tr),
    test: mk(te),
    split,
    preprocess,
    skipped,
    cacheDir,
    cache: { decoded: built.decoded, reused: built.reused },
    stats,
    pca,
    normalize,
    close: () => pool.close(),
  };
}

export class ImageFolderSplit implements Split {
  readonly size: number;
  readonly sampleShape: readonly [number, number, number];

  constructor(
    private readonly pool: LoaderPool,
    private readonly binPath: string,
    readonly inputSize: number,
    /** Cache record of each sample: [size]. */
    readonly records: Int32Array,
    readonly labels: Int32Array,
    /** Source file of each sample. */
    readonly paths: string[],
    /** Colour noise for augmented batches, or null for none. */
    private readonly pca: PcaStats | null,
  ) {
    this.size = records.length;
    this.sampleShape = [3, inputSize, inputSize];
  }

  /** The parameters fill() uses for a batch: per sample, in order, a crop corner, a mirror coin
   *  and three α's are drawn from Rng(seed) (the α's even without colour noise, so turning it off
   *  leaves the crops as they were). Without `augment`: the centre crop, nothing drawn. */
  drawViews(n: number, augment: boolean, seed: number): ViewParams[] {
    const S = this.inputSize;
    if (!augment)
      return Array.from({ length: n }, () => ({
        ...centerCrop(SIDE, S),
        shift: [0, 0, 0] as const,
      }));
    const rng = new Rng(seed);
    const out: ViewParams[] = [];
    for (let k = 0; k < n; k++) {
      const crop = drawCrop(rng, SIDE, S);
      const alpha = drawAlpha(rng, 0.1);
      out.push({ ...crop, shift: this.pca ? pcaLighting(this.pca, alpha) : [0, 0, 0] });
    }
    return out;
  }

  async fill(
    indices: Int32Array,
    x: Float32Array,
    augment: boolean,
    seed: number,
    first = 0,
  ): Promise<void> {
    const n = indices.length;
    const per = 3 * this.inputSize * this.inputSize;
    if (x.length < n * per)
      throw new RangeError(`fill: x holds ${x.length} floats, ${n} samples need ${n * per}`);
    const records = this.recordsOf(indices, 1);
    const views = packViews(this.drawViews(first + n, augment, seed).slice(first));
    await this.pool.run(
      records,
      views,
      this.inputSize,
      x.length === n * per ? x : x.subarray(0, n * per),
    );
  }

  /** Test-time views (paper §4.1) of the samples at `indices`: x: [n, V, 3, S, S] with V = 1
   *  ('center') or 10 (in tenCropParams order), normalised exactly like fill's batches. */
  async fillViews(indices: Int32Array, x: Float32Array, mode: ViewMode): Promise<void> {
    const params = viewParams(mode, SIDE, this.inputSize);
    const V = params.length;
    const n = indices.length;
    const per = 3 * this.inputSize * this.inputSize;
    if (x.length < n * V * per)
      throw new RangeError(
        `fillViews: x holds ${x.length} floats, ${n}×${V} views need ${n * V * per}`,
      );
    const records = this.recordsOf(indices, V);
    const views: ViewParams[] = [];
    for (let k = 0; k < n; k++) for (const p of params) views.push({ ...p, shift: [0, 0, 0] });
    await this.pool.run(
      records,
      packViews(views),
      this.inputSize,
      x.length === n * V * per ? x : x.subarray(0, n * V * per),
    );
  }

  /** The prepared [256, 256, 3] RGB image of sample i, from the cache. */
  image256(i: number): Uint8Array {
    if (!(i >= 0 && i < this.size))
      throw new RangeError(`sample ${i} out of range [0, ${this.size})`);
    const out = new Uint8Array(RECORD_BYTES);
    const fd = openSync(this.binPath, 'r');
    try {
      readSync(fd, out, 0, RECORD_BYTES, this.records[i] * RECORD_BYTES);
    } finally {
      closeSync(fd);
    }
    return out;
  }

  private recordsOf(indices: Int32Array, repeat: number): Int32Array {
    const r = new Int32Array(indices.length * repeat);
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k];
      if (!(i >= 0 && i < this.size))
        throw new RangeError(`sample ${i} out of range [0, ${this.size})`);
      r.fill(this.records[i], k * repeat, (k + 1) * repeat);
    }
    return r;
  }
}

// ---- the tree ------------------------------------------------------------------------------

function scanFolder(
  root: string,
  shown: string,
  valFraction: number,
  seed: number,
): { classNames: string[]; train: Sample[]; test: Sample[]; split: SplitRecord } {
  const fraction: SplitRecord = { kind: 'fraction', seed, valFraction };
  if (!isDir(root)) usage(`${shown}: no such directory`);
  const noImages = (): never =>
    usage(
      `${shown}: no images found (expected ${shown}/<class>/<image>.jpg|png|webp, or ${shown}/train/<class>/… and ${shown}/val/<class>/…)`,
    );
  const trainDir = join(root, 'train');
  const valDir = ['val', 'validation', 'test'].map((d) => join(root, d)).find(isDir);
  if (isDir(trainDir) && subdirs(trainDir).length > 0) {
    const classNames = subdirs(trainDir);
    const train = classNames.flatMap((c, label) =>
      listImages(root, join('train', c)).map((rel) => ({ rel, label })),
    );
    if (train.length === 0) noImages();
    if (!valDir)
      return {
        classNames,
        ...splitSamples(train, classNames.length, valFraction, seed),
        split: fraction,
      };
    const valName = valDir.slice(root.length + 1);
    const test: Sample[] = [];
    for (const c of subdirs(valDir)) {
      const label = classNames.indexOf(c);
      const files = listImages(root, join(valName, c));
      if (label < 0 && files.length > 0)
        usage(`${join(shown, valName, c)}: class '${c}' is not among the training classes`);
      for (const rel of files) test.push({ rel, label });
    }
    return { classNames, train, test, split: { kind: 'folders', val: valName } };
  }
  const classNames = subdirs(root).filter((c) => listImages(root, c).length > 0);
  if (classNames.length === 0) noImages();
  const samples = classNames.flatMap((c, label) =>
    listImages(root, c).map((rel) => ({ rel, label })),
  );
  return {
    classNames,
    ...splitSamples(samples, classNames.length, valFraction, seed),
    split: fraction,
  };
}

/** Holds out round(valFraction·n) of each class, chosen by a seeded shuffle. */
function splitSamples(
  samples: Sample[],
  classes: number,
  valFraction: number,
  seed: number,
): { train: Sample[]; test: Sample[] } {
  const rng = new Rng((seed ^ 0x5eed5) >>> 0);
  const train: Sample[] = [];
  const test: Sample[] = [];
  for (let c = 0; c < classes; c++) {
    const of = samples.filter((s) => s.label === c);
    const order = Int32Array.from(of.keys());
    rng.shuffle(order);
    const nVal = Math.round(valFraction * of.length);
    const isVal = new Uint8Array(of.length);
    for (let k = 0; k < nVal; k++) isVal[order[k]] = 1;
    of.forEach((s, k) => (isVal[k] ? test : train).push(s));
  }
  return { train, test };
}

/** Image files under root/rel, recursively, sorted; hidden entries skipped. */
function listImages(root: string, rel: string): string[] {
  const out: string[] = [];
  const walk = (r: string): void => {
    const entries = readdirSync(join(root, r), { withFileTypes: true })
      .filter((e) => !e.name.startsWith('.'))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = join(r, e.name);
      if (e.isDirectory() || (e.isSymbolicLink() && isDir(join(root, p)))) walk(p);
      else if (IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase())) out.push(p);
    }
  };
  walk(rel);
  return out;
}

function subdirs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter(
      (e) =>
        !e.name.startsWith('.') &&
        (e.isDirectory() || (e.isSymbolicLink() && isDir(join(dir, e.name)))),
    )
    .map((e) => e.name)
    .sort();
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

// ---- training-set statistics ----------------------------------------------------------------

/** Mean image, per-channel mean and RGB PCA over the training records, computed once per set of
 *  training files (keyed by their paths, sizes and mtimes) and cached as stats-<key>.json and
 *  mean-<key>.bin (float32 [256, 256, 3]). */
/** What an evaluation-only open reports as its statistics: none taken, the given means. */
function fixedStats(norm: Normalize): FolderStats {
  return {
    images: 0,
    channelMean: norm.mean.map((m) => m / norm.scale),
    pca: {
      eigenvalues: [0, 0, 0],
      eigenvectors: [
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 1],
      ],
    },
  };
}

async function trainingStats(
  cacheDir: string,
  binPath: string,
  records: number[],
  keys: string[],
): Promise<{ stats: FolderStats; meanPath: string }> {
  const key = createHash('sha256').update(keys.join('\n')).digest('hex').slice(0, 16);
  const jsonPath = join(cacheDir, `stats-${key}.json`);
  const meanPath = join(cacheDir, `mean-${key}.bin`);
  if (existsSync(jsonPath) && existsSync(meanPath)) {
    try {
      const s = JSON.parse(readFileSync(jsonPath, 'utf8')) as FolderStats;
      if (s.images === records.length)
        return { stats: { images: s.images, channelMean: s.channelMean, pca: s.pca }, meanPath };
    } catch {
      /* recompute */
    }
  }
  const moments = new PixelMoments();
  const sum = new Float64Array(RECORD_BYTES);
  const img = new Uint8Array(RECORD_BYTES);
  const fd = openSync(binPath, 'r');
  try {
    const order = [...records].sort((a, b) => a - b); // sequential reads
    for (let k = 0; k < order.length; k++) {
      readSync(fd, img, 0, RECORD_BYTES, order[k] * RECORD_BYTES);
      moments.add(img);
      for (let i = 0; i < RECORD_BYTES; i++) sum[i] += img[i];
      if ((k & 255) === 255) await new Promise((r) => setImmediate(r)); // stay responsive on big sets
    }
  } finally {
    closeSync(fd);
  }
  const mean = new Float32Array(RECORD_BYTES);
  for (let i = 0; i < RECORD_BYTES; i++) mean[i] = sum[i] / records.length;
  const stats: FolderStats = {
    images: records.length,
    channelMean: moments.mean(),
    pca: moments.pca(),
  };
  writeFileAtomic(meanPath, new Uint8Array(mean.buffer));
  writeFileAtomic(
    jsonPath,
    new TextEncoder().encode(JSON.stringify({ ...stats, key }, null, 2) + '\n'),
  );
  return { stats, meanPath };
}

function readMeanImage(path: string): Float32Array {
  const buf = readFileSync(path);
  if (buf.length !== RECORD_BYTES * 4)
    throw new Error(`${path}: mean image damaged (delete it to recompute)`);
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
}
