// `--parallel data`: N replicas of the network on N worker threads of this process, each with its
// own backend and a share of every batch, their gradients summed in shared memory (shm-comm.ts)
// — the MPI path's data parallelism (distributed.ts) with threads for ranks, so a run equals one
// worker training on the whole batch (within float rounding). As with --distributed, `config.batch`
// is each replica's batch: the global batch is N × config.batch.
//
// The main thread only coordinates: it starts the replicas (data-worker.ts), relays the writer's
// progress and epochs, and watches for a replica that dies (exits, throws, or hangs past the
// timeout). Then it stops the others, prints nothing itself but rejects with one line naming the
// replica and the step (ReplicaFailed); replica 0 writes every file atomically, so the last
// checkpoint stays as it was.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { VariantInput } from '../models/variants.js';
import type { EpochRecord } from '../train/metrics.js';
import type { TrainConfig } from '../train/presets.js';
import type { Progress, StepInfo, Task } from '../train/progress.js';
import { CHECKPOINT } from '../train/run-dir.js';
import type { TrainResult } from '../train/trainer.js';
import { RunFailed, UsageError } from '../util/errors.js';
import { askStop, createShmGroup, failGroup, type ShmGroup } from './shm-comm.js';

/** What every replica is told to do: the run as `alexnet train` resolved it. */
export interface DataJob {
  /** batch: each replica's (the global batch is replicas × batch, split by shareOf). */
  config: TrainConfig;
  outDir: string;
  /** Backend id (each replica selects its own), default native when it loads. */
  backend?: string;
  /** Kernel threads of each replica. */
  threads: number;
  /** Loader threads for the data (per replica). */
  workers: boolean;
  from?: string;
  resumePath?: string;
  preset?: string;
  /** An edited layer list (models/variants.ts), e.g. a reduced width. */
  variant?: VariantInput;
  plots?: boolean;
  /** Longest wait of a replica for the others in one collective. */
  timeoutSeconds: number;
  /** When the time budget started: epoch milliseconds (performance.timeOrigin + now()). */
  startedAt: number;
}

/** A replica's workerData. */
export interface ReplicaInit {
  job: DataJob;
  group: ShmGroup;
  rank: number;
}

/** A replica's messages to the main thread. */
export type FromReplica =
  | { kind: 'at'; what: string }
  | {
      kind: 'progress';
      call: 'step' | 'note' | 'task' | 'update' | 'stop' | 'done';
      args: unknown[];
    }
  | { kind: 'epoch'; record: EpochRecord }
  /** Distributed ended the run from this replica (a collective failed or timed out). */
  | { kind: 'end'; why: string }
  | { kind: 'done'; result: TrainResult | null; stepBytes: number }
  | { kind: 'error'; message: string; usage: boolean };

export interface DataParallelOptions {
  replicas: number;
  progress?: Progress;
  onEpoch?: (r: EpochRecord) => void;
  /** Aborting it stops every replica after the same step; a checkpoint is saved. */
  signal?: AbortSignal;
  /** How long the others get to stop by themselves once a replica failed (default 10 s). */
  graceSeconds?: number;
}

export interface DataParallelResult extends TrainResult {
  replicas: number;
  /** Bytes read across replicas in one training step (a median step), over all replicas. */
  bytesPerStep: number;
}

/** A replica died, threw or hung; the message is the run's one line about it. */
export class ReplicaFailed extends RunFailed {
  override readonly name = 'ReplicaFailed';
}

/** Bytes an all-reduce of `floats` float32 values reads across `n` replicas, in all:
 *  each reads (n−1)/n of them twice (reduce-scatter, then all-gather). */
export function allreduceBytes(floats: number, n: number): number {
  return 2 * (n - 1) * floats * 4;
}

export function trainDataParallel(
  job: DataJob,
  opts: DataParallelOptions,
): Promise<DataParallelResult> {
  const n = opts.replicas;
  const group = createShmGroup(n);
  const workers: Worker[] = [];
  const at: string[] = Array.from({ length: n }, () => 'start-up');
  const stepBytes: number[] = new Array<number>(n).fill(0);
  let result: TrainResult | null = null;
  let failure: Error | null = null;
  let grace: NodeJS.Timeout | undefined;
  let task: Task | null = null;
  let running = n;

  // `why` names the step itself when it comes from the trainer's collectives.
  const fail = (rank: number, why: string, error?: Error): void => {
    if (failure) return;
    const ckpt = join(job.outDir, CHECKPOINT);
    const kept = existsSync(ckpt)
      ? `the last checkpoint ${ckpt} is intact`
      : 'no checkpoint had been written yet';
    failure =
      error ??
      new ReplicaFailed(
        `--parallel data: worker ${rank} of ${n} ${why}; stopped the other workers; ${kept}`,
      );
    failGroup(group, rank);
    grace = setTimeout(
      () => {
        for (const w of workers) void w.terminate();
      },
      (opts.graceSeconds ?? 10) * 1000,
    );
  };
  const onStop = (): void => askStop(group);
  opts.signal?.addEventListener('abort', onStop, { once: true });

  const relay = (m: Extract<FromReplica, { kind: 'progress' }>): void => {
    const p = opts.progress;
    if (!p) return;
    const a = m.args;
    if (m.call === 'step') p.step(a[0] as StepInfo);
    else if (m.call === 'note') p.note(a[0] as string);
    else if (m.call === 'task') task = p.task(a[0] as string, a[1] as number);
    else if (m.call === 'update') task?.update(a[0] as number);
    else if (m.call === 'stop') task?.stop();
    else p.done();
  };

  return new Promise((resolve, reject) => {
    for (let rank = 0; rank < n; rank++) {
      const init: ReplicaInit = { job, group, rank };
      const w = new Worker(new URL('./data-worker.js', import.meta.url), { workerData: init });
      let finished = false;
      w.on('message', (m: FromReplica) => {
        if (m.kind === 'at') at[rank] = m.what;
        else if (m.kind === 'progress') relay(m);
        else if (m.kind === 'epoch') opts.onEpoch?.(m.record);
        else if (m.kind === 'end') fail(rank, `ended the run: ${m.why}`);
        else if (m.kind === 'error')
          fail(
            rank,
            `threw at ${at[rank]}: ${m.message}`,
            m.usage ? new UsageError(m.message) : undefined,
          );
        else {
          finished = true;
          stepBytes[rank] = m.stepBytes;
          if (m.result) result = m.result;
        }
      });
      w.on('error', (e) => fail(rank, `threw at ${at[rank]}: ${e.message}`));
      w.on('exit', (code) => {
        if (!finished) fail(rank, `exited with code ${code} at ${at[rank]}`);
        if (--running > 0) return;
        clearTimeout(grace);
        opts.signal?.removeEventListener('abort', onStop);
        if (failure) return reject(failure);
        const total = stepBytes.reduce((s, b) => s + b, 0);
        resolve({ ...result!, replicas: n, bytesPerStep: total });
      });
      workers.push(w);
    }
  });
}
