// One layer's response to one image (`show activations --layer L`): a map layer ([1, C, H, W])
// as a grid of C grey tiles, each stretched to its own range; a vector layer ([1, D]) as rows of
// 64 cells stretched together.
import type { Tensor } from '../tensor/tensor.js';
import { contrastStretch, embedPng, escapeXml, pixelsToPng, svgDocument } from './figure.js';

export async function activationsSvg(y: Tensor, title: string): Promise<string> {
  const maps = y.shape.length === 4;
  const c = maps ? y.shape[1] : 1;
  const h = maps ? y.shape[2] : Math.ceil(y.size / 64);
  const w = maps ? y.shape[3] : Math.min(64, y.size);
  const perRow = maps ? Math.min(c, 16) : 1;
  // Maps: tiles of at least 48 px; a vector: cells of 14 px.
  const scale = maps ? Math.max(1, Math.ceil(48 / Math.max(h, w))) : 14;
  const gap = 2;
  const cw = w * scale + gap;
  const ch = h * scale + gap;
  const mw = perRow * cw + gap;
  const mh = Math.ceil(c / perRow) * ch + gap;
  const mosaic = new Uint8Array(mw * mh).fill(255);
  for (let k = 0; k < c; k++) {
    const plane = y.data.subarray(k * h * w, Math.min(y.size, (k + 1) * h * w));
    const v = contrastStretch(plane);
    const ox = gap + (k % perRow) * cw;
    const oy = gap + Math.floor(k / perRow) * ch;
    for (let yy = 0; yy < h * scale; yy++)
      for (let xx = 0; xx < w * scale; xx++) {
        const p = Math.floor(yy / scale) * w + Math.floor(xx / scale);
        mosaic[(oy + yy) * mw + ox + xx] = p < v.length ? v[p] : 255;
      }
  }
  const png = await pixelsToPng(mosaic, mw, mh, 1);
  const body =
    `<text x="12" y="22" font-size="15">${escapeXml(title)}</text>\n` +
    `<text x="12" y="40" font-size="12" fill="#555">${escapeXml(maps ? `${c} maps of ${h}×${w}, each stretched to its own range` : `${y.size} values in rows of 64, stretched together`)}</text>\n` +
    embedPng(png, 10, 50, mw, mh);
  return svgDocument(Math.max(mw + 20, 380), mh + 62, body);
}
