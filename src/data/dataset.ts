// The data contract between datasets and the trainer/evaluator. A dataset has a train and a test
// (validation) split; a split fills batches of network-ready inputs on demand. `fill` is async so
// a split may decode and augment on worker threads while the backend computes the previous batch
// (the paper's CPU/GPU split): the trainer calls fill for batch i+1 before computing batch i.
import { z } from 'zod';
import type { Preprocess } from './presets.js';

export interface Split {
  /** Number of usable samples (malformed entries already skipped). */
  readonly size: number;
  /** Label of every sample: [size]. */
  readonly labels: Int32Array;
  /** Network input per sample: [C, H, W]. */
  readonly sampleShape: readonly [number, number, number];
  /** Fills x: [indices.length, C, H, W] with the samples at `indices`. With `augment`, random
   *  crops/flips/colour noise are drawn from a generator seeded by `seed` alone, so the same
   *  (indices, seed) always gives the same batch, whichever worker prepares it. `first` > 0: these
   *  samples are positions [first, first + n) of a batch seeded by `seed` (one rank's share in
   *  data-parallel training), so they get the draws those positions get in the whole batch. */
  fill(
    indices: Int32Array,
    x: Float32Array,
    augment: boolean,
    seed: number,
    first?: number,
  ): Promise<void>;
}

/** How a dataset's test (validation) split was chosen, so that an evaluation can find it again:
 *  separate files (Fashion-MNIST, IDX), a validation folder, or a seeded per-class fraction of one
 *  tree. */
export const splitRecordSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('files') }),
  z.object({ kind: z.literal('folders'), val: z.string() }),
  z.object({
    kind: z.literal('fraction'),
    seed: z.number().int().nonnegative(),
    valFraction: z.number().min(0).max(1),
  }),
]);
export type SplitRecord = z.infer<typeof splitRecordSchema>;

export interface Dataset {
  /** What goes into a model's metadata to find this data again ('fashion-mnist' or a path). */
  readonly id: string;
  readonly classNames: string[];
  readonly train: Split;
  readonly test: Split;
  /** How the test split was chosen (absent: separate files). */
  readonly split?: SplitRecord;
  /** How a single image file must be prepared to match this data (used by predict). */
  readonly preprocess: Preprocess;
  /** Entries that could not be used (empty, malformed, corrupt), with why. */
  readonly skipped: { where: string; why: string }[];
  /** Stops worker threads, if any. */
  close(): Promise<void>;
}
