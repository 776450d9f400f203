// Training checkpoints: one safetensors file that is BOTH a model file (conv1.weight … fc8.bias
// plus the model metadata, so eval/predict accept it) and the whole training state: momentum
// buffers (`momentum.<param>`) and, under `alexnet.train`, the configuration, epoch, step,
// schedule state, dropout RNG state, the running sums of a part-done epoch and the history.
// Resuming from it continues the run exactly (same batches, masks, learning rates, updates).
import { z } from 'zod';
import type { ModelMeta } from '../models/config.js';
import type { Net } from '../nn/net.js';
import type { Sgd } from '../optim/sgd.js';
import { scheduleStateSchema } from '../optim/schedule.js';
import { readSafetensors, writeSafetensors } from '../tensor/safetensors.js';
import type { Tensor } from '../tensor/tensor.js';
import { usage } from '../util/errors.js';
import { epochRecordSchema, stepPointSchema } from './metrics.js';
import { trainConfigSchema } from './presets.js';
import { modelStrings, type TrainingRecord } from './record.js';

const TRAIN_KEY = 'alexnet.train';

export const trainingStateSchema = z.object({
  version: z.literal(1),
  config: trainConfigSchema,
  /** The epoch in progress (0-based) and how many of its batches are done. */
  epoch: z.number().int().nonnegative(),
  batchInEpoch: z.number().int().nonnegative(),
  /** Updates done in the whole run. */
  step: z.number().int().nonnegative(),
  schedule: scheduleStateSchema,
  dropoutRng: z.object({
    words: z.tuple([z.number(), z.number(), z.number(), z.number()]),
    spare: z.number().nullable(),
  }),
  /** Data-parallel ranks the run trains on (a resume needs as many). */
  ranks: z.number().int().positive().default(1),
  /** Running sums of the epoch in progress: loss·images, correct, images. */
  epochSums: z.object({ loss: z.number(), correct: z.number(), seen: z.number() }),
  /** Seconds spent training so far (for images/s and budgets across resumes). */
  seconds: z.number().nonnegative(),
  history: z.array(epochRecordSchema),
  /** The training curve between validations (absent in older checkpoints). */
  points: z.array(stepPointSchema).default([]),
});
export type TrainingState = z.infer<typeof trainingStateSchema>;

export function saveTrainingCheckpoint(
  path: string,
  net: Net,
  meta: ModelMeta,
  sgd: Sgd,
  state: TrainingState,
  record: TrainingRecord,
  /** Parameters and momentum read from a device backend (readState, readStateTensors). */
  onDevice?: { params: Map<string, Tensor>; momentum: Map<string, Tensor> },
): void {
  const tensors = onDevice ? new Map(onDevice.params) : net.stateDict();
  for (const [k, v] of onDevice?.momentum ?? sgd.stateTensors()) tensors.set(k, v);
  writeSafetensors(path, tensors, {
    ...modelStrings(meta, record),
    [TRAIN_KEY]: JSON.stringify(state),
  });
}

export interface LoadedCheckpoint {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
  state: TrainingState;
}

export function loadTrainingCheckpoint(path: string): LoadedCheckpoint {
  const { tensors, metadata } = readSafetensors(path);
  const raw = metadata[TRAIN_KEY];
  if (raw === undefined)
    usage(
      `${path}: not a training checkpoint (no ${TRAIN_KEY} metadata; a model file cannot be resumed, only fine-tuned from)`,
      'resume',
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    usage(`${path}: ${TRAIN_KEY} metadata is not JSON`);
  }
  const r = trainingStateSchema.safeParse(parsed);
  if (!r.success)
    usage(
      `${path}: ${TRAIN_KEY} metadata is invalid (${r.error.issues[0].path.join('.')}: ${r.error.issues[0].message})`,
    );
  return { tensors, metadata, state: r.data };
}
