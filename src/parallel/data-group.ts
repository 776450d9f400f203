// The replicas of `--parallel data` as a group of compute workers (worker.ts's WorkerGroup: one
// worker thread each with its own backend; data-worker.ts runs each) on one shared-memory group
// (shm-comm.ts). The writer's progress and epochs come over a BroadcastChannel; the first
// replica that dies — exits, throws, or ends the run from a collective that failed or timed out
// — ends the group: WorkerGroup wakes the others from their waits (failGroup) and ends them, and
// the run rejects with one WorkerDied naming the replica, where it was, and the checkpoint.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { BroadcastChannel } from 'node:worker_threads';
import type { BackendId } from '../backend/index.js';
import type { EpochRecord } from '../train/metrics.js';
import { UsageError } from '../util/errors.js';
import type { BenchJob } from './data-bench.js';
import type { DataJob } from './data.js';
import { askStop, createShmGroup, failGroup, replicaAt, type ShmGroup } from './shm-comm.js';
import { WorkerDied, WorkerGroup } from './worker.js';

/** What a replica is asked to do: train (data.ts) or time steps (data-bench.ts). */
export type ReplicaWork = { kind: 'train'; job: DataJob } | { kind: 'bench'; job: BenchJob };

/** A replica's worker data. */
export interface ReplicaInit {
  work: ReplicaWork;
  group: ShmGroup;
  rank: number;
  /** The BroadcastChannel of the writer's messages. */
  channel: string;
}

/** The writer's messages to the main thread (in order; 'bye' is the last). */
export type FromReplica =
  | {
      kind: 'progress';
      call: 'step' | 'note' | 'task' | 'update' | 'stop' | 'done';
      args: unknown[];
    }
  | { kind: 'epoch'; record: EpochRecord }
  | { kind: 'bye' };

/** What a replica's `run` call returns: its work's result and the bytes it read from the others
 *  in a median step, or the usage error it met (the run's exit code 2, not a death). */
export type ReplicaReply = { result: unknown; stepBytes: number } | { usage: string };

export interface GroupOptions {
  replicas: number;
  work: ReplicaWork;
  /** The checkpoint the message says is intact (or not yet written). */
  checkpoint?: string;
  /** Aborting it stops every replica at the same collective (shm-comm.ts askStop). */
  signal?: AbortSignal;
  onMessage?: (m: FromReplica) => void;
}

export interface GroupResult {
  /** Each replica's result, by rank. */
  results: unknown[];
  /** Bytes read across replicas in a median step, over every replica. */
  bytesPerStep: number;
}

const NAME = (rank: number, n: number): string => `data replica ${rank} of ${n}`;

export async function runReplicas(o: GroupOptions): Promise<GroupResult> {
  const n = o.replicas;
  const group = createShmGroup(n);
  const channel = new BroadcastChannel(`alexnet-data-${randomUUID()}`);
  let bye: () => void = () => {};
  const writerDone = new Promise<void>((resolve) => (bye = resolve));
  channel.onmessage = (ev) => {
    const m = (ev as { data: FromReplica }).data;
    if (m.kind === 'bye') bye();
    else o.onMessage?.(m);
  };
  const onStop = (): void => askStop(group);
  o.signal?.addEventListener('abort', onStop, { once: true });
  const job = o.work.job;
  let workers: WorkerGroup | null = null;
  try {
    workers = await WorkerGroup.start(
      Array.from({ length: n }, (_, rank) => ({
        name: NAME(rank, n),
        script: new URL('./data-worker.js', import.meta.url),
        backend: job.backend as BackendId | undefined,
        threads: job.threads,
        data: { work: o.work, group, rank, channel: channel.name } satisfies ReplicaInit,
      })),
      () => failGroup(group),
    );
    const g = workers;
    const calls = g.members.map((w) => w.call<ReplicaReply>('run'));
    // A replica that met a usage error (a diverged loss, a bad label) ends the group's waits;
    // the others then end as failed, but the run's error is that replica's.
    const usageOf = async (): Promise<string | undefined> => {
      for (const r of await Promise.allSettled(calls))
        if (r.status === 'fulfilled' && 'usage' in r.value) return r.value.usage;
    };
    let replies: ReplicaReply[];
    try {
      replies = await g.all(calls);
    } catch (e) {
      await g.close(); // a replica that hangs is terminated, so every call has settled
      const usage = await usageOf();
      if (usage !== undefined) throw new UsageError(usage);
      throw e;
    }
    const usage = await usageOf();
    if (usage !== undefined) throw new UsageError(usage);
    await writerDone;
    const done = replies as Extract<ReplicaReply, { result: unknown }>[];
    return {
      results: done.map((r) => r.result),
      bytesPerStep: done.reduce((s, r) => s + r.stepBytes, 0),
    };
  } catch (e) {
    if (!(e instanceof WorkerDied)) throw e;
    const rank = Array.from({ length: n }, (_, r) => NAME(r, n)).indexOf(e.worker);
    // A collective that failed names the step itself; else say where the replica was.
    const where = rank < 0 || / failed: /.test(e.why) ? '' : ` at ${replicaAt(group, rank)}`;
    const kept = !o.checkpoint
      ? ''
      : existsSync(o.checkpoint)
        ? `; the last checkpoint ${o.checkpoint} is intact`
        : '; no checkpoint had been written yet';
    throw new WorkerDied(e.worker, `${e.why}${where}; stopped the other workers${kept}`);
  } finally {
    o.signal?.removeEventListener('abort', onStop);
    channel.close();
    await workers?.close();
  }
}
