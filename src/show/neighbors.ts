// Figure 4 (right) of the paper: each query image (first column) beside the training images
// whose last-hidden-layer (fc7) features are nearest to it in Euclidean distance.
import { embedPng, escapeXml, svgDocument } from './figure.js';
import { clip } from './predictions.js';

export interface NeighborRow {
  query: { title: string; png: Buffer };
  neighbors: { title: string; png: Buffer; distance: number }[];
}

const T = 112;
const CELL = T + 16;

export function neighborsSvg(rows: NeighborRow[], layer: string): string {
  const k = Math.max(1, ...rows.map((r) => r.neighbors.length));
  const rowH = T + 40;
  const out: string[] = [
    `<text x="12" y="20" font-size="14">query</text>`,
    `<text x="${12 + CELL + 20}" y="20" font-size="14">${escapeXml(`nearest by ${layer} distance →`)}</text>`,
  ];
  rows.forEach((r, i) => {
    const y = 30 + i * rowH;
    out.push(embedPng(r.query.png, 12, y, T, T));
    out.push(
      `<rect x="11" y="${y - 1}" width="${T + 2}" height="${T + 2}" fill="none" stroke="#d62728" stroke-width="2"/>`,
      `<text x="${12 + T / 2}" y="${y + T + 15}" font-size="11" text-anchor="middle">${escapeXml(clip(r.query.title, 20))}</text>`,
      `<line x1="${12 + CELL + 6}" x2="${12 + CELL + 6}" y1="${y}" y2="${y + T}" stroke="#999"/>`,
    );
    r.neighbors.forEach((n, j) => {
      const x = 12 + CELL + 20 + j * CELL;
      out.push(
        embedPng(n.png, x, y, T, T),
        `<text x="${x + T / 2}" y="${y + T + 15}" font-size="11" text-anchor="middle">${escapeXml(clip(n.title, 20))}</text>`,
        `<text x="${x + T / 2}" y="${y + T + 29}" font-size="10" fill="#555" text-anchor="middle">d = ${n.distance.toPrecision(3)}</text>`,
      );
    });
  });
  return svgDocument(12 + CELL + 20 + k * CELL, 30 + rows.length * rowH, out.join('\n'));
}
