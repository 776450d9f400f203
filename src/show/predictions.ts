// Figure 4 (left) of the paper: each image with the five labels the model considers most
// probable, as bars whose length is the probability. A vector drawing (the images embedded).
import { embedPng, escapeXml, svgDocument } from './figure.js';

export interface PredictionCard {
  title: string;
  /** The image as shown (a PNG of THUMB × THUMB). */
  png: Buffer;
  top: { label: string; probability: number }[];
  /** The true label, when known: its bar is drawn red, as in the paper. */
  truth?: string;
}

export const THUMB = 144;
const CARD_W = 220;
const BAR_H = 17;

export function predictionsSvg(cards: PredictionCard[], perRow = 4): string {
  const cols = Math.min(perRow, Math.max(1, cards.length));
  const rows = Math.ceil(cards.length / cols);
  const cardH = THUMB + 28 + 5 * (BAR_H + 4) + 14;
  const out: string[] = [];
  cards.forEach((card, i) => {
    const x0 = 12 + (i % cols) * CARD_W;
    const y0 = 12 + Math.floor(i / cols) * cardH;
    out.push(embedPng(card.png, x0 + (CARD_W - 24 - THUMB) / 2, y0, THUMB, THUMB));
    out.push(
      `<text x="${x0 + (CARD_W - 24) / 2}" y="${y0 + THUMB + 18}" font-size="13" text-anchor="middle" font-weight="bold">${escapeXml(clip(card.title, 28))}</text>`,
    );
    card.top.forEach((t, j) => {
      const y = y0 + THUMB + 28 + j * (BAR_H + 4);
      const w = Math.max(1, Math.round(t.probability * (CARD_W - 24)));
      const color = card.truth !== undefined && t.label === card.truth ? '#d62728' : '#1f77b4';
      out.push(
        `<rect x="${x0}" y="${y}" width="${CARD_W - 24}" height="${BAR_H}" fill="#f0f0f0"/>`,
        `<rect x="${x0}" y="${y}" width="${w}" height="${BAR_H}" fill="${color}" fill-opacity="0.45"/>`,
        `<text x="${x0 + 4}" y="${y + 13}" font-size="12">${escapeXml(clip(t.label, 22))}</text>`,
        `<text x="${x0 + CARD_W - 28}" y="${y + 13}" font-size="11" text-anchor="end">${t.probability.toFixed(3)}</text>`,
      );
    });
  });
  return svgDocument(cols * CARD_W + 12, rows * cardH + 12, out.join('\n'));
}

export function clip(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}
