// A replica of the communicator tests (data-comm.test.ts): runs the collectives its workerData
// names on values that depend on its rank, and posts what it got and what it read.
//   { group, rank, op: 'reduce' | 'broadcast' | 'absent' | 'alternate', floats }
import { parentPort, workerData } from 'node:worker_threads';
import { ShmComm, type ShmGroup } from '../../src/parallel/shm-comm.js';

interface Job {
  group: ShmGroup;
  rank: number;
  op: 'reduce' | 'broadcast' | 'absent' | 'alternate';
  floats: number;
  timeoutSeconds: number;
}

if (parentPort) {
  const j = workerData as Job;
  const comm = new ShmComm(j.group, j.rank, {
    timeoutSeconds: j.timeoutSeconds,
    exit: () => process.exit(1),
  });
  // Two views of uneven lengths, so pieces and shares cut through them.
  const a = Float32Array.from({ length: j.floats }, (_, i) => (j.rank + 1) * (i + 1));
  const b = Float32Array.from({ length: 3 }, () => j.rank);
  try {
    if (j.op === 'absent' && j.rank === j.group.size - 1) {
      // this replica never joins
    } else if (j.op === 'alternate') {
      // All-reduce then broadcast, back to back, as the trainer's step does when a batch is
      // smaller than the replicas (sum, then alignDropout): count the wrong values received.
      let wrong = 0;
      const n = j.group.size;
      for (let round = 0; round < 200; round++) {
        const v = Float32Array.from({ length: j.floats }, (_, i) => j.rank + round + i);
        await comm.allreduce([v], 1);
        for (let i = 0; i < j.floats; i++)
          if (v[i] !== (n * (n - 1)) / 2 + n * (round + i)) wrong++;
        const c = Float32Array.from({ length: j.floats }, (_, i) =>
          j.rank === 1 ? -round - i : 7,
        );
        await comm.broadcast([c], 1);
        for (let i = 0; i < j.floats; i++) if (c[i] !== -round - i) wrong++;
      }
      parentPort.postMessage({ a, b, bytes: comm.traffic.bytes, wrong });
    } else if (j.op === 'broadcast') {
      await comm.broadcast([a, b], 1);
    } else {
      await comm.allreduce([a, b], 0.5);
    }
    if (j.op !== 'alternate') parentPort.postMessage({ a, b, bytes: comm.traffic.bytes });
  } catch (e) {
    parentPort.postMessage({ error: (e as Error).message, failed: (e as Error).name });
  }
}
