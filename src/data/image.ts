// One image file → one network input, prepared the way the model's training data was
// (`meta.preprocess`). Decoding is sharp's (PNG, JPEG, WebP, …).
//   gray (Fashion-MNIST models): grey-scale; photos of a dark object on a light background are
//     inverted to look like the dataset (light clothing on black); fitted into resize×resize
//     (28×28) on black, then resized bilinearly to the input size exactly as training batches were.
//   rgb / bgr (ImageNet-style): shorter side → resize, centre crop cropSize (then bilinear to the
//     input size if they differ); CHW, (pixel·pixelScale − mean[c]) / std[c].
// Letters: P input side, C channels.
import sharp from 'sharp';
import type { Preprocess } from '../models/config.js';
import { UsageError, usage } from '../util/errors.js';
import { checkResize, decoder, openImage } from './image-file.js';
import { resizeAxis, resizeBilinear } from './resize.js';

/** Fashion-MNIST's conventions, for grey models whose file carries no preprocess metadata. */
export const DEFAULT_GRAY: Preprocess = {
  colorOrder: 'gray',
  resize: 28,
  cropSize: 28,
  pixelScale: 1 / 255,
  mean: [0],
  std: [1],
  invert: true,
};
/** torchvision's ImageNet conventions, for RGB models without metadata. */
export const DEFAULT_RGB: Preprocess = {
  colorOrder: 'rgb',
  resize: 256,
  cropSize: 224,
  pixelScale: 1 / 255,
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
  invert: false,
};

function cannotRead(path: string, e: unknown): never {
  if (e instanceof UsageError) throw e; // already names the file
  const err = e as NodeJS.ErrnoException;
  return usage(
    `${path}: cannot read image (${err.code === 'ENOENT' ? 'no such file' : String(err.message).split('\n')[0]})`,
  );
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

/** x: [C, P, P] for one image file. */
export async function imageToInput(
  path: string,
  preprocess: Preprocess,
  inputSize: number,
): Promise<Float32Array> {
  return preprocess.colorOrder === 'gray'
    ? grayInput(path, preprocess, inputSize)
    : colorInput(path, preprocess, inputSize);
}

async function grayInput(path: string, pre: Preprocess, p: number): Promise<Float32Array> {
  let g: Uint8Array;
  let w: number;
  let h: number;
  try {
    const r = await decoder(await openImage(path))
      .flatten({ background: '#ffffff' })
      .grayscale()
      .toColourspace('b-w')
      .raw()
      .toBuffer({ resolveWithObject: true });
    g = new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.length);
    ({ width: w, height: h } = r.info);
    if (r.info.channels !== 1)
      usage(`${path}: expected one grey channel after conversion, got ${r.info.channels}`);
  } catch (e) {
    return cannotRead(path, e);
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

async function colorInput(path: string, pre: Preprocess, p: number): Promise<Float32Array> {
  const crop = pre.cropSize;
  let hwc: Uint8Array;
  try {
    const img = await openImage(path);
    checkResize(img, img.width, img.height, pre.resize);
    const buf = await decoder(img)
      .removeAlpha()
      .toColourspace('srgb')
      .resize(pre.resize, pre.resize, { fit: 'outside' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const { width: w, height: h } = buf.info;
    const left = Math.floor((w - crop) / 2);
    const top = Math.floor((h - crop) / 2);
    hwc = new Uint8Array(crop * crop * 3);
    for (let y = 0; y < crop; y++) {
      hwc.set(
        buf.data.subarray(((top + y) * w + left) * 3, ((top + y) * w + left + crop) * 3),
        y * crop * 3,
      );
    }
  } catch (e) {
    return cannotRead(path, e);
  }
  const order = pre.colorOrder === 'bgr' ? [2, 1, 0] : [0, 1, 2];
  const x = new Float32Array(3 * p * p);
  const plane = new Uint8Array(crop * crop);
  const axis = resizeAxis(crop, p);
  for (let c = 0; c < 3; c++) {
    const src = order[c];
    for (let i = 0; i < crop * crop; i++) plane[i] = hwc[i * 3 + src];
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
