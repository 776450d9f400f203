// `alexnet lab EXPERIMENT` as a library call: the settings (--quick or the paper's), the runs one
// after another, the analysis and the report. The quick settings are sized for ≤ 15 minutes on a
// 2-core CPU; the full ones are the paper's recipe for a user with time or a GPU.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Backend } from '../backend/backend.js';
import { dataKind } from '../train/setup.js';
import { usage } from '../util/errors.js';
import { EXPERIMENTS, EXPERIMENT_IDS, type Experiment } from './experiments.js';
import { writeReport, type ExperimentReport } from './report.js';
import { LabData, runOne, type LabSettings, type RunResult } from './runner.js';

/** Shared --quick settings: the paper's two-tower net at a quarter of its width at 67 px, on a
 *  subset, for 752 steps of 64. Measured on the bundled Fashion-MNIST (LAB.md): at half width,
 *  fc 1024, lr 0.02 and 376 steps the base net ended at 31% test error, under-trained; a quarter
 *  of the width costs well under half per step, so twice the steps fit, and lr 0.05 reaches
 *  17.7% (0.02: 24.8%, 0.1: 22.6%, Kaiming init: stuck at chance). */
export const QUICK: Omit<LabSettings, 'data'> = {
  arch: 'alexnet2012',
  inputSize: 67,
  width: 0.25,
  fc: 512,
  epochs: 4,
  batch: 64,
  lr: 0.05,
  schedule: { kind: 'cosine', warmup: 50, floor: 1e-4 },
  init: 'xavier',
  maxTrain: 12000,
  maxTest: 2000,
  seed: 1,
};

/** The paper's settings (§5): full width at 227, lr 0.01 ÷10 on plateaus, 90 epochs, its init. */
export const FULL: Omit<LabSettings, 'data'> = {
  arch: 'alexnet2012',
  inputSize: 227,
  width: 1,
  fc: undefined,
  epochs: 90,
  batch: 128,
  lr: 0.01,
  schedule: { kind: 'plateau' },
  init: 'paper',
  maxTrain: null,
  maxTest: null,
  seed: 1,
};

export function experiment(id: string): Experiment {
  const e = EXPERIMENTS.find((x) => x.id === id);
  if (!e) return usage(`lab ${id}: unknown experiment (choose ${EXPERIMENT_IDS.join(', ')})`);
  return e;
}

/** --quick on an ImageFolder tree: its loader crops S×S out of a 256×256 copy of each image, so
 *  at 67 a network would see a quarter of it; at 227 it sees the paper's share. */
export const QUICK_IMAGEFOLDER_INPUT = 227;

export function settingsFor(
  e: Experiment,
  quick: boolean,
  data: string,
  over: Partial<LabSettings> = {},
): LabSettings {
  const clean = Object.fromEntries(Object.entries(over).filter(([, v]) => v !== undefined));
  const folder =
    quick && dataKind(data) === 'imagefolder' ? { inputSize: QUICK_IMAGEFOLDER_INPUT } : {};
  return { ...(quick ? { ...QUICK, ...e.quick, ...folder } : FULL), data, ...clean } as LabSettings;
}

/** --quick on data with fewer training images than its subset: as many more epochs as keep the
 *  number of images seen (so the steps) the same, e.g. 1,200 icons × 40 epochs for 12,000 × 4. */
export function scaledToData(s: LabSettings, trainImages: number): LabSettings {
  if (s.maxTrain === null || trainImages >= s.maxTrain) return s;
  return {
    ...s,
    epochs: Math.ceil((s.epochs * s.maxTrain) / trainImages),
    maxTrain: trainImages,
  };
}

/** What the settings give up against the paper's (ImageNet, 227 px, full width, 90 epochs). */
export function reductions(s: LabSettings): string[] {
  const out: string[] = [];
  if (s.width !== 1 || s.fc !== undefined)
    out.push(
      `width: conv channels ×${+s.width.toPrecision(3)}, fc6/fc7 ${s.fc ?? 4096} instead of 4096`,
    );
  if (s.inputSize !== 227) out.push(`input: ${s.inputSize}×${s.inputSize} instead of 227×227`);
  if (s.maxTrain !== null || s.maxTest !== null)
    out.push(
      `images: ${s.maxTrain ?? 'all'} training and ${s.maxTest ?? 'all'} test images of ${s.data}, not ImageNet's 1.2 million / 50,000`,
    );
  if (s.epochs < 90) out.push(`epochs: ${s.epochs} instead of about 90`);
  if (s.schedule.kind !== 'plateau' || s.init !== 'paper')
    out.push(
      `recipe: ${s.init} init and a ${s.schedule.kind} schedule (a short run does not wait for plateaus)`,
    );
  return out;
}

export interface LabOptions {
  out: string;
  backend: Backend;
  log?: (line: string) => void;
  workers?: boolean;
}

export async function runExperiment(
  e: Experiment,
  s: LabSettings,
  quick: boolean,
  opts: LabOptions,
): Promise<ExperimentReport> {
  const log = opts.log ?? (() => {});
  mkdirSync(opts.out, { recursive: true });
  const ctx = { settings: s, backend: opts.backend, out: opts.out, log, workers: opts.workers };
  const data = new LabData(ctx);
  const started = performance.now();
  const runs: RunResult[] = [];
  try {
    const ds = await data.dataset(false, false);
    if (e.colourOnly && ds.train.sampleShape[0] !== 3)
      usage(
        `lab ${e.id}: ${e.colourOnly}; ${s.data} is grey (${ds.train.sampleShape[0]} channel)`,
        'data',
      );
    if (quick) ctx.settings = s = scaledToData(s, ds.train.size);
    const specs = e.runs(s, opts.out);
    log(`lab ${e.id}: ${specs.length} runs → ${opts.out}`);
    for (const spec of specs) runs.push(await runOne(ctx, data, spec));
  } finally {
    await data.close();
  }
  const { rows, verdict } = e.analyse(runs, s);
  const report: ExperimentReport = {
    experiment: e.id,
    claim: e.claim,
    quick,
    settings: { ...s, schedule: s.schedule.kind },
    reductions: reductions(s),
    rows,
    verdict,
    runs: runs.map((r) => ({
      name: r.spec.name,
      label: r.spec.label,
      top1Error: 1 - r.test.top1,
      top5Error: 1 - r.test.top5,
      steps: r.steps.length,
      seconds: r.seconds,
      model: r.modelPath,
    })),
    seconds: (performance.now() - started) / 1000,
    files: ['report.md', 'report.json', 'steps.svg', 'steps.png', 'curves.svg', 'curves.png'].map(
      (f) => join(opts.out, f),
    ),
  };
  await writeReport(opts.out, report, runs);
  return report;
}
