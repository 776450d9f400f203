// An experiment's report: OUT/report.md (the claim, the paper's numbers beside ours, the verdict,
// the settings and their reductions, every run with its time), OUT/report.json (the same as
// data), and the plots — per-step training error and loss of every run overlaid
// (steps.svg/png), training loss and test top-1 per epoch (curves.svg/png).
import { join } from 'node:path';
import { overlaySvg, PALETTE } from '../show/curves.js';
import { svgDocument, writeFigure } from '../show/figure.js';
import { H, panel, W, type Series } from '../train/plot.js';
import { writeFileAtomic } from '../util/atomic.js';
import { smoothed, type Row } from './analysis.js';
import type { LabSettings, RunResult } from './runner.js';

export interface ExperimentReport {
  experiment: string;
  claim: string;
  quick: boolean;
  settings: Omit<LabSettings, 'schedule'> & { schedule: string };
  reductions: string[];
  rows: Row[];
  verdict: string;
  runs: {
    name: string;
    label: string;
    top1Error: number;
    top5Error: number;
    steps: number;
    seconds: number;
    model: string;
  }[];
  seconds: number;
  files: string[];
}

export function stepsSvg(runs: RunResult[], title: string): string {
  const stepMax = Math.max(1, ...runs.map((r) => r.steps.length));
  const series = (f: (r: RunResult) => number[]): Series[] =>
    runs.map((r, i) => ({
      name: r.spec.label,
      color: PALETTE[i % PALETTE.length],
      points: thin(f(r).map((v, j) => [j + 1, v] as [number, number])),
    }));
  const smoothLoss = (r: RunResult): number[] =>
    smoothed(r.steps.map((s) => ({ ...s, error: s.loss })));
  const axes = { floor0: true, xLabel: 'step' };
  const body =
    `<text x="${W}" y="16" font-size="15" text-anchor="middle">${title}</text>\n<g transform="translate(0, 22)">` +
    panel(
      0,
      'training error (20-step mean)',
      series((r) => smoothed(r.steps)),
      stepMax,
      axes,
    ) +
    panel(W, 'training loss (20-step mean)', series(smoothLoss), stepMax, axes) +
    '</g>';
  return svgDocument(2 * W, H + 22, body);
}

/** At most ~200 points per line (the plot marks every point). */
function thin(points: [number, number][]): [number, number][] {
  const every = Math.max(1, Math.ceil(points.length / 200));
  return points.filter((_, i) => i % every === 0 || i === points.length - 1);
}

export async function writeReport(
  out: string,
  report: ExperimentReport,
  runs: RunResult[],
): Promise<void> {
  const title = `${report.experiment}: ${runs.map((r) => r.spec.label).join(' vs ')}`;
  await writeFigure(join(out, 'steps.svg'), stepsSvg(runs, title));
  await writeFigure(join(out, 'steps.png'), stepsSvg(runs, title));
  const epochs = runs.map((r) => ({ name: r.spec.label, history: r.history }));
  await writeFigure(join(out, 'curves.svg'), overlaySvg(epochs, title));
  await writeFigure(join(out, 'curves.png'), overlaySvg(epochs, title));
  writeFileAtomic(join(out, 'report.json'), Buffer.from(JSON.stringify(report, null, 2) + '\n'));
  writeFileAtomic(join(out, 'report.md'), Buffer.from(markdown(report)));
}

function markdown(r: ExperimentReport): string {
  const s = r.settings;
  const lines = [
    `# alexnet lab ${r.experiment}${r.quick ? ' --quick' : ''}`,
    '',
    `**The paper's claim.** ${r.claim}`,
    '',
    `**Verdict.** ${r.verdict}`,
    '',
    '| quantity | paper | ours |',
    '|---|---|---|',
    ...r.rows.map((x) => `| ${x.quantity} | ${x.paper} | ${x.ours} |`),
    '',
    '![training error per step](steps.png)',
    '',
    '![training loss and test top-1 per epoch](curves.png)',
    '',
    '## Settings',
    '',
    `${s.arch} at ${s.inputSize}×${s.inputSize}, conv width ×${+s.width.toPrecision(3)}, fc6/fc7 ${s.fc ?? 4096}; data ${s.data}` +
      ` (${s.maxTrain ?? 'all'} training / ${s.maxTest ?? 'all'} test images, the same for every run); ` +
      `${s.epochs} epochs, batch ${s.batch}, SGD lr ${s.lr} (${s.schedule}), momentum 0.9, weight decay 5e-4, ${s.init} init, seed ${s.seed}.`,
    '',
    ...(r.reductions.length
      ? ['Reductions against the paper:', '', ...r.reductions.map((x) => `- ${x}`), '']
      : []),
    '## Runs',
    '',
    '| run | top-1 error | top-5 error | steps | seconds | model |',
    '|---|---|---|---|---|---|',
    ...r.runs.map(
      (x) =>
        `| ${x.label} | ${(100 * x.top1Error).toFixed(2)}% | ${(100 * x.top5Error).toFixed(2)}% | ${x.steps} | ${x.seconds.toFixed(0)} | ${x.model} |`,
    ),
    '',
    `Total: ${r.seconds.toFixed(0)} s. One seed per run: differences smaller than about a percentage point are within what a change of seed moves.`,
    '',
  ];
  return lines.join('\n');
}
