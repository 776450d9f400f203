// `alexnet train`: a preset (fashion-quick; imagefolder when --data is an ImageFolder tree) with
// any flag overriding it, then the library's training loop. The resolved configuration and the
// run's plan are printed first, progress and epoch lines go to stderr, the final result to
// stdout; --json prints a config line, one line per epoch and a final one (the vocabulary of
// src/train/metrics.ts). A finished run in --out is not overwritten without --force. Ctrl-C
// finishes the step, saves and exits 130; SIGTERM does the same and exits 143.
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ARCHS, defaultConfig } from '../models/config.js';
import { INIT_SCHEMES } from '../models/init.js';
import {
  VARIANT_NAMES,
  variantFromNames,
  variantSchema,
  type Variant,
} from '../models/variants.js';
import { SCHEDULES } from '../optim/schedule.js';
import { loadTrainingCheckpoint } from '../train/checkpoint.js';
import { SCHEMA_VERSION, epochLine, type EpochRecord } from '../train/metrics.js';
import { countOf, planRun } from '../train/plan.js';
import {
  DEFAULT_PRESET,
  describeConfig,
  IMAGEFOLDER_PRESET,
  PRESET_NAMES,
  preset,
  trainConfigSchema,
  type TrainConfig,
} from '../train/presets.js';
import { progressFor, taskCallback } from '../train/progress.js';
import { CHECKPOINT, claimRunDir } from '../train/run-dir.js';
import { dataKind, openData, prepareNet } from '../train/setup.js';
import {
  BF16_DEFAULT_PRESETS,
  trainPrecision,
  type PrecisionChoice,
} from '../train/default-precision.js';
import { Distributed } from '../train/distributed.js';
import { checkParallelData, trainOnReplicas } from './parallel-data.js';
import type { BackendId } from '../backend/index.js';
import { mainThreadBackend, startStepWorkers } from '../parallel/start.js';
import type { StepWorkers } from '../parallel/step-workers.js';
import { signalExitCode, train } from '../train/trainer.js';
import { startTrainingDashboard, type TrainingDashboard } from '../ui/training.js';
import { usage } from '../util/errors.js';
import { checkWritableDir } from '../util/atomic.js';
import {
  backendFrom,
  flagName,
  nonNegativeInt,
  parseFlags,
  positiveInt,
  positiveNumber,
  precisionOption,
  printJson,
} from './options.js';
import type { Precision } from '../nn/precision.js';

interface TrainOptions {
  preset?: string;
  arch?: string;
  width?: number;
  variant?: Variant;
  data?: string;
  inputSize?: number;
  epochs?: number;
  batch?: number;
  lr?: number;
  momentum?: number;
  weightDecay?: number;
  schedule?: string;
  stepSize?: number;
  patience?: number;
  warmup?: number;
  multipliers?: 'none' | 'caffe';
  init?: string;
  labelSmoothing?: number;
  augment?: boolean;
  normalize?: boolean;
  maxSeconds?: number;
  maxTrain?: number;
  maxTest?: number;
  freeze?: string;
  seed?: number;
  out?: string;
  resume?: string;
  from?: string;
  backend?: string;
  threads?: number;
  precision?: Precision;
  workers: boolean;
  json?: boolean;
  quiet?: boolean;
  force?: boolean;
  ui?: boolean;
  port: number;
  distributed?: boolean;
  distributedTimeout: number;
  parallel?: 'data' | 'towers' | 'hybrid';
  replicas: number;
}

function fraction(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n >= 1)
    usage(`--label-smoothing ${value}: must be in [0, 1)`);
  return n;
}

function variantFlag(value: string): Variant {
  try {
    return variantFromNames(value);
  } catch (e) {
    return usage(`--variant ${value}: ${(e as Error).message}`);
  }
}

function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a non-negative number');
  return n;
}

/** The preset a run starts from: --preset, else imagefolder for an ImageFolder --data, else
 *  the default. */
export function presetFor(o: { preset?: string; data?: string }): string {
  if (o.preset !== undefined) return o.preset;
  return o.data !== undefined && dataKind(o.data) === 'imagefolder'
    ? IMAGEFOLDER_PRESET
    : DEFAULT_PRESET;
}

/** The preset with the flags laid over it. */
export function configFrom(o: TrainOptions): TrainConfig {
  const name = presetFor(o);
  const c = preset(name);
  // Another variant than the preset's brings its own input size unless --input-size says otherwise.
  if (o.arch !== undefined && o.inputSize === undefined && o.arch !== c.arch) {
    c.inputSize = defaultConfig(o.arch as TrainConfig['arch']).inputSize;
  }
  const set = <K extends keyof TrainConfig>(k: K, v: TrainConfig[K] | undefined): void => {
    if (v !== undefined) c[k] = v;
  };
  set('arch', o.arch as TrainConfig['arch'] | undefined);
  set('variant', o.variant);
  set('data', o.data);
  // --width x: the convolutions' channels × x and fc6/fc7 at 4096·x (quick runs, slow backends).
  if (o.width !== undefined)
    c.variant = {
      ...(c.variant ?? variantSchema.parse({})),
      ...{ width: o.width, fc: Math.max(1, Math.round(4096 * o.width)) },
    };
  set('inputSize', o.inputSize);
  set('epochs', o.epochs);
  set('batch', o.batch);
  set('lr', o.lr);
  set('momentum', o.momentum);
  set('weightDecay', o.weightDecay);
  set('multipliers', o.multipliers);
  set('init', o.init as TrainConfig['init'] | undefined);
  set('labelSmoothing', o.labelSmoothing);
  set('augment', o.augment);
  set('normalize', o.normalize);
  set('maxSeconds', o.maxSeconds);
  set('maxTrain', o.maxTrain);
  set('maxTest', o.maxTest);
  set('seed', o.seed);
  set('precision', o.precision);
  if (o.schedule !== undefined)
    c.schedule = { ...c.schedule, kind: o.schedule as TrainConfig['schedule']['kind'] };
  if (o.stepSize !== undefined) c.schedule.stepSize = o.stepSize;
  if (o.patience !== undefined) c.schedule.patience = o.patience;
  if (o.warmup !== undefined) c.schedule.warmup = o.warmup;
  if (o.freeze !== undefined)
    c.freeze = o.freeze
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  if (o.maxSeconds === 0) c.maxSeconds = null;
  if (c.data === '') usage(`--preset ${name} needs --data DIR (an ImageFolder tree)`);
  // A bad value is named by its flag (schedule.stepSize → --step-size, schedule.kind → --schedule).
  return parseFlags(trainConfigSchema, c, (path) =>
    path[0] === 'schedule'
      ? path[1] === 'kind'
        ? '--schedule'
        : flagName(String(path[1]))
      : path[0] === 'variant' && (path[1] === 'width' || path[1] === 'fc')
        ? '--width'
        : flagName(String(path[0])),
  );
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train a network (default: the fashion-quick preset on the bundled Fashion-MNIST)')
    .addOption(
      new Option(
        '--preset <name>',
        `starting configuration (default: ${DEFAULT_PRESET}; ${IMAGEFOLDER_PRESET} for an ImageFolder --data)`,
      ).choices(PRESET_NAMES),
    )
    .addOption(new Option('--arch <id>', 'network variant').choices(ARCHS))
    .option(
      '--width <x>',
      'narrower net: conv channels × x, fc6/fc7 4096·x (e.g. 0.125 for quick runs)',
      positiveNumber,
    )
    .option(
      '--variant <names>',
      `edits of the arch's layers, comma-separated: ${Object.keys(VARIANT_NAMES).join(', ')} (conv6: Table 2's CNN*)`,
      variantFlag,
    )
    .option('--data <src>', 'fashion-mnist (bundled), an IDX directory, or an ImageFolder tree')
    .option('--input-size <n>', 'network input side (Fashion-MNIST is resized to it)', positiveInt)
    .option('--epochs <n>', 'epochs', positiveInt)
    .option('--batch <n>', 'batch size', positiveInt)
    .option('--lr <x>', 'base learning rate', positiveNumber)
    .option('--momentum <x>', 'momentum', nonNegativeNumber)
    .option('--weight-decay <x>', 'weight decay', nonNegativeNumber)
    .addOption(new Option('--schedule <name>', 'learning-rate schedule').choices(SCHEDULES))
    .option('--step-size <n>', 'step schedule: iterations between ×0.1 cuts', positiveInt)
    .option(
      '--patience <n>',
      'plateau schedule: epochs without improvement before ÷10',
      positiveInt,
    )
    .option(
      '--warmup <n>',
      'linear learning-rate warm-up over the first n iterations (0: none)',
      nonNegativeInt,
    )
    .addOption(
      new Option(
        '--multipliers <rule>',
        'per-parameter lr/decay multipliers (caffe: biases lr×2, no decay)',
      ).choices(['none', 'caffe']),
    )
    .addOption(new Option('--init <scheme>', 'weight initialisation').choices(INIT_SCHEMES))
    .option('--label-smoothing <x>', 'label smoothing ε in [0, 1)', fraction)
    .option('--augment', 'random flips (and crops/colour noise for ImageFolder data)')
    .option('--no-augment', 'no training augmentation')
    .option('--normalize', 'normalise inputs with the training mean/std')
    .option('--no-normalize', 'inputs are pixel/255')
    .option(
      '--max-seconds <s>',
      'time budget for the whole run; training stops early to meet it (0: none)',
      nonNegativeNumber,
    )
    .option('--max-train <n>', 'train on a seeded subset of n images', positiveInt)
    .option('--max-test <n>', 'validate and test on a seeded subset of n images', positiveInt)
    .option('--freeze <layers>', 'comma-separated layers to keep fixed, e.g. conv1,conv2')
    .option(
      '--seed <n>',
      'the one seed for init, shuffling, augmentation and dropout',
      nonNegativeInt,
    )
    .option('--out <dir>', 'output directory (default: runs/<preset>)')
    .option('--force', 'replace a run already in --out')
    .option('--resume <ckpt>', 'continue a run exactly from OUT/checkpoint.safetensors')
    .option(
      '--from <ckpt>',
      'fine-tune: start from the matching tensors of a model file (new fc8 if the class count differs)',
    )
    .option('--backend <id>', 'ref, native or webgpu (default: native when it loads)')
    .option('--threads <n>', 'kernel threads (default: the number of cores)', positiveInt)
    .addOption(precisionOption())
    .option('--no-workers', 'prepare batches on the main thread')
    .option('--json', 'JSON lines on stdout: the configuration, each epoch, the final result')
    .option('--quiet', 'no progress or epoch lines on stderr; the final result only')
    .option('--ui', 'serve a live dashboard on 127.0.0.1 while training')
    .option('--port <n>', '--ui: the port (0: any free port)', nonNegativeInt, 8765)
    .option('--distributed', 'one rank of a data-parallel run: mpirun -np N alexnet train …')
    .option(
      '--distributed-timeout <s>',
      'end every rank when one waits this long for the others (a rank died or hangs)',
      positiveNumber,
      120,
    )
    .addOption(
      new Option(
        '--parallel <scheme>',
        "data: replicas on worker threads, gradients summed in shared memory; towers: the paper's two towers (alexnet2012, caffenet) on two worker threads; hybrid: convolutions data-parallel, fc layers split by units (one weird trick). towers and hybrid also run on --backend webgpu (one WebGPU device per worker); data on the CPU backends only",
      ).choices(['data', 'towers', 'hybrid']),
    )
    .option(
      '--replicas <n>',
      '--parallel data: replicas; hybrid: workers (one worker thread each)',
      positiveInt,
      2,
    )
    .addHelpText('after', presetHelp)
    .action(async (o: TrainOptions, cmd: Command) => {
      const started = performance.now();
      if (o.parallel) checkParallelData(o, o.parallel);
      // --parallel towers|hybrid: the workers run on the chosen backend (webgpu: a device each),
      // this thread's whole network on a CPU one (src/parallel/start.ts).
      const workersOn = backendFrom(o);
      const backend =
        o.parallel === 'towers' || o.parallel === 'hybrid'
          ? mainThreadBackend(workersOn)
          : workersOn;
      const outDirOf = (): string =>
        o.out ?? (o.resume ? dirname(o.resume) : `runs/${presetFor(o)}`);
      const parallel = o.distributed
        ? await Distributed.start({
            timeoutSeconds: o.distributedTimeout,
            checkpointPath: join(outDirOf(), CHECKPOINT),
          })
        : undefined;
      // Rank 0 alone reports, claims the run directory and writes files; the others are quiet.
      const writer = parallel?.writer ?? true;
      const quiet = o.quiet || !writer;
      const log = (line: string): void => {
        if (!quiet) process.stderr.write(line + '\n');
      };
      let config: TrainConfig;
      let resume;
      if (o.resume) {
        if (o.from) usage('--resume and --from exclude each other');
        resume = loadTrainingCheckpoint(o.resume);
        config = { ...resume.state.config };
        const ignored = cmd.options
          .map((opt) => opt.attributeName())
          .filter(
            (k) =>
              cmd.getOptionValueSource(k) === 'cli' &&
              ![
                'resume',
                'epochs',
                'maxSeconds',
                'out',
                'backend',
                'threads',
                'json',
                'quiet',
                'workers',
                'distributed',
                'distributedTimeout',
                'parallel',
                'replicas',
              ].includes(k),
          );
        if (ignored.length)
          log(
            `--resume: continuing with the checkpoint's configuration; ignoring ${ignored.map((k) => '--' + k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())).join(', ')}`,
          );
        if (o.epochs !== undefined) config.epochs = o.epochs;
        if (o.maxSeconds !== undefined)
          config.maxSeconds = o.maxSeconds === 0 ? null : o.maxSeconds;
      } else {
        config = configFrom(o);
      }
      // The library's default precision for this run (bf16 for fashion-quick where the CPU
      // multiplies bfloat16 natively); a resumed run keeps its checkpoint's.
      const chosen = resume
        ? null
        : trainPrecision(o.precision, {
            preset: presetFor(o),
            backend: backend.name,
            parallel: o.parallel !== undefined || o.distributed === true,
          });
      if (chosen) config.precision = chosen.precision;
      if (o.parallel && config.precision === 'bf16')
        usage(`--precision bf16: not with --parallel ${o.parallel} (its workers compute in fp32)`);
      const presetName = resume ? null : presetFor(o);
      const outDir = outDirOf();
      if (writer) checkWritableDir(outDir, '--out'); // before the data is read and an epoch is trained
      if (!resume && writer)
        claimRunDir(
          outDir,
          o.force === true,
          (ckpt) =>
            `continue it with --resume ${ckpt}, replace it with --force, or choose another --out`,
        );
      const progress = progressFor({ ...o, quiet });
      const dataset = await openData(config.data, {
        inputSize: config.inputSize,
        normalize: config.normalize,
        workers: o.workers,
        seed: config.seed,
        augment: config.augment,
        log,
        onCache: taskCallback(progress, 'caching images'),
      });
      let ui: TrainingDashboard | null = null;
      let towers: StepWorkers | undefined;
      try {
        // The replicas of --parallel data build their own networks; this thread needs none.
        const prepared =
          o.parallel === 'data'
            ? null
            : prepareNet(config, dataset, backend, { from: o.from, resume, resumePath: o.resume });
        const fineTune = prepared?.fineTune;
        if (dataset.skipped.length)
          log(
            `${dataset.id}: skipped ${dataset.skipped.length} unusable entries (${dataset.skipped
              .slice(0, 3)
              .map((s) => `${s.where}: ${s.why}`)
              .join('; ')}${dataset.skipped.length > 3 ? '; …' : ''})`,
          );
        if (fineTune?.fresh.length)
          log(
            `--from ${o.from}: loaded ${fineTune.loaded.length} tensors; freshly initialised ${fineTune.fresh.join(', ')}`,
          );
        const ranks = parallel?.size ?? (o.parallel === 'data' ? o.replicas : 1);
        const plan = planRun({ ...config, batch: config.batch * ranks }, dataset);
        const planned = { ...config, schedule: plan.schedule };
        log(
          `training ${config.arch} at ${config.inputSize}×${config.inputSize} on ${dataset.id} (${countOf(plan.trainIndices.length, plan.trainTotal)} train / ${countOf(plan.valIndices.length, plan.valTotal)} validation images, ${dataset.classNames.length} classes), ` +
            `${plan.steps} steps of batch ${plan.batch}` +
            (parallel ? ` (${parallel.size} ranks × ${config.batch})` : '') +
            (o.parallel === 'data' ? ` (${ranks} replicas × ${config.batch})` : '') +
            (o.parallel === 'towers' ? ' (two towers)' : '') +
            (o.parallel === 'hybrid' ? ` (hybrid: ${o.replicas} workers)` : '') +
            `, backend ${workersOn.name} × ${o.parallel ? (workersOn.hostMemory ? `${o.threads ?? 1} threads each` : 'one device each') : `${backend.getThreads()} threads`}, precision ${config.precision}${precisionNote(chosen)} → ${outDir}` +
            (resume
              ? ` (resuming at epoch ${resume.state.epoch + 1}, batch ${resume.state.batchInEpoch + 1}, step ${resume.state.step})`
              : ''),
        );
        log(
          `configuration${presetName ? ` (preset ${presetName})` : ' (from the checkpoint)'}: ${describeConfig(planned)}`,
        );
        if (o.json && writer)
          printJson({
            schemaVersion: SCHEMA_VERSION,
            event: 'config',
            preset: presetName,
            config: planned,
            data: dataset.id,
            classes: dataset.classNames.length,
            trainImages: plan.trainIndices.length,
            valImages: plan.valIndices.length,
            steps: plan.steps,
            out: outDir,
            backend: workersOn.name,
            threads: workersOn.getThreads(),
            precisionReason: chosen?.reason ?? null,
          });
        ui =
          o.ui && writer && prepared
            ? await startTrainingDashboard({
                net: prepared.net,
                dataset,
                outDir,
                port: o.port,
                title: `alexnet train → ${outDir}`,
              })
            : null;
        if (ui) process.stderr.write(`dashboard: ${ui.url}\n`);
        const onEpoch = (r: EpochRecord): void => {
          if (!writer) return;
          ui?.onEpoch(r);
          if (o.json) printJson(epochLine(r));
          else log(epochSummary(r));
        };
        towers =
          prepared && (o.parallel === 'towers' || o.parallel === 'hybrid')
            ? await startStepWorkers(o.parallel, prepared.net, {
                backend: workersOn.name as BackendId,
                threads: o.threads,
                workers: o.replicas,
                maxBatch: config.batch,
                sgd: config,
              })
            : undefined;
        const result = !prepared
          ? await trainOnReplicas(o, {
              config,
              outDir,
              preset: presetName ?? undefined,
              startedAt: started,
              progress,
              onEpoch,
            })
          : await train({
              net: prepared.net,
              meta: prepared.meta,
              dataset,
              config,
              outDir,
              resume,
              progress: ui ? ui.progress(progress) : progress,
              onValidate: ui?.onValidate,
              preset: presetName ?? undefined,
              startedAt: started,
              parallel,
              handleSignals: !parallel, // a signal ends a rank at once (distributed.ts)
              onEpoch,
              towers,
            });
        const seconds = (performance.now() - started) / 1000;
        const last = result.history.at(-1);
        const final = {
          schemaVersion: SCHEMA_VERSION,
          event: 'final',
          test: result.test,
          best: result.best && { ...result.best, model: result.bestPath },
          epochs: last?.epoch ?? 0,
          steps: last?.step ?? 0,
          seconds,
          imagesPerSecond: result.stepSeconds > 0 ? result.images / result.stepSeconds : 0,
          budgetStop: result.budgetStop,
          interrupted: result.interrupted !== null,
          model: result.modelPath,
          checkpoint: result.checkpointPath,
          backend: workersOn.name,
          threads: workersOn.getThreads(),
          ...('bytesPerStep' in result
            ? { replicas: o.replicas, bytesPerStep: result.bytesPerStep }
            : {}),
          // What the workers read from each other in the last training step.
          ...(towers
            ? { parallel: o.parallel, workers: towers.count, bytesPerStep: towers.bytes }
            : {}),
        };
        if (!writer) {
          // rank 0 speaks for the run
        } else if (o.json) printJson(final);
        else if (result.interrupted)
          process.stdout.write(`interrupted; continue with --resume ${join(outDir, CHECKPOINT)}\n`);
        else if (result.test) {
          const best =
            result.best && result.best.epoch !== last?.epoch
              ? `; best validation top-1 ${result.best.top1.toFixed(4)} at epoch ${result.best.epoch}: ${result.bestPath}`
              : '';
          process.stdout.write(
            `test accuracy ${result.test.top1.toFixed(4)} (top-5 ${result.test.top5.toFixed(4)}, ${result.test.samples} images) after ${seconds.toFixed(0)} s, ` +
              `${final.imagesPerSecond.toFixed(0)} img/s training; model ${result.modelPath}${best}\n`,
          );
        }
        if (result.interrupted) process.exitCode = signalExitCode(result.interrupted);
        await parallel?.close();
      } finally {
        await ui?.close();
        await towers?.close();
        await dataset.close();
      }
    });
}

/** Why the run trains in its precision, when the default chose it for this run: " (…)". */
function precisionNote(c: PrecisionChoice | null): string {
  if (!c?.reason) return '';
  return ` (${c.reason}${c.precision === 'bf16' ? '; --precision fp32 for float32' : ''})`;
}

function epochSummary(r: EpochRecord): string {
  return (
    `epoch ${r.epoch}${r.partial ? ' (partial)' : ''}: train loss ${r.train.loss.toFixed(4)} top-1 ${r.train.top1.toFixed(4)} | ` +
    `val loss ${r.val.loss.toFixed(4)} top-1 ${r.val.top1.toFixed(4)} top-5 ${r.val.top5.toFixed(4)} | ${r.imagesPerSecond.toFixed(0)} img/s, ${r.seconds.toFixed(0)} s`
  );
}

/** `train --help`: each preset's values (a flag overrides any of them). */
function presetHelp(): string {
  const rows = PRESET_NAMES.map((name) => `  ${name}\n    ${describeConfig(preset(name))}`);
  return (
    `\nPresets (any flag overrides its value):\n${rows.join('\n')}\n` +
    `\nWithout --precision, ${BF16_DEFAULT_PRESETS.join(', ')} trains in bf16 on the native backend where the CPU multiplies bfloat16 natively (AMX or AVX512-BF16), and in fp32 elsewhere and with --parallel or --distributed.\n`
  );
}
