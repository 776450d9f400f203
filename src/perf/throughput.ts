// Throughput of a variant on a backend: images/s for inference (eval forward) or training
// (forward, loss, backward, SGD update) on synthetic data, the achieved GFLOP/s, and the share of
// the machine's fp32 peak. FLOPs counted as 2·MACs forward and 3× that for a training step
// (forward + input gradients + weight gradients), the usual convention.
import type { Backend } from '../backend/backend.js';
import { buildNet } from '../models/alexnet.js';
import type { ModelConfig } from '../models/config.js';
import { initialize } from '../models/init.js';
import type { LayerProfile } from '../nn/net.js';
import type { Precision } from '../nn/precision.js';
import { SoftmaxLoss } from '../nn/loss.js';
import { Sgd } from '../optim/sgd.js';
import { Tensor } from '../tensor/tensor.js';
import { Rng } from '../util/rng.js';

export interface ThroughputResult {
  arch: string;
  mode: 'infer' | 'train';
  backend: string;
  threads: number;
  /** Absent from the data-parallel bench (src/parallel/data-bench.ts), which runs fp32. */
  precision?: Precision;
  batch: number;
  iterations: number;
  imagesPerSecond: number;
  /** Median seconds per batch over the timed iterations. */
  secondsPerBatch: number;
  gflops: number;
  peakGflops: number | null;
  peakFraction: number | null;
  /** Seconds per batch per layer (forward, backward), when profiled. */
  layers?: { name: string; forward: number; backward: number }[];
}

export interface ThroughputOptions {
  config: ModelConfig;
  backend: Backend;
  mode: 'infer' | 'train';
  batch: number;
  iterations: number;
  profile: boolean;
  peakGflops: number | null;
  /** Default fp32. */
  precision?: Precision;
}

export async function measureThroughput(o: ThroughputOptions): Promise<ThroughputResult> {
  const precision = o.precision ?? 'fp32';
  const net = buildNet(o.config, o.backend, 1, precision);
  initialize(net, 'kaiming', 1);
  const rng = new Rng(2);
  const x = new Tensor([o.batch, ...net.input]);
  for (let i = 0; i < x.size; i++) x.data[i] = rng.normal();
  const classes = o.config.classes;
  const labels = Int32Array.from({ length: o.batch }, () => rng.int(classes));
  const loss = new SoftmaxLoss(o.backend);
  const sgd = new Sgd(net.params, o.backend, { momentum: 0.9, weightDecay: 5e-4 });

  // Each step ends by reading its result on the host, so a device backend (which only queues
  // kernels) is timed to the end of its work; on the host backends the read copies nothing.
  const step = async (): Promise<void> => {
    if (o.mode === 'infer') {
      await o.backend.download(net.forward(x, false));
      return;
    }
    const logits = net.forward(x, true);
    loss.run(logits, labels, 0, true);
    net.backward(loss.dlogits!);
    sgd.step(1e-4);
    await loss.read();
  };

  // Warm-up: buffers allocated, caches and the thread pool warm. Inference takes two steps: the
  // native backend packs a bfloat16 linear weight's panels on its second call (linear_packs.h),
  // which would otherwise land in the first timed step and in its layer's profile.
  await step();
  if (o.mode === 'infer') await step();
  const profile: LayerProfile = new Map();
  if (o.profile) net.profile = profile;
  const times: number[] = [];
  for (let i = 0; i < o.iterations; i++) {
    const t0 = performance.now();
    await step();
    times.push((performance.now() - t0) / 1000);
  }
  net.profile = null;
  times.sort((a, b) => a - b);
  const secondsPerBatch = times[Math.floor(times.length / 2)];
  const flopsPerImage = 2 * net.macCount * (o.mode === 'train' ? 3 : 1);
  const gflops = (flopsPerImage * o.batch) / secondsPerBatch / 1e9;
  return {
    arch: o.config.arch,
    mode: o.mode,
    backend: o.backend.name,
    threads: o.backend.getThreads(),
    precision,
    batch: o.batch,
    iterations: o.iterations,
    imagesPerSecond: o.batch / secondsPerBatch,
    secondsPerBatch,
    gflops,
    peakGflops: o.peakGflops,
    peakFraction: o.peakGflops ? gflops / o.peakGflops : null,
    layers: o.profile
      ? [...profile].map(([name, t]) => ({
          name,
          forward: t.forward / o.iterations,
          backward: t.backward / o.iterations,
        }))
      : undefined,
  };
}
