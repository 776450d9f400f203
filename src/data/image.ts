// One image → one network input, prepared as the model's preprocess says (src/data/presets.ts).
// An image is a file path, the bytes of an encoded file (PNG, JPEG, WebP, … — sharp decodes them)
// or decoded pixels (HWC uint8 with 1, 3 or 4 channels).
//   gray (Fashion-MNIST models): grey-scale; photos of a dark object on a light background are
//     inverted to look like the dataset (light clothing on black); fitted into resize×resize
//     (28×28) on black, then resized bilinearly to the input size exactly as training batches were.
//   rgb / bgr (ImageNet-style): shorter side → resize with the preset's filter, centre crop
//     cropSize (then bilinear to the input size if they differ); CHW,
//     (pixel·pixelScale − mean[c]) / std[c].
// Letters: P input side, R prepared side (resize), C channels.
import type { Sharp } from 'sharp';
import { sharp } from './sharp.js';
import { UsageError, usage } from '../util/errors.js';
import { centerCrop } from './augment.js';
import { decode256 } from './image-cache.js';
import { checkResize, decoder, imageFromBytes, openImage } from './image-file.js';
import { resizePilBilinear, torchvisionCropOffset, torchvisionResizedSize } from './pil-resize.js';
import type { Preprocess } from './presets.js';
import { resizeAxis, resizeBilinear } from './resize.js';

/** Decoded pixels: data is [height, width, channels] uint8. */
export interface DecodedImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
}

export type ImageInput = string | Uint8Array | DecodedImage;

/** What error messages call an image: its path, or what kind of value it is. */
export function imageLabel(input: ImageInput): string {
  if (typeof input === 'string') return input;
  return input instanceof Uint8Array ? 'image buffer' : 'decoded image';
}

/** A sharp pipeline over the image. A file goes through the regular-file reader, and files and
 *  buffers alike carry the pixel bound, and the resize bound when `resizeTo` (the shorter side it
 *  will be resized to) is given (image-file.ts). */
async function sharpOf(input: ImageInput, resizeTo?: number): Promise<Sharp> {
  if (typeof input === 'string' || input instanceof Uint8Array) {
    const img =
      typeof input === 'string'
        ? await openImage(input)
        : await imageFromBytes(
            Buffer.from(input.buffer, input.byteOffset, input.length),
            'image buffer',
          );
    if (resizeTo !== undefined) checkResize(img, img.width, img.height, resizeTo);
    return decoder(img, { failOn: 'warning' });
  }
  const { data, width, height, channels } = input;
  if (
    ![width, height].every((d) => Number.isInteger(d) && d > 0) ||
    ![1, 2, 3, 4].includes(channels) ||
    data.length !== width * height * channels
  )
    throw new Error(
      `${width}×${height}×${channels} pixels need ${width * height * channels} bytes, got ${data.length}`,
    );
  return sharp(data, { raw: { width, height, channels } });
}

function cannotRead(label: string, e: unknown): never {
  if (e instanceof UsageError) throw e; // already names the file
  const err = e as NodeJS.ErrnoException;
  return usage(
    `${label}: cannot read image (${err.code === 'ENOENT' ? 'no such file' : String(err.message).split('\n')[0]})`,
  );
}

/** Decodes to RGB pixels at the file's own size (no EXIF rotation: PIL applies none either). */
async function decodeRgb(
  input: ImageInput,
  resizeTo: number,
): Promise<{ data: Uint8Array; w: number; h: number }> {
  const { data, info } = await (
    await sharpOf(input, resizeTo)
  )
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  const px = new Uint8Array(data.buffer, data.byteOffset, data.length);
  if (info.channels === 3) return { data: px, w: info.width, h: info.height };
  const out = new Uint8Array(info.width * info.height * 3);
  for (let i = 0; i < info.width * info.height; i++)
    out.fill(px[i * info.channels], i * 3, i * 3 + 3);
  return { data: out, w: info.width, h: info.height };
}

/** The image with its shorter side resized to pre.resize by pre.resample:
 *  [h, w, 3] RGB. 'sharp-cubic' also cuts the centre R×R square, as the training cache does. */
async function resized(
  input: ImageInput,
  pre: Preprocess,
): Promise<{ data: Uint8Array; w: number; h: number; square: boolean }> {
  const R = pre.resize;
  if (pre.resample !== 'pil-bilinear') {
    // Decoded pixels go through a lossless PNG so that the cache's own decoder prepares them.
    const src =
      typeof input === 'string'
        ? input
        : input instanceof Uint8Array
          ? Buffer.from(input.buffer, input.byteOffset, input.length)
          : await (await sharpOf(input)).png().toBuffer();
    return { data: await decode256(src, R), w: R, h: R, square: true };
  }
  const img = await decodeRgb(input, R);
  const [w, h] = torchvisionResizedSize(img.w, img.h, R);
  const data =
    w === img.w && h === img.h ? img.data : resizePilBilinear(img.data, img.w, img.h, 3, w, h);
  return { data, w, h, square: false };
}

/** The prepared R×R RGB image that the paper's ten views are cut from: [R, R, 3]. */
export async function prepareSquare(input: ImageInput, pre: Preprocess): Promise<Uint8Array> {
  try {
    const r = await resized(input, pre);
    if (r.square) return r.data;
    const R = pre.resize;
    const left = torchvisionCropOffset(r.w, R);
    const top = torchvisionCropOffset(r.h, R);
    const out = new Uint8Array(R * R * 3);
    for (let y = 0; y < R; y++)
      out.set(
        r.data.subarray(((top + y) * r.w + left) * 3, ((top + y) * r.w + left + R) * 3),
        y * R * 3,
      );
    return out;
  } catch (e) {
    return cannotRead(imageLabel(input), e);
  }
}

/** x: [C, P, P] for one image. */
export async function imageToInput(
  input: ImageInput,
  preprocess: Preprocess,
  inputSize: number,
): Promise<Float32Array> {
  return preprocess.colorOrder === 'gray'
    ? grayInput(input, preprocess, inputSize)
    : colorInput(input, preprocess, inputSize);
}

/** Mean of the outermost ring of pixels (the background, in a product photo). */
function borderMean(g: Uint8Array, w: number, h: number): number {
  let s = 0;
  let n = 0;
  for (let x = 0; x < w; x++) {
    s += g[x] + g[(h - 1) * w + x];
    n += 2;
  }
  for (let y = 1; y < h - 1; y++) {
    s += g[y * w] + g[y * w + w - 1];
    n += 2;
  }
  return s / Math.max(1, n);
}

async function grayInput(input: ImageInput, pre: Preprocess, p: number): Promise<Float32Array> {
  const label = imageLabel(input);
  let g: Uint8Array;
  let w: number;
  let h: number;
  try {
    const r = await (
      await sharpOf(input)
    )
      .flatten({ background: '#ffffff' })
      .grayscale()
      .toColourspace('b-w')
      .raw()
      .toBuffer({ resolveWithObject: true });
    g = new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.length);
    ({ width: w, height: h } = r.info);
    if (r.info.channels !== 1)
      usage(`${label}: expected one grey channel after conversion, got ${r.info.channels}`);
  } catch (e) {
    return cannotRead(label, e);
  }
  if (pre.invert && borderMean(g, w, h) > 127) g = g.map((v) => 255 - v);
  const side = pre.cropSize;
  const small = await sharp(Buffer.from(g), { raw: { width: w, height: h, channels: 1 } })
    .resize(side, side, { fit: 'contain', background: { r: 0, g: 0, b: 0 } })
    .toColourspace('b-w')
    .raw()
    .toBuffer();
  const x = new Float32Array(p * p);
  const axis = resizeAxis(side, p);
  const a = pre.pixelScale / pre.std[0];
  resizeBilinear(
    new Uint8Array(small.buffer, small.byteOffset, side * side),
    0,
    side,
    axis,
    axis,
    x,
    0,
    a,
    -pre.mean[0] / pre.std[0],
    false,
  );
  return x;
}

async function colorInput(input: ImageInput, pre: Preprocess, p: number): Promise<Float32Array> {
  const crop = pre.cropSize;
  let r: Awaited<ReturnType<typeof resized>>;
  try {
    r = await resized(input, pre);
  } catch (e) {
    return cannotRead(imageLabel(input), e);
  }
  if (crop > r.w || crop > r.h)
    usage(`${imageLabel(input)}: crop ${crop} is larger than the ${r.w}×${r.h} resized image`);
  // The square cache's centre crop is Caffe's ⌊(R − S)/2⌋; torchvision's CenterCrop rounds.
  const left = r.square ? centerCrop(r.w, crop).x : torchvisionCropOffset(r.w, crop);
  const top = r.square ? centerCrop(r.h, crop).y : torchvisionCropOffset(r.h, crop);
  const order = pre.colorOrder === 'bgr' ? [2, 1, 0] : [0, 1, 2];
  const x = new Float32Array(3 * p * p);
  const plane = new Uint8Array(crop * crop);
  const axis = resizeAxis(crop, p);
  for (let c = 0; c < 3; c++) {
    const src = order[c];
    for (let y = 0; y < crop; y++) {
      const row = ((top + y) * r.w + left) * 3 + src;
      for (let i = 0; i < crop; i++) plane[y * crop + i] = r.data[row + i * 3];
    }
    const mean = pre.mean[c] ?? pre.mean[0];
    const std = pre.std[c] ?? pre.std[0];
    resizeBilinear(
      plane,
      0,
      crop,
      axis,
      axis,
      x,
      c * p * p,
      pre.pixelScale / std,
      -mean / std,
      false,
    );
  }
  return x;
}
