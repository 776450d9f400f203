// The paper's claims as controlled experiments: for each, the runs (differing in one thing), the
// paper's numbers, how ours are computed from the runs, and the reductions of its --quick setting.
import { join } from 'node:path';
import { MIDDLE_CONVS } from '../models/variants.js';
import {
  averaged,
  errorsOf,
  errorsOfProbs,
  pairRows,
  pairVerdict,
  pct,
  signedPct,
  smoothed,
  stepsTo,
  type Analysis,
  type Errors,
} from './analysis.js';
import type { LabSettings, RunResult, RunSpec } from './runner.js';

export interface Experiment {
  id: string;
  claim: string;
  /** Needs 3-channel images (the reason, when the data is grey). */
  colourOnly?: string;
  /** What --quick changes beyond the shared quick settings. */
  quick?: Partial<LabSettings>;
  runs(s: LabSettings, out: string): RunSpec[];
  analyse(runs: RunResult[], s: LabSettings): Analysis;
}

const byName = (runs: RunResult[], name: string): RunResult => {
  const r = runs.find((x) => x.spec.name === name);
  if (!r) throw new Error(`no run ${name}`);
  return r;
};

function pairExperiment(
  id: string,
  claim: string,
  name: string,
  paper: Errors,
  base: RunSpec,
  other: RunSpec,
  extra: Partial<Experiment> = {},
): Experiment {
  return {
    id,
    claim,
    runs: () => [base, other],
    analyse: (runs) => {
      const w = errorsOf(byName(runs, base.name));
      const wo = errorsOf(byName(runs, other.name));
      return { rows: pairRows(name, w, wo, paper), verdict: pairVerdict(name, w, wo, paper.top1) };
    },
    ...extra,
  };
}

const TARGET_ERROR = 0.25;

const reluTanh: Experiment = {
  id: 'relu-tanh',
  claim:
    'Figure 1: with ReLUs a four-layer CNN reached 25% training error on CIFAR-10 six times faster than with tanh',
  runs: () => [
    { name: 'relu', label: 'ReLU' },
    { name: 'tanh', label: 'tanh', variant: { activation: 'tanh' } },
  ],
  analyse: (runs) => {
    const relu = byName(runs, 'relu');
    const tanh = byName(runs, 'tanh');
    const a = stepsTo(relu.steps, TARGET_ERROR);
    const b = stepsTo(tanh.steps, TARGET_ERROR);
    const total = tanh.steps.length;
    const ratio =
      a === null ? null : b === null ? `> ${(total / a).toFixed(1)}×` : `${(b / a).toFixed(1)}×`;
    const last = (r: RunResult): string => pct(smoothed(r.steps).at(-1) ?? 1);
    return {
      rows: [
        {
          quantity: `steps to ${pct(TARGET_ERROR, 0)} training error (20-step mean)`,
          paper: 'ReLU ≈ 6× fewer than tanh (epochs, Figure 1)',
          ours: `ReLU ${a ?? 'never'}, tanh ${b ?? `not within ${total}`}${ratio ? `: ${ratio}` : ''}`,
        },
        {
          quantity: 'final training error (20-step mean)',
          paper: '—',
          ours: `ReLU ${last(relu)}, tanh ${last(tanh)}`,
        },
        {
          quantity: 'test top-1 error',
          paper: '—',
          ours: `ReLU ${pct(errorsOf(relu).top1)}, tanh ${pct(errorsOf(tanh).top1)}`,
        },
      ],
      verdict:
        a === null && b === null
          ? `inconclusive: neither net reached ${pct(TARGET_ERROR, 0)} training error in the budget`
          : a === null
            ? `disagrees: tanh reached ${pct(TARGET_ERROR, 0)} training error at step ${b}, the ReLU net not within ${relu.steps.length} steps (paper: ReLUs about 6× sooner)`
            : b === null || b > a
              ? `agrees in direction: ReLUs reached ${pct(TARGET_ERROR, 0)} training error ${ratio} sooner (paper: about 6×)`
              : `disagrees: tanh reached ${pct(TARGET_ERROR, 0)} training error as soon or sooner (${b} vs ${a} steps)`,
    };
  },
};

const lrn = pairExperiment(
  'lrn',
  'response normalisation lowered top-1/top-5 error by 1.4%/1.2% (CIFAR-10: 13% → 11%)',
  'LRN',
  { top1: 0.014, top5: 0.012 },
  { name: 'lrn', label: 'with LRN' },
  { name: 'no-lrn', label: 'without LRN', variant: { lrn: false } },
);

const overlapPool = pairExperiment(
  'overlap-pool',
  'overlapping 3×3 stride-2 pooling lowered top-1/top-5 error by 0.4%/0.3% against 2×2 stride 2',
  'overlapping pooling',
  { top1: 0.004, top5: 0.003 },
  { name: 'overlap', label: '3×3 stride 2' },
  { name: 'pool-2x2', label: '2×2 stride 2', variant: { pool: '2x2' } },
);

const towers = pairExperiment(
  'towers',
  'two towers with half the kernels each beat one tower of half width by 1.7%/1.2% top-1/top-5 (the grouped net: towers as groups = 2)',
  'two towers',
  { top1: 0.017, top5: 0.012 },
  { name: 'two-towers', label: 'two towers (groups 2)' },
  { name: 'one-tower', label: 'one tower, half the kernels', variant: { towers: 'one' } },
);

const pcaNoise = pairExperiment(
  'pca-noise',
  'PCA colour augmentation lowered top-1 error by over 1%',
  'PCA colour noise',
  { top1: 0.01, top5: 0 },
  { name: 'pca-noise', label: 'with PCA colour noise', colorNoise: true },
  { name: 'no-noise', label: 'without colour noise', colorNoise: false },
  {
    colourOnly:
      'PCA colour noise needs colour images (a CIFAR-10 directory or a colour ImageFolder tree)',
  },
);

/** A train–test accuracy gap above this counts as overfitting. */
const OVERFIT = 0.01;

const dropout: Experiment = {
  id: 'dropout',
  claim:
    'without dropout the net overfits substantially; dropout roughly doubles the iterations needed to converge',
  quick: { maxTrain: 3000, epochs: 16 }, // few images, many passes: room to overfit
  runs: () => [
    { name: 'dropout', label: 'dropout 0.5 in fc6, fc7' },
    { name: 'no-dropout', label: 'no dropout', variant: { dropout: false } },
  ],
  analyse: (runs) => {
    const d = byName(runs, 'dropout');
    const n = byName(runs, 'no-dropout');
    const gap = (r: RunResult): number => {
      const last = r.history[r.history.length - 1];
      return last.train.top1 - last.val.top1;
    };
    // Iterations to converge: steps until each run's smoothed training error first reaches the
    // level the dropout run ends at.
    const level = smoothed(d.steps).at(-1) ?? 0;
    const a = stepsTo(n.steps, level);
    const b = stepsTo(d.steps, level);
    const ratio = a && b ? b / a : null;
    return {
      rows: [
        {
          quantity: 'overfitting: last epoch training accuracy − test top-1',
          paper: 'substantial without dropout',
          ours: `without ${pct(gap(n))}, with ${pct(gap(d))}`,
        },
        {
          quantity: `steps to the training error dropout ends at (${pct(level)})`,
          paper: 'about 2× with dropout',
          ours: ratio ? `without ${a}, with ${b}: ${ratio.toFixed(1)}×` : 'not reached',
        },
        {
          quantity: 'test top-1 error',
          paper: 'lower with dropout',
          ours: `without ${pct(errorsOf(n).top1)}, with ${pct(errorsOf(d).top1)}`,
        },
      ],
      verdict:
        gap(n) > OVERFIT && gap(n) > gap(d) && (ratio ?? 0) > 1
          ? `agrees in direction: without dropout the train–test gap is ${pct(gap(n))} (with: ${pct(gap(d))}) and dropout needed ${ratio!.toFixed(1)}× the steps (paper: about 2×)`
          : `partly disagrees: train–test gap without ${pct(gap(n))} vs with ${pct(gap(d))}, step ratio ${ratio?.toFixed(1) ?? 'n/a'} (paper: overfitting without, ~2× steps with)`,
    };
  },
};

const views: Experiment = {
  id: 'views',
  claim:
    "ten-view testing (4 corners + centre, mirrored) beats the centre crop (the original code's log: 40.66% → 40.25% top-1 error)",
  runs: () => [{ name: 'crops', label: 'trained on random crops', crops: true }],
  analyse: (runs) => {
    const r = byName(runs, 'crops');
    const centre = errorsOf(r);
    const ten = errorsOfProbs(r.tenViews!);
    const gain = centre.top1 - ten.top1;
    return {
      rows: [
        { quantity: 'top-1 error, centre crop', paper: '40.66%', ours: pct(centre.top1) },
        { quantity: 'top-1 error, ten views', paper: '40.25%', ours: pct(ten.top1) },
        {
          quantity: 'top-5 error, centre → ten views',
          paper: '—',
          ours: `${pct(centre.top5)} → ${pct(ten.top5)}`,
        },
      ],
      verdict:
        gain > 0
          ? `agrees in direction: ten views lowered top-1 error by ${pct(gain)} (paper 0.41%)`
          : `disagrees: ten views ${gain === 0 ? 'left top-1 error unchanged' : `raised top-1 error by ${pct(-gain)}`} (paper: lowered it by 0.41%)`,
    };
  },
};

const ENSEMBLE = 5;
const STARRED = 2;

const ensemble: Experiment = {
  id: 'ensemble',
  claim:
    'Table 2: 1 CNN 40.7%/18.2%, 5 CNNs 38.1%/16.4%, 1 CNN* 39.0%/16.6%, 7 CNNs* 36.7%/15.4% top-1/top-5 (CNN*: a sixth conv layer after pool5, pretrained on other data and fine-tuned)',
  quick: { maxTrain: 6000 }, // 9 runs of 376 steps, members at ≈ 26% error (not chance)
  runs: (s, out) => [
    ...Array.from({ length: ENSEMBLE }, (_, i) => ({
      name: `cnn-${i + 1}`,
      label: `CNN ${i + 1}`,
      seed: s.seed + i,
    })),
    ...Array.from({ length: STARRED }, (_, i) => [
      {
        name: `pretrain-${i + 1}`,
        label: `CNN* ${i + 1}: pretraining on the other images`,
        seed: s.seed + 100 + i,
        variant: { conv6: true },
        pretrain: true,
      },
      {
        name: `cnn6-${i + 1}`,
        label: `CNN* ${i + 1}: fine-tuned`,
        seed: s.seed + 200 + i,
        variant: { conv6: true },
        from: join(out, 'runs', `pretrain-${i + 1}`, 'model.safetensors'),
      },
    ]).flat(),
  ],
  analyse: (runs) => {
    const plain = runs.filter((r) => r.spec.name.startsWith('cnn-'));
    const starred = runs.filter((r) => r.spec.name.startsWith('cnn6-'));
    const one = errorsOf(plain[0]);
    const five = errorsOfProbs(averaged(plain.map((r) => r.probs)));
    const oneStar = errorsOf(starred[0]);
    const seven = errorsOfProbs(averaged([...plain, ...starred].map((r) => r.probs)));
    const cell = (e: Errors): string => `${pct(e.top1)} / ${pct(e.top5)}`;
    const members = [...plain, ...starred].map((r) => errorsOf(r).top1);
    const chance = 1 - 1 / plain[0].probs.classes;
    const spread = `${pct(Math.min(...members))}–${pct(Math.max(...members))} (chance ${pct(chance)})`;
    const checks = [
      ['5 beat 1', five.top1 < one.top1, five.top1 - one.top1],
      ['CNN* beats CNN', oneStar.top1 < one.top1, oneStar.top1 - one.top1],
      ['7 beat 5', seven.top1 < five.top1, seven.top1 - five.top1],
      ['7 beat 1', seven.top1 < one.top1, seven.top1 - one.top1],
    ] as const;
    const said = checks.map(([what, , d]) => `${what} ${signedPct(d)}`).join(', ');
    return {
      rows: [
        { quantity: '1 CNN (top-1 / top-5 error)', paper: '40.7% / 18.2%', ours: cell(one) },
        { quantity: `${ENSEMBLE} CNNs`, paper: '38.1% / 16.4%', ours: cell(five) },
        { quantity: '1 CNN*', paper: '39.0% / 16.6%', ours: cell(oneStar) },
        { quantity: `${ENSEMBLE + STARRED} CNNs*`, paper: '36.7% / 15.4%', ours: cell(seven) },
        { quantity: 'members, top-1 error (each net alone)', paper: '—', ours: spread },
      ],
      verdict:
        Math.max(...members) > chance - 0.05
          ? `inconclusive: a member stayed near chance (${spread}), so the averages measure little`
          : checks.every(([, ok]) => ok)
            ? `agrees in order: ${said} in top-1 error (paper −2.6%, −1.7%, −1.4%, −4.0%)`
            : `partly disagrees: of "5 beat 1, CNN* beats CNN, 7 beat 5, 7 beat 1", ${checks.filter(([, ok]) => ok).length} of 4 hold (${said} in top-1 error; paper −2.6%, −1.7%, −1.4%, −4.0%)`,
    };
  },
};

const depth: Experiment = {
  id: 'depth',
  claim: 'removing any middle convolutional layer costs about 2% top-1',
  runs: () => [
    { name: 'all', label: 'all five conv layers' },
    ...MIDDLE_CONVS.map((c) => ({
      name: `no-${c}`,
      label: `without ${c}`,
      variant: { remove: [c] },
    })),
  ],
  analyse: (runs) => {
    const all = errorsOf(byName(runs, 'all'));
    const costs = MIDDLE_CONVS.map((c) => errorsOf(byName(runs, `no-${c}`)).top1 - all.top1);
    return {
      rows: MIDDLE_CONVS.map((c, i) => ({
        quantity: `top-1 error without ${c}`,
        paper: '≈ +2%',
        ours: `${signedPct(costs[i])} (${pct(all.top1)} → ${pct(all.top1 + costs[i])})`,
      })),
      verdict: costs.every((c) => c > 0)
        ? `agrees in direction: removing conv2/conv3/conv4 cost ${costs.map((c) => pct(c)).join(' / ')} top-1 (paper: about 2% each)`
        : `partly disagrees: removing ${MIDDLE_CONVS.filter((_, i) => costs[i] <= 0).join(', ')} did not raise top-1 error (costs ${costs.map(signedPct).join(' / ')}; paper: about +2% each)`,
    };
  },
};

export const EXPERIMENTS: Experiment[] = [
  reluTanh,
  lrn,
  overlapPool,
  dropout,
  pcaNoise,
  views,
  ensemble,
  towers,
  depth,
];
export const EXPERIMENT_IDS = EXPERIMENTS.map((e) => e.id);
