// Writes the README's example images into examples/ (run after `npm run build`):
//   examples/test<i>-label<c>.png — Fashion-MNIST test images drawn dark-on-white and enlarged
//     to 140×140, as a photo of a garment would be (predict turns them grey and inverts them);
//   examples/shapes/{circle,square}/<k>.png — a tiny ImageFolder tree for the ImageFolder flow.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { loadFashionRaw } from '../dist/src/data/fashion.js';

const out = new URL('../examples/', import.meta.url).pathname;
const raw = loadFashionRaw();
for (const i of [0, 1500, 7000]) {
  const side = raw.test.side;
  const px = Buffer.from(raw.test.images.subarray(i * side * side, (i + 1) * side * side)).map(
    (v) => 255 - v,
  );
  await sharp(px, { raw: { width: side, height: side, channels: 1 } })
    .resize(140, 140, { kernel: 'nearest' })
    .png()
    .toFile(join(out, `test${i}-label${raw.test.labels[i]}.png`));
}
for (const cls of ['circle', 'square']) {
  mkdirSync(join(out, 'shapes', cls), { recursive: true });
  for (let k = 0; k < 10; k++) {
    const s = 64;
    const px = Buffer.alloc(s * s * 3, 235);
    const r = 14 + k,
      cx = 24 + 2 * k,
      cy = 40 - k;
    for (let y = 0; y < s; y++)
      for (let x = 0; x < s; x++) {
        const inside =
          cls === 'circle'
            ? (x - cx) ** 2 + (y - cy) ** 2 <= r * r
            : Math.abs(x - cx) <= r * 0.8 && Math.abs(y - cy) <= r * 0.8;
        if (inside) px.set([40 + 15 * k, 90, 200 - 10 * k], 3 * (y * s + x));
      }
    await sharp(px, { raw: { width: s, height: s, channels: 3 } })
      .png()
      .toFile(join(out, 'shapes', cls, `${k}.png`));
  }
}

// examples/index/*.jpg and examples/query-stripes.jpg — a tiny retrieval set for the features and
// neighbors examples: stripes in two colours, checks, sky and grass, 48×48.
const side = 48;
const pictures = {
  'index/stripes-red': (x) => ((x >> 3) % 2 ? [220, 40, 40] : [245, 245, 245]),
  'index/stripes-blue': (x) => ((x >> 3) % 2 ? [40, 60, 220] : [245, 245, 245]),
  'index/checks': (x, y) => (((x >> 3) + (y >> 3)) % 2 ? [30, 30, 30] : [230, 230, 230]),
  'index/sky': (x, y) => [90 + y, 150 + y, 235],
  'index/grass': (x, y) => [40 + ((x * 7 + y * 3) % 30), 150 - y, 50],
  'query-stripes': (x) => (((x + 2) >> 3) % 2 ? [200, 50, 60] : [240, 240, 240]),
};
mkdirSync(join(out, 'index'), { recursive: true });
for (const [name, colour] of Object.entries(pictures)) {
  const px = Buffer.alloc(side * side * 3);
  for (let y = 0; y < side; y++)
    for (let x = 0; x < side; x++) px.set(colour(x, y), 3 * (y * side + x));
  await sharp(px, { raw: { width: side, height: side, channels: 3 } })
    .jpeg({ quality: 85 })
    .toFile(join(out, `${name}.jpg`));
}
