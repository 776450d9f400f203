// Worker thread that prepares batches of byte images (see byte-images.ts). Messages:
//   { kind: 'images', key, images (shared bytes), side }       — register a set of images
//   { kind: 'fill', id, key, indices, plan, augment, seed, first } — reply { id, x } (x transferred)
import { parentPort } from 'node:worker_threads';
import { fillBatch, type FillPlan } from './byte-images.js';

interface ImagesMessage {
  kind: 'images';
  key: string;
  images: Uint8Array;
  side: number;
}
interface FillMessage {
  kind: 'fill';
  id: number;
  key: string;
  indices: Int32Array;
  plan: FillPlan;
  augment: boolean;
  seed: number;
  first: number;
}

const sets = new Map<string, { images: Uint8Array; side: number }>();

parentPort!.on('message', (m: ImagesMessage | FillMessage) => {
  if (m.kind === 'images') {
    sets.set(m.key, { images: m.images, side: m.side });
    return;
  }
  try {
    const set = sets.get(m.key);
    if (!set) throw new Error(`no images registered under ${m.key}`);
    const p = m.plan.inputSize;
    const x = new Float32Array(m.indices.length * p * p);
    fillBatch(set.images, set.side, m.indices, x, m.plan, m.augment, m.seed, m.first);
    parentPort!.postMessage({ id: m.id, x }, [x.buffer]);
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: (e as Error).message });
  }
});
