// `alexnet bench --parallel towers` (and hybrid): images/s of a network whose steps run on worker
// threads that each hold part of it (step-workers.ts), for inference (forward) or training
// (forward, loss, backward, each worker's SGD step), on synthetic data, with the bytes the
// workers read from each other in a median step as they counted them. The main thread holds the
// whole network (on a CPU backend) only to hand its parameters to the workers.
import type { Backend } from '../backend/backend.js';
import type { BackendId } from '../backend/index.js';
import { buildNet } from '../models/alexnet.js';
import type { ModelConfig } from '../models/config.js';
import { initialize } from '../models/init.js';
import { SoftmaxLoss } from '../nn/loss.js';
import type { ThroughputResult } from '../perf/throughput.js';
import { Tensor } from '../tensor/tensor.js';
import { Rng } from '../util/rng.js';
import { mainThreadBackend, startStepWorkers, type StepScheme } from './start.js';

export interface WorkersBenchJob {
  config: ModelConfig;
  mode: 'infer' | 'train';
  batch: number;
  iterations: number;
  /** The workers' backend (the main thread's too, unless it is a device: start.ts). */
  backend: Backend;
  /** Kernel threads of each worker. */
  threads: number;
  /** Workers, where the scheme takes a number (hybrid). */
  workers?: number;
}

export interface WorkersBenchResult extends ThroughputResult {
  parallel: StepScheme;
  workers: number;
  /** Bytes the workers read from each other in a median step, over every worker. */
  bytesPerStep: number;
}

export async function benchStepWorkers(
  scheme: StepScheme,
  job: WorkersBenchJob,
  peakGflops: number | null,
): Promise<WorkersBenchResult> {
  const { backend, batch } = job;
  const main = mainThreadBackend(backend); // the workers run on `backend`
  const net = buildNet(job.config, main, 1);
  initialize(net, 'kaiming', 1);
  const rng = new Rng(2);
  const x = new Tensor([batch, ...net.input]);
  for (let i = 0; i < x.size; i++) x.data[i] = rng.normal();
  const labels = Int32Array.from({ length: batch }, () => rng.int(job.config.classes));
  const loss = new SoftmaxLoss(main);
  const workers = await startStepWorkers(scheme, net, {
    backend: backend.name as BackendId,
    threads: job.threads,
    workers: job.workers,
    maxBatch: batch,
    sgd: { momentum: 0.9, weightDecay: 5e-4 },
  });
  try {
    await workers.push();
    const step = async (): Promise<void> => {
      const logits = await workers.forward(x, job.mode === 'train');
      if (job.mode === 'infer') return;
      loss.run(logits, labels, 0, true);
      await workers.backward(loss.dlogits!, main);
      await workers.step(1e-4);
      await loss.read();
    };
    await step(); // warm-up
    const times: number[] = [];
    const bytes: number[] = [];
    for (let i = 0; i < job.iterations; i++) {
      const t0 = performance.now();
      await step();
      times.push((performance.now() - t0) / 1000);
      bytes.push(workers.bytes);
    }
    const median = (a: number[]): number => [...a].sort((p, q) => p - q)[a.length >> 1];
    const secondsPerBatch = median(times);
    const gflops =
      (2 * net.macCount * (job.mode === 'train' ? 3 : 1) * batch) / secondsPerBatch / 1e9;
    return {
      arch: job.config.arch,
      mode: job.mode,
      backend: backend.name,
      threads: job.threads,
      batch,
      iterations: job.iterations,
      imagesPerSecond: batch / secondsPerBatch,
      secondsPerBatch,
      gflops,
      peakGflops,
      peakFraction: peakGflops ? gflops / peakGflops : null,
      parallel: scheme,
      workers: workers.count,
      bytesPerStep: median(bytes),
    };
  } finally {
    await workers.close();
  }
}
