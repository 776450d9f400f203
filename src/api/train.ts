// Datasets, training and evaluation as library calls. `train` is what `alexnet train` runs, less
// the terminal: no progress bar, no signal handlers, no process.exit — stop it with an AbortSignal
// (the step finishes and a checkpoint is saved, as Ctrl-C does for the CLI) and watch it through
// callbacks.
import { isDeepStrictEqual } from 'node:util';
import type { Dataset, Split } from '../data/dataset.js';
import type { ViewMode } from '../data/views.js';
import { predictSplit, report, type EvalReport } from '../eval/evaluate.js';
import { loadTrainingCheckpoint, type LoadedCheckpoint } from '../train/checkpoint.js';
import type { EpochRecord } from '../train/metrics.js';
import { trainPrecision } from '../train/default-precision.js';
import { DEFAULT_PRESET, preset, trainConfigSchema, type TrainConfig } from '../train/presets.js';
import type { Progress, StepInfo } from '../train/progress.js';
import { openData, prepareNet, type OpenDataOptions } from '../train/setup.js';
import { subsetIndices } from '../train/plan.js';
import { train as runTraining, type TrainResult } from '../train/trainer.js';
import type { BackendId } from '../backend/index.js';
import { trainDataParallel } from '../parallel/data.js';
import { startStepWorkers } from '../parallel/start.js';
import type { StepWorkers } from '../parallel/step-workers.js';
import { usage } from '../util/errors.js';
import { Ensemble, Model, resolveBackend, type BackendOptions } from './model.js';

export type DatasetOptions = Partial<OpenDataOptions> & { inputSize: number };

/** 'fashion-mnist' (the bundled set), an IDX directory or an ImageFolder tree. Close it when done. */
export async function openDataset(src: string, opts: DatasetOptions): Promise<Dataset> {
  return openData(src, { workers: false, ...opts });
}

export interface TrainOptions extends BackendOptions {
  /** A training preset to start from (default 'fashion-quick'). */
  preset?: string;
  /** Fields laid over the preset (arch, data, epochs, batch, lr, maxSeconds, maxTrain, seed, …). */
  config?: Partial<TrainConfig>;
  /** Where model.safetensors, checkpoint.safetensors and metrics.jsonl are written. */
  outDir: string;
  /** Train on this dataset instead of opening config.data (the caller closes it). */
  dataset?: Dataset;
  /** Fine-tune: start from the matching tensors of this model file. */
  from?: string;
  /** Continue a run exactly from its checkpoint.safetensors (as `alexnet train --resume`): the
   *  checkpoint's configuration, weights, momentum, schedule, data order and RNG states. Only
   *  config.epochs and config.maxSeconds may differ from the checkpoint's; not with preset or from. */
  resume?: string;
  signal?: AbortSignal;
  onEpoch?: (record: EpochRecord) => void;
  onStep?: (info: StepInfo) => void;
  /** Notes the trainer makes (interrupts, budget stops). */
  onNote?: (line: string) => void;
  /** Write curves.svg and curves.png after each epoch (default true). */
  plots?: boolean;
  /** Worker threads, each with its own backend (`threads` kernel threads each, default 1; towers
   *  and hybrid also on backend 'webgpu': one WebGPU device per worker, the network returned and
   *  checkpointed on the CPU backend):
   *  - data: `replicas` copies of the network, each with config.batch images of every step;
   *    equal to one worker with batch replicas × config.batch. Needs config.data (not `dataset`).
   *  - towers: the paper's two towers (alexnet2012, caffenet), each holding its half of the
   *    parameters; equal to the single-process grouped network.
   *  - hybrid: "one weird trick" on `replicas` workers (default 2): the convolutional layers on each
   *    worker's share of config.batch, the fully connected ones split by units; equal to the
   *    single-process network. */
  parallel?:
    | { scheme: 'data'; replicas: number }
    | { scheme: 'towers' }
    | { scheme: 'hybrid'; replicas?: number };
}

export interface TrainRun extends TrainResult {
  model: Model;
  config: TrainConfig;
  /** Why config.precision is what it is, when the default chose it for this run (e.g. 'default on
   *  this CPU: AVX512-BF16' for fashion-quick); null when config.precision named it, for a
   *  resumed run and for presets whose default is plainly fp32. */
  precisionReason: string | null;
}

/** The fields of a resumed run's configuration that may change: how long it goes on. */
const RESUMABLE_FIELDS: readonly string[] = ['epochs', 'maxSeconds'];

/** The checkpoint's configuration with epochs and maxSeconds laid over it. */
function resumedConfig(
  path: string,
  ck: LoadedCheckpoint,
  over: Partial<TrainConfig>,
): TrainConfig {
  const stored: Record<string, unknown> = ck.state.config;
  for (const [k, v] of Object.entries(over))
    if (!RESUMABLE_FIELDS.includes(k) && v !== undefined && !isDeepStrictEqual(v, stored[k]))
      usage(
        `resume ${path}: a resumed run keeps the checkpoint's configuration; config.${k} cannot change (only ${RESUMABLE_FIELDS.join(' and ')})`,
      );
  return parseConfig({ ...ck.state.config, ...over });
}

function parseConfig(raw: object): TrainConfig {
  const r = trainConfigSchema.safeParse(raw);
  if (!r.success) usage(`config.${r.error.issues[0].path.join('.')}: ${r.error.issues[0].message}`);
  return r.data;
}

export async function train(opts: TrainOptions): Promise<TrainRun> {
  let resume: LoadedCheckpoint | undefined;
  let config: TrainConfig;
  let precisionReason: string | null = null;
  if (opts.resume !== undefined) {
    if (opts.from !== undefined) usage('train(): resume and from exclude each other');
    if (opts.preset !== undefined)
      usage('train(): a resumed run takes its configuration from the checkpoint, not a preset');
    resume = loadTrainingCheckpoint(opts.resume);
    config = resumedConfig(opts.resume, resume, opts.config ?? {});
  } else {
    config = parseConfig({ ...preset(opts.preset ?? DEFAULT_PRESET), ...opts.config });
    if (config.data === '')
      usage(`preset ${opts.preset}: config.data must name an ImageFolder tree`);
    const chosen = trainPrecision(opts.config?.precision, {
      preset: opts.preset ?? DEFAULT_PRESET,
      backend: opts.parallel ? null : resolveBackend(opts).name,
      parallel: opts.parallel !== undefined,
    });
    config.precision = chosen.precision;
    precisionReason = chosen.reason;
  }
  if (opts.parallel && config.precision === 'bf16')
    usage(
      'train(): config.precision bf16 is not available with parallel (its workers compute in fp32)',
    );
  if (opts.parallel?.scheme === 'data')
    return { ...(await trainOnReplicas(opts, opts.parallel.replicas, config)), precisionReason };
  const scheme = opts.parallel?.scheme;
  if (scheme && typeof opts.backend === 'object')
    usage(
      `parallel: ${scheme} opens a backend per worker: give a backend id (native, ref or webgpu)`,
    );
  // Workers on webgpu (a device each): this thread's network stays on the CPU (parallel/start.ts).
  const onDevices = scheme !== undefined && opts.backend === 'webgpu';
  const backend = onDevices ? resolveBackend({}) : resolveBackend(opts);
  const dataset =
    opts.dataset ??
    (await openData(config.data, {
      inputSize: config.inputSize,
      normalize: config.normalize,
      workers: true,
      seed: config.seed,
      augment: config.augment,
      log: opts.onNote,
    }));
  let workers: StepWorkers | undefined;
  try {
    const { net, meta } = prepareNet(config, dataset, backend, {
      from: opts.from,
      resume,
      resumePath: opts.resume,
    });
    workers = scheme
      ? await startStepWorkers(scheme, net, {
          backend: onDevices ? 'webgpu' : (backend.name as BackendId),
          threads: opts.threads,
          workers: opts.parallel?.scheme === 'hybrid' ? opts.parallel.replicas : undefined,
          maxBatch: config.batch,
          sgd: config,
        })
      : undefined;
    const result = await runTraining({
      net,
      meta,
      dataset,
      config,
      outDir: opts.outDir,
      resume,
      signal: opts.signal,
      handleSignals: false,
      plots: opts.plots,
      onEpoch: opts.onEpoch,
      progress: callbacks(opts),
      towers: workers,
    });
    return { ...result, model: new Model(net, meta), config, precisionReason };
  } finally {
    await workers?.close();
    if (!opts.dataset) await dataset.close();
  }
}

export interface EvaluateOptions {
  views?: ViewMode;
  batch?: number;
  /** Which split (default 'test'). */
  split?: 'test' | 'train';
  /** Score a seeded subset of this many images (default: all). */
  maxImages?: number;
  seed?: number;
}

/** top-1/top-5, loss, per-class accuracy and confusion of a model (or an ensemble) on a split. */
export async function evaluate(
  model: Model | Ensemble,
  dataset: Dataset,
  opts: EvaluateOptions = {},
): Promise<EvalReport> {
  const nets = model instanceof Model ? [model.net] : model.nets;
  const first = model instanceof Model ? model : model.members[0];
  const split: Split = opts.split === 'train' ? dataset.train : dataset.test;
  if (split.size === 0) usage(`${dataset.id}: the ${opts.split ?? 'test'} split has no images`);
  if (dataset.classNames.length !== first.config.classes)
    usage(
      `${dataset.id}: ${dataset.classNames.length} classes, the model has ${first.config.classes}`,
    );
  const indices =
    opts.maxImages === undefined
      ? undefined
      : subsetIndices(split.size, opts.maxImages, opts.seed ?? 0, 1);
  const probs = await predictSplit(nets, split, { batch: opts.batch, views: opts.views, indices });
  return report(probs, first.meta.classNames ?? dataset.classNames);
}

async function trainOnReplicas(
  opts: TrainOptions,
  replicas: number,
  config: TrainConfig,
): Promise<Omit<TrainRun, 'precisionReason'>> {
  if (opts.dataset) usage('parallel: the replicas open config.data themselves; give no dataset');
  if (typeof opts.backend === 'object' || opts.backend === 'webgpu')
    usage(
      'parallel: the replicas run on a CPU backend id (native or ref); towers and hybrid run on webgpu',
    );
  const result = await trainDataParallel(
    {
      config,
      outDir: opts.outDir,
      backend: opts.backend,
      threads: opts.threads ?? 1,
      workers: true,
      from: opts.from,
      resumePath: opts.resume,
      preset: opts.preset,
      plots: opts.plots,
      timeoutSeconds: 120,
      startedAt: performance.timeOrigin + performance.now(),
    },
    {
      replicas,
      signal: opts.signal,
      onEpoch: opts.onEpoch,
      progress: callbacks(opts),
    },
  );
  const model = await Model.load(result.modelPath, {
    backend: opts.backend,
    threads: opts.threads,
  });
  return { ...result, model, config };
}

/** The trainer's progress as the caller's callbacks. */
function callbacks(opts: TrainOptions): Progress {
  return {
    step: (info) => opts.onStep?.(info),
    note: (line) => opts.onNote?.(line),
    task: () => ({ update: () => {}, stop: () => {} }),
    done: () => {},
  };
}
