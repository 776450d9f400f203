// The training loop (SPEC §2): seeded shuffling, batches prepared on the data worker while the
// backend computes the previous one, the paper's SGD, a learning-rate schedule, per-epoch
// validation top-1/top-5, and after every epoch (and on SIGINT or SIGTERM, after finishing the
// current step) OUT/model.safetensors, OUT/checkpoint.safetensors, OUT/metrics.jsonl and
// OUT/curves.{svg,png}, all written atomically; OUT/model-best.safetensors holds the weights of
// the best validation top-1 so far. A time budget counts from the call (or `startedAt`). A resumed run continues exactly: same batches,
// dropout masks, learning rates and updates as if it had never stopped.
//
// Where the randomness comes from (all from config.seed): the epoch's order — Rng(seed, epoch);
// a batch's augmentation — its global step; dropout masks — net.rng, whose state is checkpointed.
// With `parallel` (data-parallel ranks, distributed.ts) the batch is the global batch of every
// rank together, each rank computes its share, and rank 0 alone writes files.
import { constants } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Dataset } from '../data/dataset.js';
import { checkLabels, predictSplit, report, type Probabilities } from '../eval/evaluate.js';
import { argmaxRow } from '../eval/confusion.js';
import type { ModelMeta } from '../models/config.js';
import { SoftmaxLoss } from '../nn/loss.js';
import type { Net } from '../nn/net.js';
import { LrSchedule } from '../optim/schedule.js';
import { Sgd } from '../optim/sgd.js';
import { Tensor } from '../tensor/tensor.js';
import { makeDirs } from '../util/atomic.js';
import { UsageError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { saveTrainingCheckpoint, type LoadedCheckpoint, type TrainingState } from './checkpoint.js';
import type { StepWorkers } from '../parallel/step-workers.js';
import { localParallel, type DataParallel } from './distributed.js';
import { logInterval, writeMetrics, type EpochRecord, type SplitMetrics } from './metrics.js';
import { AUGMENT, planRun, SHUFFLE, subSeed } from './plan.js';
import { writeCurves } from './plot.js';
import type { TrainConfig } from './presets.js';
import { makeProgress, type Progress } from './progress.js';
import { saveTrainedModel, trainingRecord } from './record.js';
import { BEST_MODEL, CHECKPOINT, METRICS, MODEL } from './run-dir.js';

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
  /** After each validation: the softmax outputs for the validation samples `indices` (the
   *  dashboard's confusion matrix and sample predictions). */
  onValidate?: (p: Probabilities, indices: Int32Array) => void;
  /** Install SIGINT and SIGTERM handlers: finish the step, save, stop (default true). */
  handleSignals?: boolean;
  /** Aborting it stops the run as a signal does: the step finishes, a checkpoint is saved. */
  signal?: AbortSignal;
  /** Write curves.png/svg (default true; tests switch it off for speed). */
  plots?: boolean;
  /** The preset the configuration came from, for the model's training record. */
  preset?: string;
  /** When the time budget started (performance.now() milliseconds; default: this call). */
  startedAt?: number;
  /** Train as one rank of several (distributed.ts); default: this process alone. */
  parallel?: DataParallel;
  /** Workers that each hold part of the network compute each step (src/parallel/step-workers.ts:
   *  the paper's two towers, the hybrid); `net` receives their parts before each validation and save. */
  towers?: StepWorkers;
}

export interface TrainResult {
  history: EpochRecord[];
  /** The last evaluation of the test/validation split. */
  test: SplitMetrics | null;
  /** The epoch whose validation top-1 was best (its weights are in bestPath), or null. */
  best: { epoch: number; top1: number } | null;
  /** A signal stopped the run (after saving a checkpoint): SIGINT or SIGTERM, else null. */
  interrupted: NodeJS.Signals | null;
  /** `setup.signal` stopped the run (after saving a checkpoint). */
  aborted: boolean;
  /** Training ended before `epochs` because of the time budget. */
  budgetStop: boolean;
  /** Images trained on (by every rank together), and the seconds the training steps took. */
  images: number;
  stepSeconds: number;
  modelPath: string;
  checkpointPath: string;
  bestPath: string;
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
    ranks: 1,
    epochSums: { loss: 0, correct: 0, seen: 0 },
    seconds: 0,
    history: [],
    points: [],
  };
}

/** The shell's exit status for a process ended by `signal`: 128 + its number (SIGINT 130, SIGTERM 143). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + constants.signals[signal];
}

export async function train(setup: TrainSetup): Promise<TrainResult> {
  const { net, dataset, config, meta } = setup;
  const par = setup.parallel ?? localParallel;
  const t0 = setup.startedAt ?? performance.now();
  const elapsed = (): number => (performance.now() - t0) / 1000;
  const progress = setup.progress ?? makeProgress({ tty: false, quiet: true });
  const split = dataset.train;
  net.setPrecision(config.precision);
  const backend = net.backend;
  // Labels the loss cannot take are refused before anything is written, not after an epoch.
  checkLabels(split.labels, net.outputShape[0], `${dataset.id}: the training split`);
  checkLabels(dataset.test.labels, net.outputShape[0], `${dataset.id}: the test split`);
  makeDirs(setup.outDir);
  const modelPath = join(setup.outDir, MODEL);
  const checkpointPath = join(setup.outDir, CHECKPOINT);
  const bestPath = join(setup.outDir, BEST_MODEL);

  // The global batch: every rank's config.batch together (what the schedule counts in).
  const plan = planRun({ ...config, batch: config.batch * par.size }, dataset);
  const { trainIndices: indices, valIndices: testIndices, batch, batchesPerEpoch: batches } = plan;
  const n = indices.length;
  if (n === 0) throw new UsageError('the training split is empty');
  const classes = net.outputShape[0];
  const per = split.sampleShape[0] * split.sampleShape[1] * split.sampleShape[2];
  const local = par.share(batch).count; // the most samples of a batch this rank computes
  const interval = logInterval(plan.steps);

  const sgd = new Sgd(net.params, backend, {
    momentum: config.momentum,
    weightDecay: config.weightDecay,
    multipliers: config.multipliers,
  });
  const schedule = new LrSchedule(plan.schedule, config.lr, plan.steps);
  const state: TrainingState = setup.resume
    ? structuredClone(setup.resume.state)
    : freshState(config, net);
  state.config = config;
  if (setup.resume && state.ranks !== par.size)
    throw new UsageError(
      `the checkpoint was trained on ${state.ranks} rank(s); resume it with the same number (mpirun -np ${state.ranks}), not ${par.size}`,
      'resume',
    );
  state.ranks = par.size;
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

  const bestOf = (h: EpochRecord[]): EpochRecord | null =>
    h.reduce<EpochRecord | null>((b, r) => (b === null || r.val.top1 > b.val.top1 ? r : b), null);
  const recordFor = (r: EpochRecord | null): ReturnType<typeof trainingRecord> =>
    trainingRecord(
      dataset,
      { ...config, schedule: plan.schedule },
      { train: n, val: testIndices.length },
      setup.preset ?? null,
      r && { epoch: r.epoch, step: r.step, val: r.val },
    );
  // After a validation the weights are the ones it measured; after an interrupt they are not.
  const save = async (validated: boolean): Promise<void> => {
    if (!par.writer) return;
    await setup.towers?.pull(sgd);
    state.schedule = schedule.getState();
    state.dropoutRng = net.rng.getState();
    const last = validated ? state.history[state.history.length - 1] : null;
    const record = recordFor(last);
    // A device backend's tensors are read once, after the queued work (host backends: no copy).
    const onDevice = net.backend.hostMemory
      ? undefined
      : { params: await net.readState(), momentum: await sgd.readStateTensors() };
    saveTrainedModel(modelPath, net, meta, record, undefined, onDevice?.params);
    if (last && last === bestOf(state.history))
      saveTrainedModel(bestPath, net, meta, record, undefined, onDevice?.params);
    saveTrainingCheckpoint(checkpointPath, net, meta, sgd, state, record, onDevice);
    writeMetrics(join(setup.outDir, METRICS), state.history);
    if (setup.plots !== false) {
      try {
        await writeCurves(
          join(setup.outDir, 'curves.svg'),
          join(setup.outDir, 'curves.png'),
          state.history,
          state.points,
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
  let test: SplitMetrics | null = null;

  const xBufs = [new Float32Array(local * per), new Float32Array(local * per)];
  const labels = new Int32Array(local);
  const lossFn = new SoftmaxLoss(net.backend);

  // With a time budget, training must end early enough to validate and save within it: the
  // fraction of the training time used so far.
  let trainIps = 0;
  // The writer's timeProgress() as of the last step, the same on every rank (data-parallel).
  let agreedClock: number | undefined = budgetAt === Infinity ? undefined : 0;
  const estValSeconds = (): number =>
    valSeconds ?? (trainIps > 0 ? testIndices.length / (trainIps * 2.5) : 0);
  const timeProgress = (): number | undefined => {
    if (budgetAt === Infinity) return undefined;
    const trainUntil = budgetAt - estValSeconds() - SAVE_SECONDS;
    return Math.max(0, elapsed() / Math.max(1, trainUntil));
  };
  // Seconds to the run's end: its remaining steps and validations, or what is left of the budget.
  const runEta = (): number => {
    const steps = plan.steps - state.step;
    const vals = config.epochs - state.epoch;
    const work = (steps * batch) / Math.max(trainIps, 1e-9) + vals * estValSeconds();
    return Math.max(0, Math.min(work, budgetAt - elapsed()));
  };
  const validate = async (): Promise<SplitMetrics> => {
    await setup.towers?.pull(sgd);
    const task = progress.task('validating', testIndices.length);
    const t = performance.now();
    try {
      const probs = await predictSplit([net], dataset.test, {
        batch: local,
        indices: testIndices,
        onBatch: (done) => task.update(done),
      });
      setup.onValidate?.(probs, testIndices);
      const r = report(probs, dataset.classNames);
      return { top1: r.top1, top5: r.top5, loss: r.loss, samples: r.samples };
    } finally {
      task.stop();
      valSeconds = (performance.now() - t) / 1000;
    }
  };

  // The curve between validations: sums over the current logging interval.
  let sums = { loss: 0, correct: 0, seen: 0 };
  const logPoint = (lr: number): void => {
    if (sums.seen === 0) return;
    state.points.push({
      step: state.step,
      epoch: state.epoch + state.batchInEpoch / batches,
      loss: sums.loss / sums.seen,
      top1: sums.correct / sums.seen,
      lr,
    });
    sums = { loss: 0, correct: 0, seen: 0 };
  };

  // Nothing is saved after a divergence: the files in outDir stay those of the last good epoch.
  const diverged = (where: string): TrainingDiverged => {
    const last = state.history[state.history.length - 1];
    const kept = last
      ? `kept the last good checkpoint (epoch ${last.epoch}) in ${setup.outDir}`
      : 'nothing was saved';
    return new TrainingDiverged(
      `training diverged: ${where}; ${kept}; try a lower learning rate (now ${config.lr})`,
      'lr',
    );
  };

  // The batch being prepared. A step that throws (a --parallel worker died) leaves it pending;
  // it settles before the run ends, else closing the data under it never settles either and
  // the process would end with nothing pending and exit code 0, before the run's error.
  let filling: Promise<void> = Promise.resolve();
  try {
    await par.checkReplicas(net, setup.resume ? 'the checkpoint' : 'the start');
    await setup.towers?.push(sgd);
    while (state.epoch < config.epochs) {
      const order = indices.slice();
      new Rng(subSeed(config.seed, SHUFFLE, state.epoch)).shuffle(order);
      // This rank's share of global batch b: [first, first + count) of its m samples.
      const batchIdx = (b: number): { idx: Int32Array; m: number; first: number } => {
        const all = order.subarray(b * batch, Math.min(n, (b + 1) * batch));
        const { first, count } = par.share(all.length);
        return { idx: all.subarray(first, first + count), m: all.length, first };
      };
      const fillBatch = (b: number, step: number): Promise<void> => {
        const { idx, first } = batchIdx(b);
        const filled = split.fill(
          idx,
          xBufs[step % 2].subarray(0, idx.length * per),
          config.augment,
          subSeed(config.seed, AUGMENT, step),
          first,
        );
        filling = filled.catch(() => {}); // awaited in the loop; settled before the run ends
        return filled;
      };
      const epochStart = performance.now();
      let epochImages = 0;
      let next: Promise<void> | null =
        state.batchInEpoch < batches ? fillBatch(state.batchInEpoch, state.step) : null;
      let lr = schedule.lr(state.step, timeProgress());

      while (state.batchInEpoch < batches) {
        const b = state.batchInEpoch;
        const { idx, m: globalM, first } = batchIdx(b);
        const m = idx.length;
        await next;
        // One turn of the event loop per step: a signal is handled at the next step even when
        // every batch was ready before it was asked for (it waited for the epoch's end).
        await new Promise<void>((resolve) => setImmediate(resolve));
        const t1 = performance.now();
        next = b + 1 < batches ? fillBatch(b + 1, state.step + 1) : null;
        for (let i = 0; i < m; i++) labels[i] = split.labels[idx[i]];
        lr = schedule.lr(state.step, par.size > 1 ? agreedClock : timeProgress());
        par.at(`epoch ${state.epoch + 1}, step ${state.step + 1}`);

        let loss = 0;
        let correct = 0;
        if (m > 0) {
          const x = new Tensor(
            [m, ...split.sampleShape],
            xBufs[state.step % 2].subarray(0, m * per),
          );
          net.batchWindow = par.size > 1 ? { first, total: globalM } : null;
          const logits = setup.towers ? await setup.towers.forward(x, true) : net.forward(x, true);
          net.batchWindow = null;
          lossFn.run(logits, labels.subarray(0, m), config.labelSmoothing, true);
          if (setup.towers) await setup.towers.backward(lossFn.dlogits!, backend);
          else await par.backward(net, lossFn.dlogits!, globalM);
        } else {
          await par.backward(net, null, globalM); // a last batch smaller than the ranks
        }
        // A rank without samples drew no dropout masks: it takes the writer's generator.
        if (globalM < par.size) await par.alignDropout(net);
        if (setup.towers) await setup.towers.step(lr);
        else sgd.step(lr);
        // Read only once the whole step is queued (a GPU runs it as one submission). A diverged
        // loss throws before anything is saved, so the files stay those of the last good epoch.
        if (m > 0) {
          const read = await lossFn.read();
          loss = read.loss;
          if (!Number.isFinite(loss) || loss > EXPLODED_LOSS) {
            await next?.catch(() => {});
            throw diverged(`loss ${loss} at epoch ${state.epoch + 1}, step ${state.step + 1}`);
          }
          for (let i = 0; i < m; i++)
            if (argmaxRow(read.probs, i, classes) === labels[i]) correct++;
        }

        // Σ over ranks: loss·images, correct, images, and the writer's clock.
        const [lossSum, correctSum, seen, clock] = await par.sum([
          loss * m,
          correct,
          m,
          par.writer ? (timeProgress() ?? 0) : 0,
        ]);
        agreedClock = timeProgress() === undefined ? undefined : clock;
        state.epochSums.loss += lossSum;
        state.epochSums.correct += correctSum;
        state.epochSums.seen += seen;
        sums.loss += lossSum;
        sums.correct += correctSum;
        sums.seen += seen;
        state.step++;
        state.batchInEpoch++;
        if (state.step % interval === 0) logPoint(lr);
        images += seen;
        epochImages += seen;
        const dt = (performance.now() - t1) / 1000;
        stepSeconds += dt;
        state.seconds += dt;
        const ips = epochImages / ((performance.now() - epochStart) / 1000);
        trainIps = ips;
        progress.step({
          epoch: state.epoch + 1,
          epochs: config.epochs,
          batch: state.batchInEpoch,
          batches,
          loss: state.epochSums.loss / state.epochSums.seen,
          accuracy: state.epochSums.correct / state.epochSums.seen,
          batchLoss: lossSum / seen,
          batchAccuracy: correctSum / seen,
          lr,
          imagesPerSecond: ips,
          eta: Math.max(0, n - state.batchInEpoch * batch) / ips,
          runEta: runEta(),
        });

        if (interrupt || setup.signal?.aborted) break;
        if ((agreedClock ?? 0) >= 1 && state.batchInEpoch < batches) {
          budgetStop = true;
          break;
        }
      }
      await next?.catch(() => {});
      progress.done();
      logPoint(lr);

      if (interrupt || setup.signal?.aborted) {
        interrupted = interrupt;
        await save(false);
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
      const sumsE = state.epochSums;
      const record: EpochRecord = {
        epoch: state.epoch + 1,
        step: state.step,
        lr,
        train: {
          loss: sumsE.seen ? sumsE.loss / sumsE.seen : NaN,
          top1: sumsE.seen ? sumsE.correct / sumsE.seen : 0,
          samples: sumsE.seen,
        },
        val: test,
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
      await save(true);
      setup.onEpoch?.(record);
      if (budgetStop) {
        progress.note(
          `time budget of ${config.maxSeconds} s reached during epoch ${record.epoch}: stopped training and evaluated`,
        );
        break;
      }
      // Not enough budget left for a useful part of another epoch plus its validation (the
      // writer's clock decides for every rank).
      const late = par.writer && elapsed() + 2 * (valSeconds ?? 0) + 2 * SAVE_SECONDS >= budgetAt;
      const [lateRanks] = await par.sum([late ? 1 : 0]);
      if (state.epoch < config.epochs && lateRanks > 0) {
        budgetStop = true;
        progress.note(
          `time budget of ${config.maxSeconds} s reached after epoch ${record.epoch}: stopped`,
        );
        break;
      }
    }
  } finally {
    await filling;
    if (setup.handleSignals !== false) for (const [s, h] of handlers) process.off(s, h);
    progress.done();
  }
  const best = bestOf(state.history);
  return {
    history: state.history,
    test,
    best: best && { epoch: best.epoch, top1: best.val.top1 },
    interrupted,
    aborted: setup.signal?.aborted === true,
    budgetStop,
    images,
    stepSeconds,
    modelPath,
    checkpointPath,
    bestPath,
  };
}
