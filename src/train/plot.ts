// Training curves against epochs (fractional: 1.5 is half-way through the second): loss,
// accuracy and learning rate as three panels of one SVG (hand-written, no dependencies) and a PNG
// rendered from it by sharp. Training loss/top-1 and the learning rate have a point per logging
// interval, validation a point per epoch; the loss and accuracy axes are fitted to the data, with
// tick values at round numbers. An interrupted run, with no validation yet, still gets its curve.
import { sharp } from '../data/sharp.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { EpochRecord, StepPoint } from './metrics.js';

export interface Series {
  name: string;
  color: string;
  points: [number, number][];
  /** Dots at the points (sparse series: one per epoch). */
  dots?: boolean;
}

export const W = 380;
export const H = 300;
const M = { left: 58, right: 14, top: 30, bottom: 40 };

/** Round tick values covering [lo, hi]: steps of 1, 2 or 5 × 10^k, about `count` of them. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) hi = lo + (lo === 0 ? 1 : Math.abs(lo) * 0.1);
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? 10 * mag;
  const first = Math.floor(lo / step + 1e-9) * step;
  const ticks: number[] = [];
  for (let t = first; t < hi + step - 1e-9 * step; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

/** A tick label with as many decimals as the step needs (0.25, 1.5, 10; 1e-3 for small lr). */
export function tickLabel(v: number, step: number): string {
  if (v !== 0 && Math.abs(v) < 1e-2) return v.toExponential(0);
  const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
  return v.toFixed(decimals);
}

/** One plot of `series` (title above, legend top-left) at horizontal offset x0, W × H; the y axis
 *  fitted to the data (from 0 with floor0). */
export function panel(
  x0: number,
  title: string,
  series: Series[],
  xMax: number,
  opts: { floor0?: boolean; xLabel?: string } = {},
): string {
  const { floor0 = false, xLabel = 'epoch' } = opts;
  const ys = series.flatMap((s) => s.points.map(([, y]) => y)).filter(Number.isFinite);
  const lo = ys.length ? Math.min(...ys) : 0;
  const hi = ys.length ? Math.max(...ys) : 1;
  const yt = niceTicks(floor0 ? 0 : lo, hi);
  const xt = niceTicks(0, Math.max(xMax, 1e-9), 6);
  const [yMin, yMax] = [yt[0], yt[yt.length - 1]];
  const xEnd = xt[xt.length - 1];
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const sx = (x: number): number => x0 + M.left + (x / xEnd) * pw;
  const sy = (y: number): number => M.top + ph - ((y - yMin) / (yMax - yMin)) * ph;
  const out: string[] = [];
  out.push(`<text x="${x0 + W / 2}" y="18" text-anchor="middle" font-size="14">${title}</text>`);
  out.push(
    `<rect x="${x0 + M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`,
  );
  const yStep = yt.length > 1 ? yt[1] - yt[0] : 1;
  for (const y of yt) {
    out.push(
      `<text x="${x0 + M.left - 6}" y="${sy(y) + 4}" text-anchor="end" font-size="11">${tickLabel(y, yStep)}</text>`,
      `<line x1="${x0 + M.left}" x2="${x0 + M.left + pw}" y1="${sy(y)}" y2="${sy(y)}" stroke="#eee"/>`,
    );
  }
  const xStep = xt.length > 1 ? xt[1] - xt[0] : 1;
  for (const x of xt)
    out.push(
      `<text x="${sx(x)}" y="${M.top + ph + 16}" text-anchor="middle" font-size="11">${tickLabel(x, xStep)}</text>`,
    );
  out.push(
    `<text x="${x0 + M.left + pw / 2}" y="${H - 6}" text-anchor="middle" font-size="12">${xLabel}</text>`,
  );
  series.forEach((s, i) => {
    const pts = s.points.filter(([, y]) => Number.isFinite(y));
    if (pts.length === 0) return;
    const d = pts
      .map(([x, y], j) => `${j ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`)
      .join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.5"/>`);
    if (s.dots || pts.length === 1)
      for (const [x, y] of pts)
        out.push(
          `<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3" fill="${s.color}"/>`,
        );
    out.push(
      `<text x="${x0 + M.left + 8}" y="${M.top + 14 + 14 * i}" font-size="11" fill="${s.color}">${s.name}</text>`,
    );
  });
  return out.join('\n');
}

export function curvesSvg(history: EpochRecord[], points: StepPoint[]): string {
  const xMax = Math.max(0, ...history.map((r) => r.epoch), ...points.map((p) => p.epoch));
  const ep = (f: (r: EpochRecord) => number): [number, number][] =>
    history.map((r) => [r.partial ? (points.at(-1)?.epoch ?? r.epoch) : r.epoch, f(r)]);
  const st = (f: (p: StepPoint) => number): [number, number][] =>
    points.map((p) => [p.epoch, f(p)]);
  const loss = panel(
    0,
    'loss',
    [
      { name: 'train loss', color: '#1f77b4', points: st((p) => p.loss) },
      { name: 'validation loss', color: '#d62728', points: ep((r) => r.val.loss), dots: true },
    ],
    xMax,
    { floor0: true },
  );
  const acc = panel(
    W,
    'accuracy',
    [
      { name: 'train top-1', color: '#1f77b4', points: st((p) => p.top1) },
      { name: 'validation top-1', color: '#d62728', points: ep((r) => r.val.top1), dots: true },
      { name: 'validation top-5', color: '#2ca02c', points: ep((r) => r.val.top5), dots: true },
    ],
    xMax,
  );
  const lr = panel(
    2 * W,
    'learning rate',
    [{ name: 'lr', color: '#9467bd', points: st((p) => p.lr) }],
    xMax,
    { floor0: true },
  );
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${3 * W}" height="${H}" font-family="sans-serif">\n` +
    `<rect width="100%" height="100%" fill="white"/>\n${loss}\n${acc}\n${lr}\n</svg>\n`
  );
}

/** Writes OUT/curves.svg and OUT/curves.png (atomically). */
export async function writeCurves(
  svgPath: string,
  pngPath: string,
  history: EpochRecord[],
  points: StepPoint[],
): Promise<void> {
  const svg = curvesSvg(history, points);
  writeFileAtomic(svgPath, Buffer.from(svg, 'utf8'));
  const png = await sharp(Buffer.from(svg, 'utf8')).png().toBuffer();
  writeFileAtomic(pngPath, png);
}
