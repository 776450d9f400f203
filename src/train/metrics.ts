// The one vocabulary of results, in OUT/metrics.jsonl, every --json line and the model's training
// record: a measurement of a split is { top1, top5, loss, samples } (accuracies in 0..1), named
// by the split it measured (`train`, `val`, `test`). Every JSON line carries SCHEMA_VERSION.
// metrics.jsonl holds one epoch record a line, rewritten whole (atomically) after every epoch from
// the run's history, so a resumed run's log has no duplicate or lost lines and an empty history
// is an empty file.
import { z } from 'zod';
import { writeFileAtomic } from '../util/atomic.js';

/** Bumped when a field of the JSON output changes meaning or name. */
export const SCHEMA_VERSION = 1;

export const splitMetricsSchema = z.object({
  top1: z.number(),
  top5: z.number(),
  loss: z.number(),
  samples: z.number().int().nonnegative(),
});
export type SplitMetrics = z.infer<typeof splitMetricsSchema>;

const epochFields = z.object({
  epoch: z.number().int().positive(),
  step: z.number().int().nonnegative(),
  lr: z.number(),
  /** Running loss and top-1 of the epoch's training batches (with augmentation and dropout). */
  train: z.object({ loss: z.number(), top1: z.number(), samples: z.number().int().nonnegative() }),
  val: splitMetricsSchema,
  /** Training seconds so far (whole run) and this epoch's training throughput. */
  seconds: z.number(),
  imagesPerSecond: z.number(),
  /** True when the epoch was cut short by the time budget. */
  partial: z.boolean().default(false),
});

/** Checkpoints written before SCHEMA_VERSION 1 hold flat records (trainAccuracy, valTop1, …). */
function fromFlat(r: unknown): unknown {
  if (typeof r !== 'object' || r === null || !('valTop1' in r)) return r;
  const f = r as Record<string, number | boolean>;
  return {
    ...f,
    train: { loss: f.trainLoss, top1: f.trainAccuracy, samples: 0 },
    val: { top1: f.valTop1, top5: f.valTop5, loss: f.valLoss, samples: 0 },
  };
}

export const epochRecordSchema = z.preprocess(fromFlat, epochFields);
export type EpochRecord = z.infer<typeof epochFields>;

/** The training curve between validations: one point per logging interval (OUT/curves.*). */
export const stepPointSchema = z.object({
  step: z.number().int().positive(),
  /** Fractional epochs done: 1.5 is half-way through the second epoch. */
  epoch: z.number().nonnegative(),
  /** Mean loss and top-1 of the interval's training batches, and its last learning rate. */
  loss: z.number(),
  top1: z.number(),
  lr: z.number(),
});
export type StepPoint = z.infer<typeof stepPointSchema>;

/** Steps between two points of the curve: about 200 points for the planned run. */
export function logInterval(plannedSteps: number): number {
  return Math.max(1, Math.ceil(plannedSteps / 200));
}

/** An epoch record as a JSON line. */
export function epochLine(r: EpochRecord): Record<string, unknown> {
  return { schemaVersion: SCHEMA_VERSION, event: 'epoch', ...r };
}

export function writeMetrics(path: string, history: EpochRecord[]): void {
  const lines = history.map((r) => JSON.stringify(epochLine(r)) + '\n');
  writeFileAtomic(path, Buffer.from(lines.join(''), 'utf8'));
}
