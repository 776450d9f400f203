// The metrics log: one JSON object per epoch in OUT/metrics.jsonl, rewritten whole (atomically)
// after every epoch from the run's history, so a resumed run's log has no duplicate or lost lines.
import { z } from 'zod';
import { writeFileAtomic } from '../util/atomic.js';

export const epochRecordSchema = z.object({
  epoch: z.number().int().positive(),
  step: z.number().int().nonnegative(),
  lr: z.number(),
  trainLoss: z.number(),
  trainAccuracy: z.number(),
  valLoss: z.number(),
  valTop1: z.number(),
  valTop5: z.number(),
  /** Training seconds so far (whole run) and this epoch's training throughput. */
  seconds: z.number(),
  imagesPerSecond: z.number(),
  /** True when the epoch was cut short by the time budget. */
  partial: z.boolean().default(false),
});
export type EpochRecord = z.infer<typeof epochRecordSchema>;

export function writeMetrics(path: string, history: EpochRecord[]): void {
  writeFileAtomic(
    path,
    Buffer.from(history.map((r) => JSON.stringify(r)).join('\n') + '\n', 'utf8'),
  );
}
