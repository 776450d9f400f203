// The confusion matrix as a heat map: rows are the true classes, columns the predicted ones; each
// cell's shade is its share of the row (so every class reads alike), and its count is written in.
import { escapeXml, svgDocument } from './figure.js';
import { clip } from './predictions.js';

export function confusionSvg(matrix: number[][], classNames: string[], title: string): string {
  const l = matrix.length;
  const cell = l <= 12 ? 44 : l <= 30 ? 22 : 10;
  const labelW = l <= 30 ? 110 : 0;
  const top = 40 + (l <= 30 ? 90 : 0);
  const left = 20 + labelW;
  const out: string[] = [`<text x="12" y="22" font-size="15">${escapeXml(title)}</text>`];
  for (let i = 0; i < l; i++) {
    const total = matrix[i].reduce((a, b) => a + b, 0) || 1;
    for (let j = 0; j < l; j++) {
      const share = matrix[i][j] / total;
      const x = left + j * cell;
      const y = top + i * cell;
      // White → navy by share; the diagonal uses the same scale.
      const mix = (navy: number): number => Math.round(255 - share * (255 - navy));
      out.push(
        `<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="rgb(${mix(8)},${mix(48)},${mix(107)})" stroke="#ddd"/>`,
      );
      if (cell >= 22 && matrix[i][j] > 0)
        out.push(
          `<text x="${x + cell / 2}" y="${y + cell / 2 + 4}" font-size="${cell >= 40 ? 11 : 8}" text-anchor="middle" fill="${share > 0.5 ? 'white' : 'black'}">${matrix[i][j]}</text>`,
        );
    }
    if (labelW) {
      const name = escapeXml(clip(classNames[i] ?? String(i), 16));
      out.push(
        `<text x="${left - 6}" y="${top + i * cell + cell / 2 + 4}" font-size="12" text-anchor="end">${name}</text>`,
        `<text transform="translate(${left + i * cell + cell / 2 + 4}, ${top - 6}) rotate(-60)" font-size="12">${name}</text>`,
      );
    }
  }
  const w = left + l * cell + 20;
  const h = top + l * cell + 34;
  out.push(
    `<text x="${left + (l * cell) / 2}" y="${h - 10}" font-size="12" text-anchor="middle">predicted class (rows: true class; shade: share of the row)</text>`,
  );
  return svgDocument(Math.max(w, 360), h, out.join('\n'));
}
