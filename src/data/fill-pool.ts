// One worker thread that prepares batches off the main thread, so decoding/resizing overlaps the
// backend's compute (the paper's CPU/GPU split, SPEC §3). Requests are answered in order; the
// worker keeps the process alive only while a request is pending.
import { Worker } from 'node:worker_threads';
import type { FillPlan } from './byte-images.js';

interface Pending {
  resolve: (x: Float32Array) => void;
  reject: (e: Error) => void;
}

export class FillPool {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failed: Error | null = null;

  constructor() {
    // Resolved next to this file: dist/src/data/fill-worker.js once compiled.
    this.worker = new Worker(new URL('./fill-worker.js', import.meta.url));
    this.worker.unref();
    this.worker.on('message', (m: { id: number; x?: Float32Array; error?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) this.worker.unref();
      if (m.error !== undefined || !m.x) p.reject(new Error(`batch worker: ${m.error}`));
      else p.resolve(m.x);
    });
    this.worker.on('error', (e) => this.failAll(e));
    this.worker.on('exit', (code) => {
      if (code !== 0) this.failAll(new Error(`batch worker exited with code ${code}`));
    });
  }

  private failAll(e: Error): void {
    this.failed = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  register(key: string, images: Uint8Array, side: number): void {
    this.worker.postMessage({ kind: 'images', key, images, side });
  }

  fill(
    key: string,
    indices: Int32Array,
    plan: FillPlan,
    augment: boolean,
    seed: number,
    first = 0,
  ): Promise<Float32Array> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({
        kind: 'fill',
        id,
        key,
        indices: Int32Array.from(indices),
        plan,
        augment,
        seed,
        first,
      });
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
