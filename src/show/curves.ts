// Several training runs overlaid (`alexnet show curves RUN…`): training loss and validation top-1
// against epoch, one colour per run, drawn with the trainer's own plot panels.
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { epochRecordSchema, type EpochRecord } from '../train/metrics.js';
import { H, panel, W, type Series } from '../train/plot.js';
import { UsageError, usage } from '../util/errors.js';
import { readInputText } from '../util/input-file.js';
import { escapeXml, svgDocument } from './figure.js';

export const PALETTE = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];

export interface Run {
  name: string;
  history: EpochRecord[];
}

/** RUN_DIR/metrics.jsonl (what `alexnet train` writes), or a .jsonl file itself. */
export function readRun(path: string): Run {
  const file = path.endsWith('.jsonl') ? path : join(path, 'metrics.jsonl');
  let text: string;
  try {
    text = readInputText(file);
  } catch (e) {
    if (!existsSync(file)) return usage(`${path}: no training metrics (${file}: ENOENT)`);
    if (e instanceof UsageError) throw e; // a special or oversized file, named by the reader
    return usage(`${path}: no training metrics (${file}: ${(e as NodeJS.ErrnoException).code})`);
  }
  const history = text
    .split('\n')
    .filter((l) => l.trim())
    .map((line, i) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        return usage(`${file}: line ${i + 1} is not JSON`);
      }
      const r = epochRecordSchema.safeParse(parsed);
      if (!r.success) usage(`${file}: line ${i + 1} is not an epoch record`);
      return r.data;
    });
  if (history.length === 0) usage(`${file}: holds no epochs yet`);
  const name = basename(path.endsWith('.jsonl') ? join(path, '..') : path);
  return { name, history };
}

/** Runs drawn over each other: training loss and validation top-1 accuracy per epoch. */
export function overlaySvg(runs: Run[], title = 'training runs'): string {
  const xMax = Math.max(1, ...runs.flatMap((r) => r.history.map((h) => h.epoch)));
  const series = (f: (h: EpochRecord) => number): Series[] =>
    runs.map((r, i) => ({
      name: r.name,
      color: PALETTE[i % PALETTE.length],
      points: r.history.map((h) => [h.epoch, f(h)] as [number, number]),
    }));
  const body =
    `<text x="${W}" y="16" font-size="15" text-anchor="middle">${escapeXml(title)}</text>\n` +
    `<g transform="translate(0, 22)">` +
    panel(
      0,
      'training loss',
      series((h) => h.train.loss),
      xMax,
      { floor0: true },
    ) +
    panel(
      W,
      'validation top-1 accuracy',
      series((h) => h.val.top1),
      xMax,
    ) +
    `</g>`;
  return svgDocument(2 * W, H + 22, body);
}
