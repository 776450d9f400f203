// `alexnet train --parallel data [--replicas N]`: the run on N worker threads (src/parallel/data.ts)
// instead of this thread. Ctrl-C (or SIGTERM) asks every replica to stop after the same step and
// save, as a plain run does; a second one quits at once. A replica that dies ends the run with
// one line and exit code 1 (ReplicaFailed, printed by main.ts).
import { trainDataParallel, type DataParallelResult } from '../parallel/data.js';
import type { VariantInput } from '../models/variants.js';
import type { EpochRecord } from '../train/metrics.js';
import type { TrainConfig } from '../train/presets.js';
import type { Progress } from '../train/progress.js';
import { signalExitCode } from '../train/trainer.js';
import { usage } from '../util/errors.js';

export interface ParallelDataFlags {
  replicas: number;
  threads?: number;
  backend?: string;
  workers: boolean;
  from?: string;
  resume?: string;
  distributed?: boolean;
  ui?: boolean;
  distributedTimeout: number;
}

/** The flags a --parallel scheme cannot take, as a usage error. */
export function checkParallelData(
  o: ParallelDataFlags,
  scheme: 'data' | 'towers' | 'hybrid' = 'data',
): void {
  if (o.distributed) usage(`--parallel ${scheme} and --distributed exclude each other`);
  if (o.ui)
    usage(`--ui: not available with --parallel ${scheme} (the network lives on the workers)`);
  if (o.backend === 'webgpu' && scheme === 'data')
    usage(
      '--parallel data runs its replicas on the CPU backends (--backend native or ref); towers and hybrid run on webgpu',
    );
}

export async function trainOnReplicas(
  o: ParallelDataFlags,
  run: {
    config: TrainConfig;
    outDir: string;
    preset?: string;
    startedAt: number;
    progress: Progress;
    onEpoch: (r: EpochRecord) => void;
    variant?: VariantInput;
  },
): Promise<DataParallelResult> {
  const stop = new AbortController();
  let caught: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (caught) process.exit(signalExitCode(signal));
    caught = signal;
    stop.abort();
    run.progress.note(
      `interrupt (${signal}): every replica finishes the current step, then a checkpoint is saved (${signal === 'SIGINT' ? 'Ctrl-C' : signal} again to quit now)`,
    );
  };
  const handlers = (['SIGINT', 'SIGTERM'] as const).map((s) => [s, () => onSignal(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  try {
    const result = await trainDataParallel(
      {
        config: run.config,
        outDir: run.outDir,
        backend: o.backend,
        threads: o.threads ?? 1,
        workers: o.workers,
        from: o.from,
        resumePath: o.resume,
        preset: run.preset,
        variant: run.variant,
        timeoutSeconds: o.distributedTimeout,
        startedAt: performance.timeOrigin + run.startedAt,
      },
      { replicas: o.replicas, progress: run.progress, onEpoch: run.onEpoch, signal: stop.signal },
    );
    return { ...result, interrupted: caught };
  } finally {
    for (const [s, h] of handlers) process.off(s, h);
  }
}
