// The training record a trained model carries in its metadata (`alexnet.training`, JSON beside
// `alexnet.meta`): where its data came from and how the test split was chosen (so `eval` scores
// the same held-out images, never training ones), the recipe, the validation result of the saved
// weights, and when and by which version it was written. `alexnet info` shows it. Files written
// before it existed, or by other tools, simply have none.
import { z } from 'zod';
import { splitRecordSchema, type Dataset } from '../data/dataset.js';
import { metaToStrings } from '../models/checkpoint.js';
import type { ModelMeta } from '../models/config.js';
import type { Net } from '../nn/net.js';
import { writeSafetensors } from '../tensor/safetensors.js';
import type { Tensor } from '../tensor/tensor.js';
import { usage } from '../util/errors.js';
import { packageInfo } from '../util/version.js';
import { splitMetricsSchema } from './metrics.js';
import { trainConfigSchema, type TrainConfig } from './presets.js';

export const RECORD_KEY = 'alexnet.training';

export const trainingRecordSchema = z.object({
  schemaVersion: z.literal(1),
  package: z.object({ name: z.string(), version: z.string() }),
  /** When the file was written (ISO 8601, UTC). */
  date: z.string(),
  dataset: z.object({
    id: z.string(),
    split: splitRecordSchema,
    /** Images the run trained and validated on (subsets with --max-train/--max-test). */
    trainImages: z.number().int().nonnegative(),
    valImages: z.number().int().nonnegative(),
  }),
  /** The preset the recipe started from (null: given in full, e.g. by the library). */
  preset: z.string().nullable(),
  recipe: trainConfigSchema,
  /** The last validation of these weights: its epoch and step, and the measurement. */
  result: z
    .object({
      epoch: z.number().int().positive(),
      step: z.number().int().nonnegative(),
      val: splitMetricsSchema,
    })
    .nullable(),
});
export type TrainingRecord = z.infer<typeof trainingRecordSchema>;

export function trainingRecord(
  dataset: Dataset,
  config: TrainConfig,
  counts: { train: number; val: number },
  preset: string | null,
  result: TrainingRecord['result'],
): TrainingRecord {
  const { name, version } = packageInfo();
  return {
    schemaVersion: 1,
    package: { name, version },
    date: new Date().toISOString(),
    dataset: {
      id: dataset.id,
      split: dataset.split ?? { kind: 'files' },
      trainImages: counts.train,
      valImages: counts.val,
    },
    preset,
    recipe: config,
    result,
  };
}

/** The model file's metadata strings: alexnet.meta and, for a trained model, alexnet.training. */
export function modelStrings(meta: ModelMeta, record?: TrainingRecord): Record<string, string> {
  return record
    ? { ...metaToStrings(meta), [RECORD_KEY]: JSON.stringify(record) }
    : metaToStrings(meta);
}

/** Writes a trained model: weights, metadata and its training record. */
export function saveTrainedModel(
  path: string,
  net: Net,
  meta: ModelMeta,
  record: TrainingRecord,
  extra?: Map<string, Tensor>,
  /** The parameters read from a device backend (await net.readState()); else net.stateDict(). */
  params?: Map<string, Tensor>,
): void {
  const tensors = params ? new Map(params) : net.stateDict();
  if (extra) for (const [k, v] of extra) tensors.set(k, v);
  writeSafetensors(path, tensors, modelStrings(meta, record));
}

/** The record in a model file's metadata, or null when it has none. */
export function readTrainingRecord(
  path: string,
  metadata: Record<string, string>,
): TrainingRecord | null {
  const raw = metadata[RECORD_KEY];
  if (raw === undefined) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    usage(`${path}: metadata ${RECORD_KEY} is not JSON`);
  }
  const r = trainingRecordSchema.safeParse(parsed);
  if (!r.success)
    usage(
      `${path}: metadata ${RECORD_KEY} is invalid (${r.error.issues[0].path.join('.')}: ${r.error.issues[0].message})`,
    );
  return r.data;
}
