// One replica of `--parallel data`, on its own compute worker (worker-serve.ts; started by
// data-group.ts): its own backend (the native pool set to the job's threads), its own network,
// and the MPI path's Distributed over the shared-memory communicator. Training (data.ts) runs the trainer's rank
// loop on its own copy of the data; the writer (replica 0) forwards its progress and epoch
// records to the main thread and writes the run's files. Benchmarks run data-bench.ts's steps.
// Its `run` call returns the result and the bytes it read from the others in a median step; a
// collective that fails or times out throws, which ends the worker (the group's one line).
import { join } from 'node:path';
import { BroadcastChannel } from 'node:worker_threads';
import type { Backend } from '../backend/backend.js';
import { loadTrainingCheckpoint } from '../train/checkpoint.js';
import { Distributed } from '../train/distributed.js';
import type { Progress, StepInfo, Task } from '../train/progress.js';
import { CHECKPOINT } from '../train/run-dir.js';
import { openData, prepareNet } from '../train/setup.js';
import { train, type TrainResult } from '../train/trainer.js';
import { UsageError } from '../util/errors.js';
import { benchReplica } from './data-bench.js';
import type { FromReplica, ReplicaInit, ReplicaReply } from './data-group.js';
import type { DataJob } from './data.js';
import { failGroup, ShmComm } from './shm-comm.js';
import { serveWorker } from './worker-serve.js';

let rank = 0;
let channel: BroadcastChannel | null = null;
const send = (m: FromReplica): void => channel?.postMessage(m);

/** ALEXNET_FAULT=worker:step:throw|exit|hang (tests): this replica fails as it starts that step. */
function injectFault(what: string): void {
  const [who, step, how] = (process.env.ALEXNET_FAULT ?? '').split(':');
  if (Number(who) !== rank || !what.endsWith(`step ${step}`)) return;
  if (how === 'exit') process.exit(7);
  if (how === 'hang') for (;;);
  throw new Error('injected fault');
}

async function trainReplica(
  j: DataJob,
  parallel: Distributed,
  backend: Backend,
  stop: AbortSignal,
): Promise<TrainResult | null> {
  const resume = j.resumePath ? loadTrainingCheckpoint(j.resumePath) : undefined;
  const dataset = await openData(j.config.data, {
    inputSize: j.config.inputSize,
    normalize: j.config.normalize,
    workers: j.workers,
    seed: j.config.seed,
    augment: j.config.augment,
  });
  try {
    const { net, meta } = prepareNet(j.config, dataset, backend, {
      from: j.from,
      resume,
      resumePath: j.resumePath,
      variant: j.variant,
    });
    const writer = parallel.writer;
    const result = await train({
      net,
      meta,
      dataset,
      config: j.config,
      outDir: j.outDir,
      resume,
      preset: j.preset,
      // The same instant on this thread's clock (each thread's performance.now() has its origin).
      startedAt: j.startedAt - performance.timeOrigin,
      parallel,
      handleSignals: false,
      signal: stop,
      plots: j.plots,
      progress: writer ? forwardedProgress() : undefined,
      onEpoch: writer ? (record) => send({ kind: 'epoch', record }) : undefined,
    });
    return writer ? result : null;
  } finally {
    await dataset.close();
  }
}

/** The trainer's progress calls, as messages to the main thread's progress. */
function forwardedProgress(): Progress {
  return {
    step: (info: StepInfo) => send({ kind: 'progress', call: 'step', args: [info] }),
    note: (line: string) => send({ kind: 'progress', call: 'note', args: [line] }),
    task: (label: string, total: number): Task => {
      send({ kind: 'progress', call: 'task', args: [label, total] });
      return {
        update: (done) => send({ kind: 'progress', call: 'update', args: [done] }),
        stop: () => send({ kind: 'progress', call: 'stop', args: [] }),
      };
    },
    done: () => send({ kind: 'progress', call: 'done', args: [] }),
  };
}

async function run(init: ReplicaInit, backend: Backend): Promise<ReplicaReply> {
  const { work, group } = init;
  rank = init.rank;
  channel = rank === 0 ? new BroadcastChannel(init.channel) : null;
  const job = work.job;
  const stop = new AbortController();
  // The bytes this replica read from the others between the starts of two steps.
  const steps: number[] = [];
  let last: number | null = null;
  let ended = 'another worker failed';
  const comm = new ShmComm(group, rank, {
    timeoutSeconds: job.timeoutSeconds,
    // Distributed gave up (onEnd said why): the call throws, which ends this worker.
    exit: () => {
      throw new Error(ended);
    },
    onStop: () => stop.abort(),
    onAt: (what) => {
      if (last !== null) steps.push(comm.traffic.bytes - last);
      last = comm.traffic.bytes;
      injectFault(what);
    },
  });
  try {
    const parallel = await Distributed.start({
      timeoutSeconds: job.timeoutSeconds,
      binding: comm,
      checkpointPath: work.kind === 'train' ? join(work.job.outDir, CHECKPOINT) : undefined,
      onEnd: (why) => (ended = why),
    });
    const result =
      work.kind === 'train'
        ? await trainReplica(work.job, parallel, backend, stop.signal)
        : await benchReplica(work.job, parallel, backend);
    await parallel.close();
    steps.sort((a, b) => a - b);
    return { result, stepBytes: steps[steps.length >> 1] ?? 0 };
  } catch (e) {
    if (e instanceof UsageError) {
      failGroup(group); // the others' waits end now, not at their deadline
      return { usage: e.message };
    }
    throw e;
  } finally {
    send({ kind: 'bye' });
  }
}

serveWorker<ReplicaInit>(({ backend, data }) => ({ run: () => run(data, backend) }));
