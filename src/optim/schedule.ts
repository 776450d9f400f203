// Learning-rate schedules (SPEC §2). Each is a small state machine whose whole state is a plain
// JSON object, so a resumed run continues with exactly the learning rate it would have had.
//   plateau  — the paper (§5): divide by 10 when the validation error stops improving, at most
//              three times, never below the floor (1e-5);
//   step     — Caffe's "step" policy: lr·gamma^floor(iter/stepSize);
//   cosine   — half a cosine from lr down to the floor over the whole run (totalSteps);
//   constant — lr.
import { z } from 'zod';

export const SCHEDULES = ['plateau', 'step', 'cosine', 'constant'] as const;
export type ScheduleKind = (typeof SCHEDULES)[number];

export const scheduleSpecSchema = z.object({
  kind: z.enum(SCHEDULES),
  /** plateau: epochs without improvement before a cut; cuts at most `maxCuts` times. */
  patience: z.number().int().positive().default(1),
  maxCuts: z.number().int().nonnegative().default(3),
  /** plateau: an improvement smaller than this (absolute, in error) does not count. */
  threshold: z.number().nonnegative().default(1e-4),
  /** step: iterations between cuts, and the factor. */
  stepSize: z.number().int().positive().default(100_000),
  gamma: z.number().positive().default(0.1),
  /** Lowest learning rate (plateau and cosine). */
  floor: z.number().nonnegative().default(1e-5),
  /** Linear warm-up from lr/warmup to lr over the first `warmup` iterations (any kind; 0: none).
   *  Not in the paper: it keeps a high lr with momentum from collapsing a freshly initialised
   *  net to the class prior in its first steps. */
  warmup: z.number().int().nonnegative().default(0),
});
export type ScheduleSpec = z.infer<typeof scheduleSpecSchema>;

export const scheduleStateSchema = z.object({
  cuts: z.number().int().nonnegative(),
  best: z.number().nullable(),
  badEpochs: z.number().int().nonnegative(),
  plateauLr: z.number().nullable(),
});
export type ScheduleState = z.infer<typeof scheduleStateSchema>;

export class LrSchedule {
  private state: ScheduleState = { cuts: 0, best: null, badEpochs: 0, plateauLr: null };

  /** totalSteps: the run's length in iterations (only cosine uses it). */
  constructor(
    readonly spec: ScheduleSpec,
    readonly baseLr: number,
    readonly totalSteps: number,
  ) {}

  /** The learning rate for iteration `step` (0-based). `progress` (0..1), when given, overrides
   *  the cosine's step/totalSteps if it is further along — a time-budgeted run anneals over the
   *  time it has rather than over epochs it will not reach. */
  lr(step: number, progress?: number): number {
    const w = this.spec.warmup;
    return step < w
      ? (this.scheduled(step, progress) * (step + 1)) / w
      : this.scheduled(step, progress);
  }

  private scheduled(step: number, progress?: number): number {
    const s = this.spec;
    switch (s.kind) {
      case 'constant':
        return this.baseLr;
      case 'step':
        return this.baseLr * s.gamma ** Math.floor(step / s.stepSize);
      case 'cosine': {
        const t = Math.min(1, Math.max(step / Math.max(1, this.totalSteps), progress ?? 0));
        const floor = Math.min(s.floor, this.baseLr);
        return floor + 0.5 * (this.baseLr - floor) * (1 + Math.cos(Math.PI * t));
      }
      case 'plateau':
        return this.state.plateauLr ?? this.baseLr;
    }
  }

  /** Called after each epoch's validation. Returns true when the learning rate was cut. */
  epochEnd(validationError: number): boolean {
    if (this.spec.kind !== 'plateau') return false;
    const st = this.state;
    if (st.best === null || validationError < st.best - this.spec.threshold) {
      st.best = validationError;
      st.badEpochs = 0;
      return false;
    }
    st.badEpochs++;
    const current = st.plateauLr ?? this.baseLr;
    if (
      st.badEpochs >= this.spec.patience &&
      st.cuts < this.spec.maxCuts &&
      current > this.spec.floor
    ) {
      st.plateauLr = Math.max(current / 10, this.spec.floor);
      st.cuts++;
      st.badEpochs = 0;
      return true;
    }
    return false;
  }

  getState(): ScheduleState {
    return { ...this.state };
  }

  setState(state: ScheduleState): void {
    this.state = scheduleStateSchema.parse(state);
  }
}
