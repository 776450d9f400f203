// `alexnet bench --parallel data`: images/s of N replicas on worker threads (data-group.ts) for
// inference (each replica runs forward on its share of the batch) or training (forward, loss,
// backward with the gradients all-reduced in shared memory, SGD), on synthetic data. A step
// ends with a collective, so it is timed to the slowest replica; replica 0's median is reported,
// with the bytes the replicas read from each other in a step (shm-comm.ts counts them).
import type { Backend } from '../backend/backend.js';
import { buildNet } from '../models/alexnet.js';
import type { ModelConfig } from '../models/config.js';
import { initialize } from '../models/init.js';
import { SoftmaxLoss } from '../nn/loss.js';
import { Sgd } from '../optim/sgd.js';
import type { ThroughputResult } from '../perf/throughput.js';
import { Tensor } from '../tensor/tensor.js';
import type { DataParallel } from '../train/distributed.js';
import { Rng } from '../util/rng.js';
import { runReplicas } from './data-group.js';

export interface BenchJob {
  config: ModelConfig;
  mode: 'infer' | 'train';
  /** Images per step, split over the replicas (shareOf). */
  batch: number;
  iterations: number;
  backend?: string;
  /** Kernel threads of each replica. */
  threads: number;
  timeoutSeconds: number;
}

interface ReplicaTimes {
  /** Seconds of each timed step. */
  times: number[];
  macs: number;
}

export interface DataBenchResult extends ThroughputResult {
  replicas: number;
  /** Bytes read across replicas in a median step, over every replica. */
  bytesPerStep: number;
}

/** One replica's part (on its worker thread). */
export async function benchReplica(
  job: BenchJob,
  par: DataParallel,
  backend: Backend,
): Promise<ReplicaTimes> {
  const net = buildNet(job.config, backend, 1);
  initialize(net, 'kaiming', 1);
  const { count } = par.share(job.batch);
  const rng = new Rng(2 + par.rank);
  const x = new Tensor([count, ...net.input]);
  for (let i = 0; i < x.size; i++) x.data[i] = rng.normal();
  const labels = Int32Array.from({ length: count }, () => rng.int(job.config.classes));
  const loss = new SoftmaxLoss(backend);
  const sgd = new Sgd(net.params, backend, { momentum: 0.9, weightDecay: 5e-4 });
  const step = async (): Promise<void> => {
    if (job.mode === 'infer') {
      if (count > 0) await backend.download(net.forward(x, false));
    } else if (count > 0) {
      loss.run(net.forward(x, true), labels, 0, true);
      await par.backward(net, loss.dlogits!, job.batch);
      sgd.step(1e-4);
      await loss.read();
    } else {
      await par.backward(net, null, job.batch);
      sgd.step(1e-4);
    }
    await par.sum([0]); // the step ends when the slowest replica is done
  };
  par.at('warm-up');
  await step();
  const times: number[] = [];
  for (let i = 0; i < job.iterations; i++) {
    par.at(`step ${i + 1}`);
    const t0 = performance.now();
    await step();
    times.push((performance.now() - t0) / 1000);
  }
  par.at('the end');
  return { times, macs: net.macCount };
}

export async function benchDataParallel(
  job: BenchJob,
  replicas: number,
  peakGflops: number | null,
): Promise<DataBenchResult> {
  const run = await runReplicas({ replicas, work: { kind: 'bench', job } });
  const { times, macs } = run.results[0] as ReplicaTimes;
  const sorted = [...times].sort((a, b) => a - b);
  const secondsPerBatch = sorted[Math.floor(sorted.length / 2)];
  const gflops = (2 * macs * (job.mode === 'train' ? 3 : 1) * job.batch) / secondsPerBatch / 1e9;
  return {
    arch: job.config.arch,
    mode: job.mode,
    backend: job.backend ?? 'native',
    threads: job.threads,
    batch: job.batch,
    iterations: job.iterations,
    imagesPerSecond: job.batch / secondsPerBatch,
    secondsPerBatch,
    gflops,
    peakGflops,
    peakFraction: peakGflops ? gflops / peakGflops : null,
    replicas,
    bytesPerStep: run.bytesPerStep,
  };
}
