// `alexnet bench`: images/s of one variant on one backend (synthetic data), with GFLOP/s and the
// fraction of the fp32 peak that the native addon measures with an FMA loop on all threads; with
// --precision bf16 also the fraction of the peak of the engine its bfloat16 GEMMs run on: the
// AMX tile loop at ISA level amx, the vdpbf16ps loop at avx512bf16, the FMA loop at avx512 (bf16
// widened onto the FMA).
import { Command, Option } from 'commander';
import { ARCHS, defaultConfig, type Arch } from '../models/config.js';
import { measureThroughput, type ThroughputResult } from '../perf/throughput.js';
import { benchDataParallel, type DataBenchResult } from '../parallel/data-bench.js';
import type { StepScheme } from '../parallel/start.js';
import { benchStepWorkers, type WorkersBenchResult } from '../parallel/workers-bench.js';
import { usage } from '../util/errors.js';
import { backendFrom, positiveInt, precisionOption, printJson } from './options.js';
import type { Precision } from '../nn/precision.js';

interface BenchOptions {
  arch: Arch;
  batch: number;
  mode: 'infer' | 'train';
  inputSize?: number;
  classes?: number;
  iterations: number;
  layers?: boolean;
  backend?: string;
  threads?: number;
  precision: Precision;
  json?: boolean;
  parallel?: 'data' | StepScheme;
  replicas: number;
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('measure images/s for inference or training of a variant on a backend')
    .addOption(new Option('--arch <id>', 'network variant').choices(ARCHS).default('alexnet2012'))
    .option('--batch <n>', 'batch size', positiveInt, 32)
    .addOption(
      new Option('--mode <mode>', 'what to time').choices(['infer', 'train']).default('infer'),
    )
    .option('--input-size <n>', "input size (default: the variant's)", positiveInt)
    .option('--classes <n>', "classes (default: the variant's)", positiveInt)
    .option(
      '--iterations <n>',
      'timed batches after one warm-up (the median is reported)',
      positiveInt,
      5,
    )
    .option('--layers', 'also print the time of every layer')
    .option('--backend <id>', 'ref, native or webgpu (default: native when it loads)')
    .option('--threads <n>', 'kernel threads (default: the number of cores)', positiveInt)
    .addOption(precisionOption('fp32'))
    .option('--json', 'one JSON object')
    .addOption(
      new Option(
        '--parallel <scheme>',
        "data: replicas on worker threads, each with a share of the batch; towers: the paper's two towers on two worker threads; hybrid: convolutions data-parallel, fc layers split by units over --replicas workers (--threads each, default 1). towers and hybrid also run on --backend webgpu (one WebGPU device per worker); data on the CPU backends only",
      ).choices(['data', 'towers', 'hybrid']),
    )
    .option(
      '--replicas <n>',
      '--parallel data: replicas; hybrid: workers (one worker thread each)',
      positiveInt,
      2,
    )
    .action(async (o: BenchOptions) => {
      const backend = backendFrom(o);
      const config = defaultConfig(o.arch, { inputSize: o.inputSize, classes: o.classes });
      // The CPU's FMA peak means nothing for a GPU backend.
      const peak = backend.hostMemory ? await measuredPeak() : null;
      if (o.parallel && o.layers) usage(`--layers: not with --parallel ${o.parallel}`);
      if (o.parallel === 'data' && !backend.hostMemory)
        usage(
          '--parallel data runs its replicas on the CPU backends (--backend native or ref); towers and hybrid run on webgpu',
        );
      if (o.parallel && o.precision === 'bf16')
        usage(`--precision bf16: not with --parallel ${o.parallel} (its workers compute in fp32)`);
      const bf16Peak =
        o.precision === 'bf16' && backend.hostMemory ? await measuredBf16Peak(peak) : undefined;
      const r: ThroughputResult & Partial<DataBenchResult> & Partial<WorkersBenchResult> =
        o.parallel === 'towers' || o.parallel === 'hybrid'
          ? await benchStepWorkers(
              o.parallel,
              {
                config,
                mode: o.mode,
                batch: o.batch,
                iterations: o.iterations,
                backend,
                threads: o.threads ?? 1,
                workers: o.replicas,
              },
              peak,
            )
          : o.parallel === 'data'
            ? await benchDataParallel(
                {
                  config,
                  mode: o.mode,
                  batch: o.batch,
                  iterations: o.iterations,
                  backend: backend.name,
                  threads: o.threads ?? 1,
                  timeoutSeconds: 600,
                },
                o.replicas,
                peak,
              )
            : await measureThroughput({
                config,
                backend,
                mode: o.mode,
                batch: o.batch,
                iterations: o.iterations,
                profile: !!o.layers,
                peakGflops: peak,
                precision: o.precision,
              });
      const bf16 =
        bf16Peak === undefined
          ? {}
          : {
              bf16PeakGflops: bf16Peak?.gflops ?? null,
              bf16Engine: bf16Peak?.engine ?? null,
              bf16PeakFraction: bf16Peak ? r.gflops / bf16Peak.gflops : null,
            };
      if (o.json) {
        printJson({ ...r, ...bf16, peakRssMB: process.resourceUsage().maxRSS / 1024 });
        return;
      }
      const peakText =
        r.peakFraction !== null
          ? ` = ${(100 * r.peakFraction).toFixed(1)}% of the ${r.peakGflops!.toFixed(0)} GFLOP/s peak`
          : '';
      const bf16Text = bf16.bf16PeakFraction
        ? ` (${(100 * bf16.bf16PeakFraction).toFixed(1)}% of the ${bf16.bf16PeakGflops!.toFixed(0)} GFLOP/s bfloat16 peak, on ${bf16.bf16Engine})`
        : '';
      process.stdout.write(
        `${r.arch} ${r.mode} batch ${r.batch} on ${r.backend} (${r.replicas ? `${r.replicas} replicas × ` : r.workers ? `${r.parallel}: ${r.workers} workers × ` : ''}${r.workers && !backend.hostMemory ? 'one device' : `${r.threads} threads`}, ${o.precision}): ` +
          `${r.imagesPerSecond.toFixed(1)} images/s, ${(1000 * r.secondsPerBatch).toFixed(1)} ms/batch, ${r.gflops.toFixed(1)} GFLOP/s${peakText}${bf16Text}` +
          (r.bytesPerStep !== undefined
            ? `, ${(r.bytesPerStep / 1e6).toFixed(1)} MB between workers per step`
            : '') +
          '\n',
      );
      if (r.layers) {
        const total = r.layers.reduce((s, l) => s + l.forward + l.backward, 0);
        for (const l of r.layers) {
          const t = l.forward + l.backward;
          process.stdout.write(
            `  ${l.name.padEnd(8)} fwd ${(1000 * l.forward).toFixed(2).padStart(8)} ms  bwd ${(1000 * l.backward).toFixed(2).padStart(8)} ms  ${((100 * t) / total).toFixed(1).padStart(5)}%\n`,
          );
        }
      }
    });
}

/** The peak of the engine the native bfloat16 GEMMs run on now: the AMX tile loop at level amx,
 *  the vdpbf16ps loop at level avx512bf16, at avx512 the FMA's (their operands widened to float32), `fmaPeak` as measured
 *  already; null below (the portable path) or when the addon is not loaded. */
async function measuredBf16Peak(
  fmaPeak: number | null,
): Promise<{ gflops: number; engine: string } | null> {
  try {
    const native = await import('../backend/native/index.js');
    if (!native.nativeBackend) return null;
    const isa = native.isaInUse();
    if (isa === 'amx') return { gflops: native.peakAmxGflops(0.3), engine: 'the AMX tiles' };
    if (isa === 'avx512bf16') return { gflops: native.peakBf16Gflops(0.3), engine: 'vdpbf16ps' };
    if (isa === 'avx512') return { gflops: fmaPeak ?? native.peakGflops(0.3), engine: 'the FMA' };
    return null;
  } catch {
    return null;
  }
}

/** The fp32 peak measured by the native addon's FMA loop (null when the addon is not loaded). */
async function measuredPeak(): Promise<number | null> {
  try {
    const native = await import('../backend/native/index.js');
    return native.nativeBackend ? native.peakGflops(0.3) : null;
  } catch {
    return null;
  }
}
