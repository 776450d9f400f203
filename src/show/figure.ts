// Writing figures: an SVG string becomes OUT.svg or OUT.png (sharp renders the SVG), chosen by the
// output's extension; raster content (kernels, feature maps, thumbnails) enters an SVG as an
// embedded PNG, so one drawing serves both formats. Every write is atomic.
import { extname } from 'node:path';
import { sharp } from '../data/sharp.js';
import { writeFileAtomic } from '../util/atomic.js';
import { UsageError, usage } from '../util/errors.js';
import { decoder, openImage } from '../data/image-file.js';

export type FigureFormat = 'png' | 'svg';

/** The format a figure's output path asks for (.png or .svg); anything else is a usage error of
 *  the option `option`. */
export function formatOf(path: string, option = 'output'): FigureFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.png') return 'png';
  if (ext === '.svg') return 'svg';
  return usage(`${path}: give a .png or .svg file name`, option);
}

export function escapeXml(s: string): string {
  return s.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!,
  );
}

/** A complete SVG document of width × height on a white ground. */
export function svgDocument(width: number, height: number, body: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, sans-serif">\n` +
    `<rect width="100%" height="100%" fill="white"/>\n${body}\n</svg>\n`
  );
}

export async function svgToPng(svg: string): Promise<Buffer> {
  return sharp(Buffer.from(svg, 'utf8')).png().toBuffer();
}

/** Writes the SVG as .svg, or renders it to .png, by `path`'s extension. */
export async function writeFigure(path: string, svg: string): Promise<void> {
  const data = formatOf(path) === 'svg' ? Buffer.from(svg, 'utf8') : await svgToPng(svg);
  writeFileAtomic(path, data);
}

/** Raw 8-bit pixels (channels 1 or 3, HWC) as a PNG, enlarged `scale`× with sharp pixels. */
export async function pixelsToPng(
  pixels: Uint8Array, // [H, W, C]
  width: number,
  height: number,
  channels: 1 | 3,
  scale = 1,
): Promise<Buffer> {
  let img = sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.length), {
    raw: { width, height, channels },
  });
  if (scale !== 1) img = img.resize(width * scale, height * scale, { kernel: 'nearest' });
  return img.png().toBuffer();
}

/** An <image> element showing a PNG at (x, y) with the given size. */
export function embedPng(png: Buffer, x: number, y: number, w: number, h: number): string {
  return (
    `<image x="${x}" y="${y}" width="${w}" height="${h}" preserveAspectRatio="xMidYMid meet" ` +
    `style="image-rendering:pixelated" href="data:image/png;base64,${png.toString('base64')}"/>`
  );
}

/** An image file fitted into size × size (aspect kept, white margins) as a PNG. */
export async function thumbnail(path: string, size: number): Promise<Buffer> {
  try {
    return await decoder(await openImage(path))
      .rotate()
      .resize(size, size, { fit: 'contain', background: '#ffffff' })
      .flatten({ background: '#ffffff' })
      .png()
      .toBuffer();
  } catch (e) {
    if (e instanceof UsageError) throw e; // already names the file
    return usage(`${path}: cannot read image (${String((e as Error).message).split('\n')[0]})`);
  }
}

/** Values stretched to 0..255 by their own minimum and maximum (a constant map is mid-grey). */
export function contrastStretch(v: ArrayLike<number>): Uint8Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < v.length; i++) {
    if (v[i] < lo) lo = v[i];
    if (v[i] > hi) hi = v[i];
  }
  const out = new Uint8Array(v.length);
  const span = hi - lo;
  for (let i = 0; i < v.length; i++)
    out[i] = span > 0 && Number.isFinite(span) ? Math.round(((v[i] - lo) / span) * 255) : 128;
  return out;
}
