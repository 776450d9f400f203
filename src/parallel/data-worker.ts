// One replica of `--parallel data`, on its own worker thread (started by data.ts): its own backend
// (the native pool set to the job's threads), its own copy of the data and of the network, and
// the trainer's rank loop — the MPI path's Distributed over the shared-memory communicator. The
// writer (replica 0) forwards its progress and epoch records to the main thread and writes the
// run's files; every replica reports how it ended.
import { parentPort, workerData } from 'node:worker_threads';
import { selectBackend, type BackendId } from '../backend/index.js';
import type { Progress, StepInfo, Task } from '../train/progress.js';
import { loadTrainingCheckpoint } from '../train/checkpoint.js';
import { Distributed } from '../train/distributed.js';
import { CHECKPOINT } from '../train/run-dir.js';
import { openData, prepareNet } from '../train/setup.js';
import { train } from '../train/trainer.js';
import { UsageError } from '../util/errors.js';
import { join } from 'node:path';
import type { DataJob, FromReplica, ReplicaInit } from './data.js';
import { ShmComm } from './shm-comm.js';

const { job, group, rank } = workerData as ReplicaInit;
const port = parentPort!;
const send = (m: FromReplica): void => port.postMessage(m);

/** ALEXNET_FAULT=worker:step:throw|exit|hang (tests): this replica fails as it starts that step. */
function injectFault(what: string): void {
  const [who, step, how] = (process.env.ALEXNET_FAULT ?? '').split(':');
  if (Number(who) !== rank || !what.endsWith(`step ${step}`)) return;
  if (how === 'exit') process.exit(7);
  if (how === 'hang') for (;;);
  throw new Error(`injected fault at ${what}`);
}

async function run(j: DataJob): Promise<void> {
  const backend = selectBackend(j.backend as BackendId | undefined, j.threads);
  const stop = new AbortController();
  // The bytes this replica read from the others between the starts of two steps.
  const steps: number[] = [];
  let last: number | null = null;
  const comm = new ShmComm(group, rank, {
    timeoutSeconds: j.timeoutSeconds,
    exit: (code) => process.exit(code),
    onStop: () => stop.abort(),
    onAt: (what) => {
      if (last !== null) steps.push(comm.traffic.bytes - last);
      last = comm.traffic.bytes;
      send({ kind: 'at', what });
      injectFault(what);
    },
  });
  const parallel = await Distributed.start({
    timeoutSeconds: j.timeoutSeconds,
    binding: comm,
    checkpointPath: join(j.outDir, CHECKPOINT),
    onEnd: (why) => send({ kind: 'end', why }),
  });
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
      signal: stop.signal,
      plots: j.plots,
      progress: writer ? forwardedProgress() : undefined,
      onEpoch: writer ? (record) => send({ kind: 'epoch', record }) : undefined,
    });
    await parallel.close();
    steps.sort((a, b) => a - b);
    send({
      kind: 'done',
      result: writer ? result : null,
      stepBytes: steps[steps.length >> 1] ?? 0,
    });
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

try {
  await run(job);
} catch (e) {
  const err = e as Error;
  send({ kind: 'error', message: err.message, usage: err instanceof UsageError });
  process.exitCode = 1;
}
