// A loader thread (see workers.ts): reads cached 256×256 records and writes crops into the shared
// output buffer, one job at a time, replying with the job's id (and the error, if any).
import { openSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { RECORD_BYTES } from './image-cache.js';
import { cropJob, type WorkerInit, type WorkerJob, type WorkerReply } from './workers.js';

const init = workerData as WorkerInit;
const fd = openSync(init.binPath, 'r');
const scratch = new Uint8Array(RECORD_BYTES);

parentPort!.on('message', (job: WorkerJob) => {
  let reply: WorkerReply;
  try {
    cropJob(
      fd,
      job.records,
      job.views,
      job.size,
      init.norm,
      new Float32Array(job.out),
      job.outOffset,
      scratch,
    );
    reply = { id: job.id };
  } catch (e) {
    reply = { id: job.id, error: (e as Error).message };
  }
  parentPort!.postMessage(reply);
});
