// The training loop (SPEC §2): seeded shuffling, batches prepared on the data worker while the
// backend computes the previous one, the paper's SGD, a learning-rate schedule, per-epoch
// validation top-1/top-5, and after every epoch (and on SIGINT or SIGTERM, after finishing the
// current step) OUT/model.safetensors, OUT/checkpoint.safetensors, OUT/metrics.jsonl and
// OUT/curves.{svg,png}, all written atomically. A resumed run continues exactly: same batches,
// dropout masks, learning rates and updates as if it had never stopped.
//
// Where the randomness comes from (all from config.seed): the epoch's order — Rng(seed, epoch);
// a batch's augmentation — its global step; dropout masks — net.rng, whose state is checkpointed.
import { mkdirSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Dataset } from '../data/dataset.js';
import { checkLabels, predictSplit, report } from '../eval/evaluate.js';
import { argmaxRow } from '../eval/confusion.js';
import { saveModel } from '../models/checkpoint.js';
import type { ModelMeta } from '../models/config.js';
import { SoftmaxLoss } from '../nn/loss.js';
import type { Net } from '../nn/net.js';
import { LrSchedule } from '../optim/schedule.js';
import { Sgd } from '../optim/sgd.js';
import { Tensor } from '../tensor/tensor.js';
import { UsageError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { saveTrainingCheckpoint, type LoadedCheckpoint, type TrainingState } from './checkpoint.js';
import { writeMetrics, type EpochRecord } from './metrics.js';
import { writeCurves } from './plot.js';
import type { TrainConfig } from './presets.js';
import { makeProgress, type Progress } from './progress.js';

/** Loss is NaN/∞ or past this: the run has diverged. */
const EXPLODED_LOSS = 100;
/** Time kept in hand for writing the model and checkpoint at the end of a budgeted run. */
const SAVE_SECONDS = 5;

export class TrainingDiverged extends UsageError {}

export interface TrainSetup {
  net: Net;
  meta: ModelMeta;
  dataset: Dataset;
  config: TrainConfig;
  outDir: string;
  /** Continue from this checkpoint (weights must already be loaded into net). */
  resume?: LoadedCheckpoint;
  progress?: Progress;
  onEpoch?: (r: EpochRecord) => void;
  /** Install SIGINT and SIGTERM handlers: finish the step, save, stop (default true). */
  handleSignals?: boolean;
  /** Write curves.png/svg (default true; tests switch it off for speed). */
  plots?: boolean;
}

export interface TrainResult {
  history: EpochRecord[];
  /** The last evaluation of the test/validation split. */
  test: { top1: number; top5: number; loss: number } | null;
  /** A signal stopped the run (after saving a checkpoint): SIGINT or SIGTERM, else null. */
  interrupted: NodeJS.Signals | null;
  /** Training ended before `epochs` because of the time budget. */
  budgetStop: boolean;
  /** Images trained on by this process, and the seconds its training steps took. */
  images: number;
  stepSeconds: number;
  modelPath: string;
  checkpointPath: string;
}

/** A 32-bit seed for (seed, purpose, index): splitmix-style mixing. */
export function subSeed(seed: number, purpose: number, index: number): number {
  let z = (seed ^ Math.imul(purpose + 1, 0x9e3779b9) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x7feb352d) >>> 0;
  z = Math.imul(z ^ (z >>> 15), 0x846ca68b) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}
const SHUFFLE = 1;
const AUGMENT = 2;
const SUBSET = 3;

/** All of [0, size), or a seeded subset of `max` of them (in increasing order). */
export function subsetIndices(
  size: number,
  max: number | null,
  seed: number,
  salt: number,
): Int32Array {
  const all = Int32Array.from({ length: size }, (_, i) => i);
  if (max === null || max >= size) return all;
  new Rng(subSeed(seed, SUBSET, salt)).shuffle(all);
  return all.slice(0, max).sort();
}

/** The training indices the run uses: all, or a seeded subset of config.maxTrain. */
export function trainIndices(size: number, config: TrainConfig): Int32Array {
  return subsetIndices(size, config.maxTrain, config.seed, 0);
}

export function freshState(config: TrainConfig, net: Net): TrainingState {
  return {
    version: 1,
    config,
    epoch: 0,
    batchInEpoch: 0,
    step: 0,
    schedule: { cuts: 0, best: null, badEpochs: 0, plateauLr: null },
    dropoutRng: net.rng.getState(),
    epochSums: { loss: 0, correct: 0, seen: 0 },
    seconds: 0,
    history: [],
  };
}

/** The shell's exit status for a process ended by `signal`: 128 + its number (SIGINT 130, SIGTERM 143). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + constants.signals[signal];
}

export async function train(setup: TrainSetup): Promise<TrainResult> {
  const { net, dataset, config, meta } = setup;
  const progress = setup.progress ?? makeProgress({ tty: false, quiet: true });
  const split = dataset.train;
  const backend = net.backend;
  // Labels the loss cannot take are refused before anything is written, not after an epoch.
  checkLabels(split.labels, net.outputShape[0], `${dataset.id}: the training split`);
  checkLabels(dataset.test.labels, net.outputShape[0], `${dataset.id}: the test split`);
  mkdirSync(setup.outDir, { recursive: true });
  const modelPath = join(setup.outDir, 'model.safetensors');
  const checkpointPath = join(setup.outDir, 'checkpoint.safetensors');

  const indices = trainIndices(split.size, config);
  const n = indices.length;
  if (n === 0) throw new UsageError('the training split is empty');
  const batch = Math.min(config.batch, n);
  const batches = Math.ceil(n / batch);
  const classes = net.outputShape[0];
  const per = split.sampleShape[0] * split.sampleShape[1] * split.sampleShape[2];

  const sgd = new Sgd(net.params, backend, {
    momentum: config.momentum,
    weightDecay: config.weightDecay,
    multipliers: config.multipliers,
  });
  const schedule = new LrSchedule(config.schedule, config.lr, config.epochs * batches);
  const state: TrainingState = setup.resume
    ? structuredClone(setup.resume.state)
    : freshState(config, net);
  state.config = config;
  if (setup.resume) {
    sgd.loadStateTensors(setup.resume.tensors, 'the checkpoint');
    schedule.setState(state.schedule);
    net.rng.setState(state.dropoutRng);
  }

  // SIGINT (Ctrl-C) or SIGTERM (what process managers send): finish the current step, save, stop.
  // A second signal exits at once (writes are atomic, so nothing is left half-written).
  let interrupt: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupt) process.exit(signalExitCode(signal));
    interrupt = signal;
    progress.note(
      `interrupt (${signal}): finishing the current step and saving a checkpoint (${signal === 'SIGINT' ? 'Ctrl-C' : signal} again to quit now)`,
    );
  };
  const handlers = (['SIGINT', 'SIGTERM'] as const).map((s) => [s, () => onSignal(s)] as const);
  if (setup.handleSignals !== false) for (const [s, h] of handlers) process.on(s, h);

  const save = async (): Promise<void> => {
    state.schedule = schedule.getState();
    state.dropoutRng = net.rng.getState();
    saveModel(modelPath, net, meta);
    saveTrainingCheckpoint(checkpointPath, net, meta, sgd, state);
    writeMetrics(join(setup.outDir, 'metrics.jsonl'), state.history);
    if (setup.plots !== false) {
      try {
        await writeCurves(
          join(setup.outDir, 'curves.svg'),
          join(setup.outDir, 'curves.png'),
          state.history,
        );
      } catch (e) {
        progress.note(`could not draw the training curves: ${(e as Error).message}`);
      }
    }
  };

  const budgetAt = config.maxSeconds === null ? Infinity : config.maxSeconds;
  let valSeconds: number | null = null; // measured by the first validation
  let images = 0;
  let stepSeconds = 0;
  let interrupted: NodeJS.Signals | null = null;
  let budgetStop = false;
  let test: TrainResult['test'] = null;

  const xBufs = [new Float32Array(batch * per), new Float32Array(batch * per)];
  const labels = new Int32Array(batch);
  const lossFn = new SoftmaxLoss(net.backend);

  // With a time budget, training must end early enough to validate and save within it: the
  // fraction of the training time used so far (the process's clock, so start-up counts).
  let trainIps = 0;
  const timeProgress = (): number | undefined => {
    if (budgetAt === Infinity) return undefined;
    const estVal = valSeconds ?? (trainIps > 0 ? testIndices.length / (trainIps * 2.5) : 0);
    const trainUntil = budgetAt - estVal - SAVE_SECONDS;
    return Math.max(0, performance.now() / 1000 / Math.max(1, trainUntil));
  };
  const testIndices = subsetIndices(dataset.test.size, config.maxTest ?? null, config.seed, 1);
  const validate = async (): Promise<{ top1: number; top5: number; loss: number }> => {
    progress.note(`validating on ${testIndices.length} images`);
    const t0 = performance.now();
    const r = report(
      await predictSplit([net], dataset.test, { batch, indices: testIndices }),
      dataset.classNames,
    );
    valSeconds = (performance.now() - t0) / 1000;
    return { top1: r.top1, top5: r.top5, loss: r.loss };
  };

  // Nothing is saved after a divergence: the files in outDir stay those of the last good epoch.
  const diverged = (where: string): TrainingDiverged => {
    const last = state.history[state.history.length - 1];
    const kept = last
      ? `kept the last good checkpoint (epoch ${last.epoch}) in ${setup.outDir}`
      : 'nothing was saved';
    return new TrainingDiverged(
      `training diverged: ${where}; ${kept}; try a lower --lr (now ${config.lr})`,
    );
  };

  try {
    while (state.epoch < config.epochs) {
      const order = indices.slice();
      new Rng(subSeed(config.seed, SHUFFLE, state.epoch)).shuffle(order);
      const batchIdx = (b: number): Int32Array =>
        order.subarray(b * batch, Math.min(n, (b + 1) * batch));
      const fillBatch = (b: number, step: number): Promise<void> => {
        const idx = batchIdx(b);
        return split.fill(
          idx,
          xBufs[step % 2].subarray(0, idx.length * per),
          config.augment,
          subSeed(config.seed, AUGMENT, step),
        );
      };
      const epochStart = performance.now();
      let epochImages = 0;
      let next: Promise<void> | null =
        state.batchInEpoch < batches ? fillBatch(state.batchInEpoch, state.step) : null;
      let lr = schedule.lr(state.step, timeProgress());

      while (state.batchInEpoch < batches) {
        const b = state.batchInEpoch;
        const idx = batchIdx(b);
        const m = idx.length;
        await next;
        // One turn of the event loop per step: a signal is handled at the next step even when
        // every batch was ready before it was asked for (it waited for the epoch's end).
        await new Promise<void>((resolve) => setImmediate(resolve));
        const t0 = performance.now();
        next = b + 1 < batches ? fillBatch(b + 1, state.step + 1) : null;
        for (let i = 0; i < m; i++) labels[i] = split.labels[idx[i]];
        lr = schedule.lr(state.step, timeProgress());

        const x = new Tensor([m, ...split.sampleShape], xBufs[state.step % 2].subarray(0, m * per));
        const logits = net.forward(x, true);
        lossFn.run(logits, labels.subarray(0, m), config.labelSmoothing, true);
        const { loss, probs } = await lossFn.read();
        if (!Number.isFinite(loss) || loss > EXPLODED_LOSS) {
          await next?.catch(() => {});
          throw diverged(`loss ${loss} at epoch ${state.epoch + 1}, step ${state.step + 1}`);
        }
        net.backward(lossFn.dlogits!);
        sgd.step(lr);

        let correct = 0;
        for (let i = 0; i < m; i++) if (argmaxRow(probs, i, classes) === labels[i]) correct++;
        state.epochSums.loss += loss * m;
        state.epochSums.correct += correct;
        state.epochSums.seen += m;
        state.step++;
        state.batchInEpoch++;
        images += m;
        epochImages += m;
        const dt = (performance.now() - t0) / 1000;
        stepSeconds += dt;
        state.seconds += dt;
        const ips = epochImages / ((performance.now() - epochStart) / 1000);
        progress.step({
          epoch: state.epoch + 1,
          epochs: config.epochs,
          batch: state.batchInEpoch,
          batches,
          loss: state.epochSums.loss / state.epochSums.seen,
          lr,
          imagesPerSecond: ips,
          eta: (n - state.batchInEpoch * batch) / ips,
        });

        trainIps = ips;
        if (interrupt) break;
        if ((timeProgress() ?? 0) >= 1 && state.batchInEpoch < batches) {
          budgetStop = true;
          break;
        }
      }
      await next?.catch(() => {});
      progress.done();

      if (interrupt) {
        interrupted = interrupt;
        await save();
        progress.note(
          `interrupted at epoch ${state.epoch + 1}, batch ${state.batchInEpoch}/${batches}; saved ${checkpointPath} (continue with --resume ${checkpointPath})`,
        );
        break;
      }

      const epochTrainSeconds = (performance.now() - epochStart) / 1000;
      const vt = performance.now();
      test = await validate();
      // The last step's update can break the weights after a finite training loss.
      if (!Number.isFinite(test.loss))
        throw diverged(`validation loss ${test.loss} after epoch ${state.epoch + 1}`);
      state.seconds += (performance.now() - vt) / 1000;
      const record: EpochRecord = {
        epoch: state.epoch + 1,
        step: state.step,
        lr,
        trainLoss: state.epochSums.seen ? state.epochSums.loss / state.epochSums.seen : NaN,
        trainAccuracy: state.epochSums.seen ? state.epochSums.correct / state.epochSums.seen : 0,
        valLoss: test.loss,
        valTop1: test.top1,
        valTop5: test.top5,
        seconds: state.seconds,
        imagesPerSecond: epochImages / Math.max(epochTrainSeconds, 1e-9),
        partial: budgetStop,
      };
      state.history.push(record);
      if (!budgetStop) {
        if (schedule.epochEnd(1 - test.top1))
          progress.note(
            `validation error stopped improving: learning rate now ${schedule.lr(state.step).toExponential(2)}`,
          );
        state.epoch++;
        state.batchInEpoch = 0;
        state.epochSums = { loss: 0, correct: 0, seen: 0 };
      }
      await save();
      setup.onEpoch?.(record);
      if (budgetStop) {
        progress.note(
          `time budget of ${config.maxSeconds} s reached during epoch ${record.epoch}: stopped training and evaluated`,
        );
        break;
      }
      // Not enough budget left for a useful part of another epoch plus its validation.
      if (
        state.epoch < config.epochs &&
        performance.now() / 1000 + 2 * (valSeconds ?? 0) + 2 * SAVE_SECONDS >= budgetAt
      ) {
        budgetStop = true;
        progress.note(
          `time budget of ${config.maxSeconds} s reached after epoch ${record.epoch}: stopped`,
        );
        break;
      }
    }
  } finally {
    if (setup.handleSignals !== false) for (const [s, h] of handlers) process.off(s, h);
    progress.done();
  }
  return {
    history: state.history,
    test,
    interrupted,
    budgetStop,
    images,
    stepSeconds,
    modelPath,
    checkpointPath,
  };
}
