// Test-time views (paper §4.1): the centre crop, or "the four corner patches and the center patch
// as well as their horizontal reflections (hence ten patches in all)", whose softmax outputs the
// evaluator averages. Views are cut from the 256×256 image that training crops came from.
//
// Legend: R = 256 (the prepared image's side), S = network input side; images HWC uint8 RGB
// [R, R, 3]; views CHW float32 [3, S, S].
import type { Preprocess } from './presets.js';
import { UsageError, usage } from '../util/errors.js';
import { centerCrop, cropInto, type CropParams, type Normalize } from './augment.js';
import { decode256, SIDE } from './image-cache.js';

export type ViewMode = 'center' | '10';

/** The ten crops, in this order: top-left, top-right, bottom-left, bottom-right, centre, then the
 *  same five mirrored. */
export function tenCropParams(srcSize: number, size: number): CropParams[] {
  const e = srcSize - size;
  const c = centerCrop(srcSize, size);
  const five: CropParams[] = [
    { x: 0, y: 0, flip: false },
    { x: e, y: 0, flip: false },
    { x: 0, y: e, flip: false },
    { x: e, y: e, flip: false },
    c,
  ];
  return [...five, ...five.map((p) => ({ ...p, flip: true }))];
}

export function viewParams(mode: ViewMode, srcSize: number, size: number): CropParams[] {
  return mode === '10' ? tenCropParams(srcSize, size) : [centerCrop(srcSize, size)];
}

/** The centre view of a prepared image: [3, S, S]. */
export function centerView(
  image: Uint8Array,
  size: number,
  norm: Normalize,
  srcSize = SIDE,
): Float32Array {
  return cutViews(image, [centerCrop(srcSize, size)], size, norm, srcSize)[0];
}

/** The paper's ten views of a prepared image, in `tenCropParams` order: 10 × [3, S, S]. */
export function tenCropViews(
  image: Uint8Array,
  size: number,
  norm: Normalize,
  srcSize = SIDE,
): Float32Array[] {
  return cutViews(image, tenCropParams(srcSize, size), size, norm, srcSize);
}

function cutViews(
  image: Uint8Array,
  params: CropParams[],
  size: number,
  norm: Normalize,
  srcSize: number,
): Float32Array[] {
  if (image.length !== srcSize * srcSize * 3) {
    throw new RangeError(`expected a ${srcSize}×${srcSize}×3 image, got ${image.length} bytes`);
  }
  return params.map((p) => {
    const out = new Float32Array(3 * size * size);
    cropInto(image, srcSize, { ...p, shift: [0, 0, 0] }, size, norm, out, 0);
    return out;
  });
}

/** A checkpoint's `Preprocess` as the crop function's normalisation (RGB or BGR images). */
export function normalizeFrom(pre: Preprocess): Normalize {
  if (pre.colorOrder === 'gray') usage('views: a grey-scale model cannot take 256×256 RGB views');
  if (pre.mean.length !== 3 || pre.std.length !== 3)
    usage("views: the model's preprocess needs 3 means and 3 stds");
  return {
    scale: pre.pixelScale,
    mean: pre.mean,
    std: pre.std,
    order: pre.colorOrder === 'bgr' ? 'bgr' : 'rgb',
  };
}

/** What eval/predict call: the views of one prepared image ([256, 256, 3] RGB), each [3, S, S],
 *  normalised as `preprocess` says. mode 'center' gives one view, '10' the paper's ten. */
export function viewsFor(
  image256: Uint8Array,
  inputSize: number,
  mode: ViewMode,
  preprocess: Preprocess,
): Float32Array[] {
  const norm = normalizeFrom(preprocess);
  const side = preprocess.resize;
  if (image256.length !== side * side * 3) {
    usage(`views: the image is not ${side}×${side}×3 (prepare it with loadImage256)`);
  }
  if (inputSize > side)
    usage(`views: input size ${inputSize} is larger than the prepared ${side}×${side} image`);
  return mode === '10'
    ? tenCropViews(image256, inputSize, norm, side)
    : [centerView(image256, inputSize, norm, side)];
}

/** Reads an image file as training prepared it: shorter side → 256, centre 256×256, RGB uint8.
 *  An unreadable or corrupt file is a usage error naming it (exit 2). */
export async function loadImage256(path: string, side = SIDE): Promise<Uint8Array> {
  try {
    return await decode256(path, side);
  } catch (e) {
    if (e instanceof UsageError) throw e; // already names the file
    const err = e as NodeJS.ErrnoException;
    return usage(
      `${path}: cannot read image (${err.code === 'ENOENT' ? 'no such file' : err.message.split('\n')[0]})`,
    );
  }
}
