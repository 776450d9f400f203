// The run as planned, before its first step: which images it trains and validates on (all, or
// the seeded subsets of --max-train/--max-test), how many batches and steps that makes, and the
// learning-rate schedule fitted to those steps. A preset's warm-up is written for its full run;
// a quick try of a few dozen steps would spend all of them warming up (48 steps of fashion-quick's
// 100-step warm-up never got past lr 0.005 and ended at chance), so the warm-up is capped at a
// tenth of the planned steps. The cosine already anneals over the planned steps (or over the
// time budget, when that ends the run first).
import type { Dataset } from '../data/dataset.js';
import type { ScheduleSpec } from '../optim/schedule.js';
import { Rng } from '../util/rng.js';
import type { TrainConfig } from './presets.js';

/** The largest share of the planned steps a warm-up may take. */
export const WARMUP_SHARE = 0.1;

/** A 32-bit seed for (seed, purpose, index): splitmix-style mixing. */
export function subSeed(seed: number, purpose: number, index: number): number {
  let z = (seed ^ Math.imul(purpose + 1, 0x9e3779b9) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x7feb352d) >>> 0;
  z = Math.imul(z ^ (z >>> 15), 0x846ca68b) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}
export const SHUFFLE = 1;
export const AUGMENT = 2;
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

/** The validation indices the run uses: all, or a seeded subset of config.maxTest. */
export function valIndices(size: number, config: TrainConfig): Int32Array {
  return subsetIndices(size, config.maxTest, config.seed, 1);
}

/** The schedule for a run of `steps` updates: the warm-up at most WARMUP_SHARE of them. */
export function fitSchedule(spec: ScheduleSpec, steps: number): ScheduleSpec {
  return { ...spec, warmup: Math.min(spec.warmup, Math.floor(WARMUP_SHARE * steps)) };
}

export interface RunPlan {
  trainIndices: Int32Array;
  valIndices: Int32Array;
  /** Images in the dataset's splits (the indices are a subset of these). */
  trainTotal: number;
  valTotal: number;
  batch: number;
  batchesPerEpoch: number;
  /** Updates in the whole run if every epoch runs (a time budget may end it sooner). */
  steps: number;
  schedule: ScheduleSpec;
}

export function planRun(config: TrainConfig, dataset: Dataset): RunPlan {
  const train = trainIndices(dataset.train.size, config);
  const batch = Math.max(1, Math.min(config.batch, train.length));
  const batchesPerEpoch = Math.ceil(train.length / batch);
  const steps = config.epochs * batchesPerEpoch;
  return {
    trainIndices: train,
    valIndices: valIndices(dataset.test.size, config),
    trainTotal: dataset.train.size,
    valTotal: dataset.test.size,
    batch,
    batchesPerEpoch,
    steps,
    schedule: fitSchedule(config.schedule, steps),
  };
}

/** "2048 of 60000" or "60000". */
export function countOf(used: number, total: number): string {
  return used === total ? String(total) : `${used} of ${total}`;
}
