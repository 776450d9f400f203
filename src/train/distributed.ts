// Data-parallel training across processes and hosts on Open MPI (`mpirun -np N … --distributed`),
// the way Horovod and PyTorch's DistributedDataParallel do it. Every rank holds a replica of the
// network; a global batch of B = N × (per-rank batch) samples is split into N disjoint shares;
// each rank runs forward and backward on its share, and the gradients are summed across ranks
// with MPI_Allreduce in buckets of about BUCKET_BYTES, each bucket queued as soon as backward has
// filled it (the last layers first), so that communication runs while backward is still running.
// The collectives run on the MPI module's own thread (native/mpi.cc): the event loop never blocks.
//
// Equal to one process with batch B: dlogits of a share of m_r samples is scaled by m_r / M
// (M: the global batch's size), so the sum over ranks is the gradient of the global batch's mean
// loss; every rank then takes the same SGD step. The per-sample randomness does not depend on the
// split: dropout masks are drawn for the whole global batch on every rank, each rank using its own
// rows (Net.batchWindow), and augmentation draws for the whole batch from the batch's seed, each
// share skipping the draws of the samples before it (Split.fill's `first`).
//
// A rank that dies or hangs: mpirun answers a dead rank by sending SIGTERM (then SIGKILL) to the
// others, so a signal ends a rank at once (the writer says so in one line; there is no time to
// finish a step together). A hung rank: every wait on a collective is bounded by
// `timeoutSeconds`; the rank that runs out prints one line and aborts the whole job (MPI_Abort).
// Only the writer (rank 0) writes files, atomically, so the last checkpoint stays intact.
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { hostData, type Backend } from '../backend/backend.js';
import { packageRoot } from '../backend/native/binding.js';
import type { F32, Param } from '../nn/layer.js';
import type { Net } from '../nn/net.js';
import { usage } from '../util/errors.js';

/** The typed surface of native/mpi.cc. Views are Float32Arrays shared without copies. */
export interface MpiBinding {
  init(): Promise<{ rank: number; size: number; threadLevel: number; processor: string }>;
  /** Every view ← scale · Σ over ranks of the view, in place. */
  allreduce(views: Float32Array[], scale: number): Promise<void>;
  /** Every view ← the root's view, in place. */
  broadcast(views: Float32Array[], root: number): Promise<void>;
  finalize(): Promise<void>;
  /** Ends every rank of the job now. */
  abort(code: number): never;
  /** Where the trainer is (a communicator that reports it when a member dies). */
  at?(what: string): void;
}

const TIMEOUT = Symbol('timeout');

/** What to install when the MPI module is missing (the message of --distributed). */
export const MPI_MISSING =
  'install Open MPI (Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev), then rebuild the addon (npm rebuild alexnet-ts)';

/** Gradients are reduced in buckets of about this many bytes (PyTorch DDP's default 25 MB). */
export const BUCKET_BYTES = 25 << 20;

/** Loads build/Release/alexnet_mpi.node (ALEXNET_MPI_MODULE overrides the path, for tests);
 *  a one-line usage error saying what to install when it is not there or does not load. */
export function loadMpi(): MpiBinding {
  const path =
    process.env.ALEXNET_MPI_MODULE ?? join(packageRoot(), 'build', 'Release', 'alexnet_mpi.node');
  if (!existsSync(path))
    usage(`the MPI part of the addon was not built (${path}): ${MPI_MISSING}`, 'distributed');
  try {
    return createRequire(import.meta.url)(path) as MpiBinding;
  } catch (e) {
    usage(
      `the MPI part of the addon does not load (${(e as Error).message.split('\n')[0]}): ${MPI_MISSING}`,
      'distributed',
    );
  }
}

/** A rank's part of a global batch of m samples: [first, first + count). The remainder goes to
 *  the lowest ranks, so rank 0 always has at least one sample. */
export function shareOf(m: number, rank: number, size: number): { first: number; count: number } {
  const base = Math.floor(m / size);
  const extra = m % size;
  return { first: rank * base + Math.min(rank, extra), count: base + (rank < extra ? 1 : 0) };
}

/** How the training loop runs across processes. `localParallel` is the single process. */
export interface DataParallel {
  readonly rank: number;
  readonly size: number;
  /** This process writes checkpoints, metrics, curves and progress (rank 0). */
  readonly writer: boolean;
  share(m: number): { first: number; count: number };
  /** Where the loop is (for the message when a rank dies or hangs). */
  at(what: string): void;
  /** Backward of this rank's share of m samples, then the gradients summed over ranks, so every
   *  parameter's grad is that of the global batch's mean loss. dlogits: [count, classes]. */
  backward(net: Net, dlogits: F32 | null, m: number): Promise<void>;
  /** Element-wise Σ over ranks (per-step statistics; the writer alone adds clock readings). */
  sum(values: number[]): Promise<number[]>;
  /** The dropout generator of the writer, on every rank (after a step in which a rank had no
   *  samples and so drew no masks). */
  alignDropout(net: Net): Promise<void>;
  /** Fails on the ranks whose parameters differ from the writer's (a different checkpoint). */
  checkReplicas(net: Net, source: string): Promise<void>;
  close(): Promise<void>;
}

export const localParallel: DataParallel = {
  rank: 0,
  size: 1,
  writer: true,
  share: (m) => ({ first: 0, count: m }),
  at: () => {},
  backward: async (net, dlogits) => {
    if (dlogits) net.backward(dlogits);
  },
  sum: async (values) => values,
  alignDropout: async () => {},
  checkReplicas: async () => {},
  close: async () => {},
};

/** A tensor of a host-memory backend (ref, native) as its host array, shared: MPI reads and
 *  writes it in place. */
function hostArray(backend: Backend, t: F32): Float32Array {
  return hostData(backend, t);
}

export interface DistributedOptions {
  /** Longest wait for any collective before the job is ended (a rank died or hangs). */
  timeoutSeconds: number;
  /** Where the last checkpoint lives, for the message when the job is ended. */
  checkpointPath?: string;
  bucketBytes?: number;
  binding?: MpiBinding;
  /** Says why the job is ended, instead of the line on stderr (worker threads: their owner
   *  prints one line for the whole run). */
  onEnd?: (why: string) => void;
}

export class Distributed implements DataParallel {
  readonly writer: boolean;
  /** The last backward's seconds: computing (buckets go out meanwhile), then waiting for the
   *  buckets still in flight (the communication not hidden behind backward). */
  readonly lastStep = { backward: 0, wait: 0 };
  private what = 'start-up';

  private constructor(
    private readonly mpi: MpiBinding,
    readonly rank: number,
    readonly size: number,
    readonly processor: string,
    private readonly opts: DistributedOptions,
  ) {
    this.writer = rank === 0;
    for (const signal of ['SIGINT', 'SIGTERM'] as const)
      process.on(signal, () => this.endBySignal(signal));
  }

  private endBySignal(signal: NodeJS.Signals): never {
    if (this.writer)
      process.stderr.write(
        `alexnet: distributed: rank 0 of ${this.size} stopped by ${signal} at ${this.what} (mpirun ends every rank when one fails or is interrupted)${this.kept()}\n`,
      );
    process.exit(128 + constants.signals[signal]);
  }

  private kept(): string {
    return this.opts.checkpointPath
      ? `; the last checkpoint ${this.opts.checkpointPath} is intact`
      : '';
  }

  /** Joins the MPI job (every rank of `mpirun` must call it). */
  static async start(opts: DistributedOptions): Promise<Distributed> {
    const mpi = opts.binding ?? loadMpi();
    let info: Awaited<ReturnType<MpiBinding['init']>>;
    try {
      info = await mpi.init();
    } catch (e) {
      usage(`MPI did not start (${(e as Error).message}); run under mpirun`, 'distributed');
    }
    return new Distributed(mpi, info.rank, info.size, info.processor, opts);
  }

  /** Awaits a collective, or ends the whole job after timeoutSeconds with one line on stderr. A
   *  gap in a 100 ms heartbeat means this process itself was frozen (stopped, or starved): then
   *  the wait starts over instead of blaming the others. */
  private async bounded<T>(p: Promise<T>): Promise<T> {
    const ms = this.opts.timeoutSeconds * 1000;
    let timer: NodeJS.Timeout | undefined;
    let beat = performance.now();
    let frozen = false;
    const heartbeat = setInterval(() => {
      if (performance.now() - beat > 1000) frozen = true;
      beat = performance.now();
    }, 100);
    const expired = new Promise<typeof TIMEOUT>((resolve) => {
      const arm = (): void => {
        timer = setTimeout(() => {
          if (!frozen) return resolve(TIMEOUT);
          frozen = false;
          arm();
        }, ms);
      };
      arm();
    });
    try {
      const r = await Promise.race([p, expired]);
      if (r !== TIMEOUT) return r as T;
      this.end(
        `waited ${this.opts.timeoutSeconds} s for the other ranks at ${this.what}: a rank died or hangs`,
      );
    } catch (e) {
      this.end(`${this.what} failed: ${(e as Error).message}`);
    } finally {
      clearTimeout(timer);
      clearInterval(heartbeat);
    }
  }

  private end(why: string): never {
    if (this.opts.onEnd) {
      this.opts.onEnd(why);
      this.mpi.abort(1);
    }
    process.stderr.write(
      `alexnet: distributed: rank ${this.rank} of ${this.size} ${why}; ending every rank${this.kept()}\n`,
    );
    this.mpi.abort(1);
  }

  /** The trainer's step, for messages. */
  at(what: string): void {
    this.what = what;
    this.mpi.at?.(what);
  }

  share(m: number): { first: number; count: number } {
    return shareOf(m, this.rank, this.size);
  }

  async backward(net: Net, dlogits: F32 | null, m: number): Promise<void> {
    const pending: Promise<void>[] = [];
    const limit = (this.opts.bucketBytes ?? BUCKET_BYTES) / 4;
    let bucket: Float32Array[] = [];
    let filled = 0;
    const flush = (): void => {
      if (bucket.length) pending.push(this.mpi.allreduce(bucket, 1));
      bucket = [];
      filled = 0;
    };
    // Gradients arrive last layer first; a bucket is queued once it holds `limit` floats. Every
    // rank walks the same parameters in the same order, so the buckets match across ranks.
    const ready = (params: readonly Param[]): void => {
      for (const p of params) {
        if (p.frozen) continue;
        const g = hostArray(net.backend, p.grad);
        for (let at = 0; at < g.length;) {
          const take = Math.min(g.length - at, limit - filled);
          bucket.push(g.subarray(at, at + take));
          filled += take;
          at += take;
          if (filled >= limit) flush();
        }
      }
    };
    const t0 = performance.now();
    if (dlogits && dlogits.shape[0] > 0) {
      // Σ over ranks of (m_r / M)·∇(mean loss of the share) = ∇(mean loss of the global batch).
      net.backend.scale({ x: dlogits, y: dlogits }, { scale: dlogits.shape[0] / m });
      net.backward(dlogits, ready);
    } else {
      // No samples here: zeros, in the order backward hands the layers over on the other ranks.
      for (const p of net.params) if (!p.frozen) hostArray(net.backend, p.grad).fill(0);
      for (let i = net.layers.length - 1; i >= 0; i--) ready(net.layers[i].params);
    }
    flush();
    const t1 = performance.now();
    await this.bounded(Promise.all(pending));
    this.lastStep.backward = (t1 - t0) / 1000;
    this.lastStep.wait = (performance.now() - t1) / 1000;
  }

  async sum(values: number[]): Promise<number[]> {
    const v = Float32Array.from(values);
    await this.bounded(this.mpi.allreduce([v], 1));
    return Array.from(v);
  }

  async alignDropout(net: Net): Promise<void> {
    const s = net.rng.getState();
    // The words as raw bits (a broadcast copies bytes), the spare normal as a value.
    const words = new Uint32Array([...s.words, s.spare === null ? 0 : 1]);
    const spare = new Float32Array([s.spare ?? 0]);
    await this.bounded(this.mpi.broadcast([new Float32Array(words.buffer), spare], 0));
    net.rng.setState({
      words: [words[0], words[1], words[2], words[3]],
      spare: words[4] ? spare[0] : null,
    });
  }

  async checkReplicas(net: Net, source: string): Promise<void> {
    if (!net.backend.hostMemory)
      usage(
        `backend ${net.backend.name} keeps its tensors on the device; distributed training runs on native or ref`,
        'distributed',
      );
    // One fingerprint per parameter: the sum of its values, computed the same way everywhere.
    const mine = Float32Array.from(net.params, (p) =>
      hostArray(net.backend, p.value).reduce((s, x) => s + x, 0),
    );
    const writers = mine.slice();
    this.what = 'the replica check';
    await this.bounded(this.mpi.broadcast([writers], 0));
    const differs = net.params.filter((_, i) => !Object.is(mine[i], writers[i]));
    if (differs.length)
      usage(
        `rank ${this.rank}'s parameters differ from rank 0's (${differs[0].name}); ${source} must be the same file on every host`,
        'distributed',
      );
  }

  async close(): Promise<void> {
    this.what = 'the end (MPI_Finalize)';
    await this.bounded(this.mpi.finalize());
  }
}
