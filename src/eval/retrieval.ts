// Feature extraction and nearest-neighbour retrieval (paper §6.1, Figure 4): images whose
// last-hidden-layer (fc7, 4096-d) activations are close in Euclidean distance are semantically
// similar, even when their pixels are not.
// Letters: N images, D feature size, M index size.
import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { imageToInput } from '../data/image.js';
import { defaultPreprocess, type Preprocess } from '../data/presets.js';
import type { ModelMeta } from '../models/config.js';
import { hostTensor } from '../backend/backend.js';
import type { Net } from '../nn/net.js';
import { Tensor } from '../tensor/tensor.js';
import { usage, UsageError } from '../util/errors.js';

export const IMAGE_EXTENSIONS = new Set([
  '.jpg',
  '.jpeg',
  '.png',
  '.webp',
  '.gif',
  '.tif',
  '.tiff',
  '.avif',
  '.bmp',
]);

/** The model's preprocessing, or the conventional default for its channel count. */
export function preprocessOf(meta: ModelMeta): Preprocess {
  return meta.preprocess ?? defaultPreprocess(meta.config.channels, meta.config.inputSize);
}

/** Every image file under dir (recursively), sorted, so results do not depend on readdir order. */
export function listImages(dir: string): string[] {
  let st;
  try {
    st = statSync(dir);
  } catch {
    return usage(`${dir}: no such directory`, 'index');
  }
  if (!st.isDirectory()) usage(`${dir}: not a directory`, 'index');
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    )) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase())) out.push(p);
    }
  };
  walk(dir);
  return out;
}

export interface FeatureResult {
  /** x: [N, …] — the layer's output per image (fc7: [N, 4096]). */
  features: Tensor;
  /** The images that were read, in order (unreadable ones are left out when skipping). */
  paths: string[];
  skipped: { path: string; reason: string }[];
}

/** Runs the images through the network to `layer` in eval mode, `batch` at a time. With
 *  skipUnreadable, a file that cannot be decoded is reported in `skipped` instead of failing. */
export async function extractFeatures(
  net: Net,
  meta: ModelMeta,
  paths: string[],
  layer: string,
  batch = 16,
  skipUnreadable = false,
  /** Called after each image: (done, total). */
  onImage?: (done: number, total: number) => void,
): Promise<FeatureResult> {
  const pre = preprocessOf(meta);
  const [c, p] = [net.input[0], net.input[1]];
  const per = c * p * p;
  const chunks: Tensor[] = [];
  const kept: string[] = [];
  const skipped: { path: string; reason: string }[] = [];
  let pending: { path: string; x: Float32Array }[] = [];
  const flush = (): void => {
    if (pending.length === 0) return;
    const x = new Tensor([pending.length, c, p, p]);
    pending.forEach((e, i) => x.data.set(e.x, i * per));
    const y = hostTensor(net.backend, net.forwardTo(x, layer));
    chunks.push(new Tensor(y.shape, y.data.slice())); // layers reuse their output buffers
    kept.push(...pending.map((e) => e.path));
    pending = [];
  };
  for (const path of paths) {
    try {
      const x = await imageToInput(path, pre, p);
      if (x.length !== per)
        usage(`${path}: prepared input has ${x.length} values, the model needs ${per}`);
      pending.push({ path, x });
    } catch (e) {
      if (!skipUnreadable || !(e instanceof UsageError)) throw e;
      skipped.push({ path, reason: e.message });
    }
    if (pending.length === batch) flush();
    onImage?.(kept.length + pending.length + skipped.length, paths.length);
  }
  flush();
  if (chunks.length === 0) return { features: new Tensor([0]), paths: kept, skipped };
  const features = new Tensor([kept.length, ...chunks[0].shape.slice(1)]);
  let off = 0;
  for (const t of chunks) {
    features.data.set(t.data, off);
    off += t.size;
  }
  return { features, paths: kept, skipped };
}

export interface Neighbor {
  index: number;
  distance: number;
}

/** The k rows of index ([M, D]) nearest to query ([D]) by Euclidean distance, nearest first;
 *  ties go to the lower index. */
export function nearestNeighbors(index: Tensor, query: Float32Array, k: number): Neighbor[] {
  const m = index.shape[0];
  const d = m > 0 ? index.size / m : 0;
  if (m > 0 && query.length !== d)
    throw new Error(`query has ${query.length} features, the index ${d}`);
  const all: Neighbor[] = [];
  for (let i = 0; i < m; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) {
      const diff = index.data[i * d + j] - query[j];
      s += diff * diff;
    }
    all.push({ index: i, distance: Math.sqrt(s) });
  }
  all.sort((a, b) => a.distance - b.distance || a.index - b.index);
  return all.slice(0, k);
}
