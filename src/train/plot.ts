// Training curves: loss (train, validation) and accuracy (train, validation top-1/top-5) against
// epoch, as one SVG (hand-written, no dependencies) and a PNG rendered from it by sharp.
import sharp from 'sharp';
import { writeFileAtomic } from '../util/atomic.js';
import type { EpochRecord } from './metrics.js';

export interface Series {
  name: string;
  color: string;
  points: [number, number][];
}

export const W = 420;
export const H = 300;
const M = { left: 52, right: 16, top: 30, bottom: 40 };

/** One plot of `series` (title above, legend top-left) at horizontal offset x0, W × H. */
export function panel(
  x0: number,
  title: string,
  series: Series[],
  yMin: number,
  yMax: number,
  xMax: number,
  xLabel = 'epoch',
): string {
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const sx = (x: number): number => x0 + M.left + (xMax > 0 ? (x / xMax) * pw : 0);
  const sy = (y: number): number => M.top + ph - ((y - yMin) / (yMax - yMin || 1)) * ph;
  const out: string[] = [];
  out.push(`<text x="${x0 + W / 2}" y="18" text-anchor="middle" font-size="14">${title}</text>`);
  out.push(
    `<rect x="${x0 + M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`,
  );
  for (let i = 0; i <= 4; i++) {
    const y = yMin + ((yMax - yMin) * i) / 4;
    out.push(
      `<text x="${x0 + M.left - 6}" y="${sy(y) + 4}" text-anchor="end" font-size="11">${y.toFixed(y < 10 ? 2 : 0)}</text>`,
    );
    out.push(
      `<line x1="${x0 + M.left}" x2="${x0 + M.left + pw}" y1="${sy(y)}" y2="${sy(y)}" stroke="#eee"/>`,
    );
  }
  const tick = niceStep(xMax / 8);
  for (let e = 0; e <= xMax + 1e-9; e += tick) {
    out.push(
      `<text x="${sx(e)}" y="${M.top + ph + 16}" text-anchor="middle" font-size="11">${e}</text>`,
    );
  }
  out.push(
    `<text x="${x0 + M.left + pw / 2}" y="${H - 6}" text-anchor="middle" font-size="12">${xLabel}</text>`,
  );
  series.forEach((s, i) => {
    if (s.points.length === 0) return;
    const d = s.points
      .map(([x, y], j) => `${j ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`)
      .join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    for (const [x, y] of s.points)
      out.push(
        `<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3" fill="${s.color}"/>`,
      );
    out.push(
      `<text x="${x0 + M.left + 8}" y="${M.top + 14 + 14 * i}" font-size="11" fill="${s.color}">${s.name}</text>`,
    );
  });
  return out.join('\n');
}

/** 1, 2 or 5 × 10^k: the smallest such step ≥ raw (at least 1: epochs and steps are whole). */
function niceStep(raw: number): number {
  if (raw <= 1) return 1;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw)!;
}

export function curvesSvg(history: EpochRecord[]): string {
  const xMax = Math.max(1, ...history.map((r) => r.epoch));
  const pts = (f: (r: EpochRecord) => number): [number, number][] =>
    history.map((r) => [r.epoch, f(r)]);
  const lossMax = Math.max(
    0.1,
    ...history.flatMap((r) => [r.trainLoss, r.valLoss].filter(Number.isFinite)),
  );
  const loss = panel(
    0,
    'loss',
    [
      { name: 'train loss', color: '#1f77b4', points: pts((r) => r.trainLoss) },
      { name: 'validation loss', color: '#d62728', points: pts((r) => r.valLoss) },
    ],
    0,
    lossMax * 1.05,
    xMax,
  );
  const acc = panel(
    W,
    'accuracy',
    [
      { name: 'train accuracy', color: '#1f77b4', points: pts((r) => r.trainAccuracy) },
      { name: 'validation top-1', color: '#d62728', points: pts((r) => r.valTop1) },
      { name: 'validation top-5', color: '#2ca02c', points: pts((r) => r.valTop5) },
    ],
    0,
    1,
    xMax,
  );
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${H}" font-family="sans-serif">\n` +
    `<rect width="100%" height="100%" fill="white"/>\n${loss}\n${acc}\n</svg>\n`
  );
}

/** Writes OUT/curves.svg and OUT/curves.png (atomically). */
export async function writeCurves(
  svgPath: string,
  pngPath: string,
  history: EpochRecord[],
): Promise<void> {
  const svg = curvesSvg(history);
  writeFileAtomic(svgPath, Buffer.from(svg, 'utf8'));
  const png = await sharp(Buffer.from(svg, 'utf8')).png().toBuffer();
  writeFileAtomic(pngPath, png);
}
