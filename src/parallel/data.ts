// `--parallel data`: N replicas of the network on N worker threads of this process, each with its
// own backend and a share of every batch, their gradients summed in shared memory (shm-comm.ts)
// — the MPI path's data parallelism (distributed.ts) with threads for ranks, so a run equals one
// worker training on the whole batch (within float rounding). As with --distributed, `config.batch`
// is each replica's batch: the global batch is N × config.batch.
//
// The main thread only coordinates: it starts the replicas (data-group.ts, data-worker.ts) and
// relays the writer's progress and epochs. A replica that dies ends the run with one line naming
// it and the step (worker.ts's WorkerDied); replica 0 writes every file atomically, so the last
// checkpoint stays as it was.
import { join } from 'node:path';
import type { VariantInput } from '../models/variants.js';
import type { EpochRecord } from '../train/metrics.js';
import type { TrainConfig } from '../train/presets.js';
import type { Progress, StepInfo, Task } from '../train/progress.js';
import { CHECKPOINT } from '../train/run-dir.js';
import type { TrainResult } from '../train/trainer.js';
import { runReplicas, type FromReplica } from './data-group.js';

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

export interface DataParallelOptions {
  replicas: number;
  progress?: Progress;
  onEpoch?: (r: EpochRecord) => void;
  /** Aborting it stops every replica after the same step; a checkpoint is saved. */
  signal?: AbortSignal;
}

export interface DataParallelResult extends TrainResult {
  replicas: number;
  /** Bytes read across replicas in one training step (a median step), over all replicas. */
  bytesPerStep: number;
}

/** Bytes an all-reduce of `floats` float32 values reads across `n` replicas, in all:
 *  each reads (n−1)/n of them twice (reduce-scatter, then all-gather). */
export function allreduceBytes(floats: number, n: number): number {
  return 2 * (n - 1) * floats * 4;
}

export async function trainDataParallel(
  job: DataJob,
  opts: DataParallelOptions,
): Promise<DataParallelResult> {
  let task: Task | null = null;
  const relay = (m: FromReplica): void => {
    const p = opts.progress;
    if (m.kind === 'epoch') opts.onEpoch?.(m.record);
    if (m.kind !== 'progress' || !p) return;
    const a = m.args;
    if (m.call === 'step') p.step(a[0] as StepInfo);
    else if (m.call === 'note') p.note(a[0] as string);
    else if (m.call === 'task') task = p.task(a[0] as string, a[1] as number);
    else if (m.call === 'update') task?.update(a[0] as number);
    else if (m.call === 'stop') task?.stop();
    else p.done();
  };
  const run = await runReplicas({
    replicas: opts.replicas,
    work: { kind: 'train', job },
    checkpoint: join(job.outDir, CHECKPOINT),
    signal: opts.signal,
    onMessage: relay,
  });
  const result = run.results[0] as TrainResult;
  return { ...result, replicas: opts.replicas, bytesPerStep: run.bytesPerStep };
}
