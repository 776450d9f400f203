// Figure 3 of the paper: conv1's kernels as a mosaic, each contrast-normalised on its own. With
// two towers (alexnet2012, caffenet) tower A's kernels (the first half, which feed conv2's first
// group) are drawn above tower B's, as the paper shows the two GPUs' kernels. RGB kernels are
// drawn in colour (a BGR model's channels are swapped back), grey ones in grey.
// Letters: K kernels, C input channels, k kernel side.
import type { Tensor } from '../tensor/tensor.js';
import { contrastStretch, embedPng, escapeXml, pixelsToPng, svgDocument } from './figure.js';

export interface FilterOptions {
  towers: number;
  /** The model's channel order; 'bgr' kernels are shown as RGB. */
  colorOrder?: 'gray' | 'rgb' | 'bgr';
  /** Kernels per row (default 16, the paper's layout: 3 rows of 16 per tower). */
  perRow?: number;
  /** Screen pixels per kernel pixel (default: about 44 px per kernel). */
  scale?: number;
  title?: string;
}

const GAP = 2;

/** weights: [K, C, k, k] → an SVG document (the mosaic embedded as one PNG per tower). */
export async function filtersSvg(weights: Tensor, opts: FilterOptions): Promise<string> {
  const [kernels, channels, kh, kw] = weights.shape;
  const perRow = Math.min(opts.perRow ?? 16, kernels);
  const scale = opts.scale ?? Math.max(1, Math.round(44 / Math.max(kh, kw)));
  const towers = kernels % opts.towers === 0 ? opts.towers : 1;
  const perTower = kernels / towers;
  const rgb = channels === 3;
  const out: string[] = [];
  const title = opts.title ?? `conv1: ${kernels} kernels of ${kh}×${kw}×${channels}`;
  out.push(`<text x="12" y="22" font-size="15">${escapeXml(title)}</text>`);
  let y = 34;
  let width = 0;
  for (let t = 0; t < towers; t++) {
    const rows = Math.ceil(perTower / perRow);
    const cw = kw * scale + GAP;
    const ch = kh * scale + GAP;
    const w = perRow * cw + GAP;
    const h = rows * ch + GAP;
    const mosaic = new Uint8Array(w * h * 3).fill(255);
    for (let i = 0; i < perTower; i++) {
      const kIndex = t * perTower + i;
      const kernel = weights.data.subarray(
        kIndex * channels * kh * kw,
        (kIndex + 1) * channels * kh * kw,
      );
      const v = contrastStretch(kernel); // [C, k, k], one kernel normalised on its own
      const ox = GAP + (i % perRow) * cw;
      const oy = GAP + Math.floor(i / perRow) * ch;
      for (let yy = 0; yy < kh * scale; yy++) {
        for (let xx = 0; xx < kw * scale; xx++) {
          const p = Math.floor(yy / scale) * kw + Math.floor(xx / scale);
          const o = ((oy + yy) * w + ox + xx) * 3;
          for (let c = 0; c < 3; c++) {
            const src = rgb ? (opts.colorOrder === 'bgr' ? 2 - c : c) : 0;
            mosaic[o + c] = rgb ? v[src * kh * kw + p] : meanChannel(v, channels, kh * kw, p);
          }
        }
      }
    }
    const png = await pixelsToPng(mosaic, w, h, 3);
    if (towers > 1) {
      const name = t === 0 ? 'A' : t === 1 ? 'B' : String(t + 1);
      out.push(
        `<text x="12" y="${y + 14}" font-size="13">tower ${name}: kernels ${t * perTower + 1}–${(t + 1) * perTower}</text>`,
      );
      y += 20;
    }
    out.push(embedPng(png, 10, y, w, h));
    y += h + 12;
    width = Math.max(width, w + 20);
  }
  return svgDocument(Math.max(width, 360), y, out.join('\n'));
}

/** A grey value for a kernel of C ≠ 3 channels: the mean of its stretched channels. */
function meanChannel(v: Uint8Array, channels: number, plane: number, p: number): number {
  let s = 0;
  for (let c = 0; c < channels; c++) s += v[c * plane + p];
  return Math.round(s / channels);
}
