// The loader's worker threads (the paper's CPU/GPU split, §4.1: "generated on the CPU while the
// GPU is training on the previous batch"). The main thread draws every random parameter of a batch
// (so a batch depends on its seed alone); workers read records from the cache file and apply the
// crops, flips and colour shifts. A batch is cut into one contiguous slice per worker.
//
// Legend: R = 256 (cached side), S = network input side; records [R, R, 3] uint8; out [n, 3, S, S].
import { closeSync, openSync, readSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { cropInto, type Normalize, unpackView } from './augment.js';
import { RECORD_BYTES, SIDE } from './image-cache.js';

/** Reads the records and writes their views: the whole of a worker's job, also run inline. */
export function cropJob(
  fd: number,
  records: Int32Array, // [n]
  views: Float64Array, // [n, 6], see packViews
  size: number,
  norm: Normalize,
  out: Float32Array, // [n, 3, S, S] starting at outOffset
  outOffset: number,
  scratch: Uint8Array = new Uint8Array(RECORD_BYTES),
): void {
  const per = 3 * size * size;
  for (let k = 0; k < records.length; k++) {
    const pos = records[k] * RECORD_BYTES;
    let got = 0;
    while (got < RECORD_BYTES) {
      const r = readSync(fd, scratch, got, RECORD_BYTES - got, pos + got);
      if (r === 0) throw new Error(`cache file ends before record ${records[k]}`);
      got += r;
    }
    cropInto(scratch, SIDE, unpackView(views, k), size, norm, out, outOffset + k * per);
  }
}

export interface WorkerInit {
  binPath: string;
  norm: Normalize;
}

export interface WorkerJob {
  id: number;
  records: Int32Array;
  views: Float64Array;
  size: number;
  out: SharedArrayBuffer;
  /** In floats, into `out`. */
  outOffset: number;
}

export type WorkerReply = { id: number; error?: string };

interface Pending {
  resolve: () => void;
  reject: (e: Error) => void;
}

/** A pool of loader threads over one cache file. With `threads` 0 the work runs inline. */
export class LoaderPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private inlineFd: number | null = null;
  private readonly scratchFree: SharedArrayBuffer[] = [];
  private failure: Error | null = null;
  private closed = false;

  constructor(
    private readonly init: WorkerInit,
    readonly threads: number,
  ) {
    for (let t = 0; t < threads; t++) {
      // The worker script sits beside this file, in src/ under ts-node-less runs and in dist/.
      const w = new Worker(new URL('./loader-worker.js', import.meta.url), { workerData: init });
      w.on('message', (m: WorkerReply) => this.settle(m.id, m.error));
      w.on('error', (e) => this.failAll(e));
      w.on('exit', (code) => {
        if (code !== 0 && !this.closed)
          this.failAll(new Error(`loader worker exited with code ${code}`));
      });
      w.unref(); // idle workers never keep the process alive; pending jobs ref them
      this.workers.push(w);
    }
  }

  /** Fills out: [n, 3, S, S] with the views of `records`. */
  async run(
    records: Int32Array,
    views: Float64Array,
    size: number,
    out: Float32Array,
  ): Promise<void> {
    if (this.failure) throw this.failure;
    const n = records.length;
    if (this.threads === 0 || n === 0) {
      this.inlineFd ??= openSync(this.init.binPath, 'r');
      cropJob(this.inlineFd, records, views, size, this.init.norm, out, 0);
      return;
    }
    const per = 3 * size * size;
    // Workers write straight into a shared output; an ordinary one gets a scratch buffer and a copy.
    const direct = out.buffer instanceof SharedArrayBuffer;
    const sab = direct ? (out.buffer as SharedArrayBuffer) : this.takeScratch(n * per * 4);
    const base = direct ? out.byteOffset / 4 : 0;
    const parts = Math.min(this.threads, n);
    const jobs: Promise<void>[] = [];
    for (let t = 0; t < parts; t++) {
      const lo = Math.floor((t * n) / parts);
      const hi = Math.floor(((t + 1) * n) / parts);
      jobs.push(
        this.post(this.workers[t], {
          id: 0,
          records: records.slice(lo, hi),
          views: views.slice(lo * 6, hi * 6),
          size,
          out: sab,
          outOffset: base + lo * per,
        }),
      );
    }
    try {
      await Promise.all(jobs);
      if (!direct) out.set(new Float32Array(sab, 0, n * per));
    } finally {
      if (!direct) this.scratchFree.push(sab);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.inlineFd !== null) closeSync(this.inlineFd);
    this.inlineFd = null;
    const ws = this.workers.splice(0);
    await Promise.all(ws.map((w) => w.terminate()));
  }

  private takeScratch(bytes: number): SharedArrayBuffer {
    const i = this.scratchFree.findIndex((b) => b.byteLength >= bytes);
    if (i >= 0) return this.scratchFree.splice(i, 1)[0];
    return new SharedArrayBuffer(bytes);
  }

  private post(w: Worker, job: WorkerJob): Promise<void> {
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.ref();
      w.postMessage({ ...job, id });
    }).finally(() => {
      if (this.pending.size === 0) for (const x of this.workers) x.unref();
    });
  }

  private settle(id: number, error?: string): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if (error) p.reject(new Error(error));
    else p.resolve();
  }

  private failAll(e: Error): void {
    this.failure ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}
