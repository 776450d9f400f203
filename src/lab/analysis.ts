// The numbers an experiment's verdict rests on: errors as percentages, differences between
// runs, steps until a smoothed training error reaches a level, and softmax-averaged ensembles.
import type { Probabilities } from '../eval/evaluate.js';
import { topKAccuracy } from '../eval/topk.js';
import type { RunResult, StepRecord } from './runner.js';

export interface Row {
  quantity: string;
  paper: string;
  ours: string;
}

export interface Analysis {
  rows: Row[];
  verdict: string;
}

/** 0.1234 → "12.34%" (errors and differences, in percentage points). */
export const pct = (x: number, digits = 2): string => `${(100 * x).toFixed(digits)}%`;
export const signedPct = (x: number): string => `${x >= 0 ? '+' : '−'}${pct(Math.abs(x))}`;

export interface Errors {
  top1: number;
  top5: number;
}

export const errorsOf = (r: RunResult): Errors => ({
  top1: 1 - r.test.top1,
  top5: 1 - r.test.top5,
});

export function errorsOfProbs(p: Probabilities): Errors {
  return {
    top1: 1 - topKAccuracy(p.probs, p.labels, p.classes, 1),
    top5: 1 - topKAccuracy(p.probs, p.labels, p.classes, 5),
  };
}

/** The softmax outputs of several models averaged (the paper's ensembles). */
export function averaged(ps: Probabilities[]): Probabilities {
  const probs = new Float32Array(ps[0].probs.length);
  for (const p of ps) for (let i = 0; i < probs.length; i++) probs[i] += p.probs[i] / ps.length;
  return { ...ps[0], probs };
}

/** Training error averaged over the last `window` steps, per step. */
export function smoothed(steps: StepRecord[], window = 20): number[] {
  const out: number[] = [];
  let s = 0;
  steps.forEach((r, i) => {
    s += r.error;
    if (i >= window) s -= steps[i - window].error;
    out.push(s / Math.min(i + 1, window));
  });
  return out;
}

/** The first step (1-based) whose smoothed training error is at most `level`, or null. */
export function stepsTo(steps: StepRecord[], level: number, window = 20): number | null {
  const i = smoothed(steps, window).findIndex((e) => e <= level);
  return i < 0 ? null : i + 1;
}

/** "A lowered top-1 error by 1.2% (paper: 1.4%)" for a change the paper says helps: `with` is
 *  the paper's choice, `without` the alternative; helps = without − with > 0. */
export function pairRows(
  name: string,
  withR: Errors,
  withoutR: Errors,
  paper: { top1: number; top5: number },
): Row[] {
  return [
    {
      quantity: `top-1 error lowered by ${name}`,
      paper: pct(paper.top1, 1),
      ours: `${signedPct(withoutR.top1 - withR.top1)} (${pct(withoutR.top1)} → ${pct(withR.top1)})`,
    },
    {
      quantity: `top-5 error lowered by ${name}`,
      paper: pct(paper.top5, 1),
      ours: `${signedPct(withoutR.top5 - withR.top5)} (${pct(withoutR.top5)} → ${pct(withR.top5)})`,
    },
  ];
}

export function pairVerdict(
  name: string,
  withR: Errors,
  withoutR: Errors,
  paperTop1: number,
): string {
  const gain = withoutR.top1 - withR.top1;
  if (gain > 0)
    return `agrees in direction: ${name} lowered top-1 error by ${pct(gain)} (paper ${pct(paperTop1, 1)})${gain < paperTop1 / 3 ? ', a much smaller effect' : ''}`;
  if (gain === 0)
    return `no effect measured: ${name} left top-1 error at ${pct(withR.top1)} (paper: −${pct(paperTop1, 1)})`;
  return `disagrees: ${name} raised top-1 error by ${pct(-gain)} here (paper: lowered by ${pct(paperTop1, 1)})`;
}
