// The replicas of `--parallel data` as a group of worker threads (data-worker.ts runs each): they
// are started together on one shared-memory group (shm-comm.ts), their messages are handed to the
// caller, and the first that dies — exits, throws, or ends the run from a collective that failed
// or timed out — ends the group: the others' waits fail at once (failGroup), they get
// `graceSeconds` to stop by themselves (replica 0 may be writing a file) and are then
// terminated, and the group rejects with one line naming the replica and the step.
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { EpochRecord } from '../train/metrics.js';
import { RunFailed, UsageError } from '../util/errors.js';
import type { BenchJob } from './data-bench.js';
import type { DataJob } from './data.js';
import { askStop, createShmGroup, failGroup, type ShmGroup } from './shm-comm.js';

/** What a replica is asked to do: train (data.ts) or time steps (data-bench.ts). */
export type ReplicaWork = { kind: 'train'; job: DataJob } | { kind: 'bench'; job: BenchJob };

/** A replica's workerData. */
export interface ReplicaInit {
  work: ReplicaWork;
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
  /** The work's result, and the bytes read from the others in a median step. */
  | { kind: 'done'; result: unknown; stepBytes: number }
  | { kind: 'error'; message: string; usage: boolean };

/** A replica died, threw or hung; the message is the run's one line about it. */
export class ReplicaFailed extends RunFailed {
  override readonly name = 'ReplicaFailed';
}

export interface GroupOptions {
  replicas: number;
  work: ReplicaWork;
  /** The checkpoint the message says is intact (or not yet written). */
  checkpoint?: string;
  /** How long the others get to stop by themselves once a replica failed (default 10 s). */
  graceSeconds?: number;
  /** Aborting it stops every replica at the same collective (shm-comm.ts askStop). */
  signal?: AbortSignal;
  onMessage?: (rank: number, m: FromReplica) => void;
}

export interface GroupResult {
  /** Each replica's result, by rank. */
  results: unknown[];
  /** Bytes read across replicas in a median step, over every replica. */
  bytesPerStep: number;
}

export function runReplicas(o: GroupOptions): Promise<GroupResult> {
  const n = o.replicas;
  const group = createShmGroup(n);
  const workers: Worker[] = [];
  const at: string[] = Array.from({ length: n }, () => 'start-up');
  const results: unknown[] = new Array<unknown>(n).fill(null);
  let bytesPerStep = 0;
  let failure: Error | null = null;
  let grace: NodeJS.Timeout | undefined;
  let running = n;

  // `why` names the step itself when it comes from the trainer's collectives.
  const fail = (rank: number, why: string, error?: Error): void => {
    if (failure) return;
    const kept = !o.checkpoint
      ? ''
      : existsSync(o.checkpoint)
        ? `; the last checkpoint ${o.checkpoint} is intact`
        : '; no checkpoint had been written yet';
    failure =
      error ??
      new ReplicaFailed(
        `--parallel data: worker ${rank} of ${n} ${why}; stopped the other workers${kept}`,
      );
    failGroup(group, rank);
    grace = setTimeout(
      () => {
        for (const w of workers) void w.terminate();
      },
      (o.graceSeconds ?? 10) * 1000,
    );
  };
  const onStop = (): void => askStop(group);
  o.signal?.addEventListener('abort', onStop, { once: true });

  return new Promise((resolve, reject) => {
    for (let rank = 0; rank < n; rank++) {
      const init: ReplicaInit = { work: o.work, group, rank };
      const w = new Worker(new URL('./data-worker.js', import.meta.url), { workerData: init });
      let finished = false;
      w.on('message', (m: FromReplica) => {
        if (m.kind === 'at') at[rank] = m.what;
        else if (m.kind === 'end') fail(rank, `ended the run: ${m.why}`);
        else if (m.kind === 'error')
          fail(
            rank,
            `threw at ${at[rank]}: ${m.message}`,
            m.usage ? new UsageError(m.message) : undefined,
          );
        else if (m.kind === 'done') {
          finished = true;
          results[rank] = m.result;
          bytesPerStep += m.stepBytes;
        }
        o.onMessage?.(rank, m);
      });
      w.on('error', (e) => fail(rank, `threw at ${at[rank]}: ${e.message}`));
      w.on('exit', (code) => {
        if (!finished) fail(rank, `exited with code ${code} at ${at[rank]}`);
        if (--running > 0) return;
        clearTimeout(grace);
        o.signal?.removeEventListener('abort', onStop);
        if (failure) reject(failure);
        else resolve({ results, bytesPerStep });
      });
      workers.push(w);
    }
  });
}
