// How an image becomes a network input, named once (as torchvision's `ImageClassification`
// transforms are, which its weights point at): colour order, the shorter side it is resized to,
// the resampling filter, the centre crop and value = (pixel·pixelScale − mean[c]) / std[c].
// A model file's metadata holds the preprocessing it was trained with: a preset's name, or the
// full object (a dataset's own channel means are not a preset) — read back through the schema
// below either way.
import { z } from 'zod';

/** The resampling filter that brings the shorter side to `resize`:
 *  'sharp-cubic' — libvips' bicubic through sharp, what this project's image cache uses;
 *  'pil-bilinear' — PIL's antialiased bilinear (triangle filter widened by the downscale factor),
 *  what torchvision's Resize does to PIL images, for weights trained by torchvision. */
export const RESAMPLE_FILTERS = ['sharp-cubic', 'pil-bilinear'] as const;
export type ResampleFilter = (typeof RESAMPLE_FILTERS)[number];

export const PREPROCESS_PRESET_NAMES = ['fashion-mnist', 'torchvision', 'caffe'] as const;
export type PreprocessPresetName = (typeof PREPROCESS_PRESET_NAMES)[number];

const preprocessObject = z.object({
  /** The preset these values came from, when they did. */
  preset: z.enum(PREPROCESS_PRESET_NAMES).optional(),
  colorOrder: z.enum(['gray', 'rgb', 'bgr']),
  /** Resize the shorter side to this, then centre-crop `cropSize` (ImageNet: 256 → 224/227). */
  resize: z.number().int().positive(),
  cropSize: z.number().int().positive(),
  /** Absent: 'sharp-cubic' (files written before there was a choice). */
  resample: z.enum(RESAMPLE_FILTERS).optional(),
  pixelScale: z.number(),
  mean: z.array(z.number()),
  std: z.array(z.number()),
  /** Fashion-MNIST is light clothing on black: photos of dark-on-light are inverted to match. */
  invert: z.boolean().default(false),
});
export type Preprocess = z.infer<typeof preprocessObject>;

/** torchvision's ImageNet normalisation, on pixels scaled to [0, 1]. */
export const TORCHVISION_MEAN: readonly number[] = [0.485, 0.456, 0.406];
export const TORCHVISION_STD: readonly number[] = [0.229, 0.224, 0.225];

export const PREPROCESS_PRESETS: Readonly<Record<PreprocessPresetName, Preprocess>> = {
  // The bundled Fashion-MNIST: grey 28×28; its dataset replaces mean/std by its own statistics.
  'fashion-mnist': {
    preset: 'fashion-mnist',
    colorOrder: 'gray',
    resize: 28,
    cropSize: 28,
    resample: 'sharp-cubic',
    pixelScale: 1 / 255,
    mean: [0],
    std: [1],
    invert: true,
  },
  // torchvision's ImageNet weights: Resize(256) on a PIL image, CenterCrop(224), ToTensor,
  // Normalize(mean, std).
  torchvision: {
    preset: 'torchvision',
    colorOrder: 'rgb',
    resize: 256,
    cropSize: 224,
    resample: 'pil-bilinear',
    pixelScale: 1 / 255,
    mean: [...TORCHVISION_MEAN],
    std: [...TORCHVISION_STD],
    invert: false,
  },
  // Caffe's BVLC models: BGR pixels in [0, 255] minus the ImageNet mean (B, G, R), no scaling.
  caffe: {
    preset: 'caffe',
    colorOrder: 'bgr',
    resize: 256,
    cropSize: 227,
    resample: 'sharp-cubic',
    pixelScale: 1,
    mean: [104, 117, 123],
    std: [1, 1, 1],
    invert: false,
  },
};

/** A preset by name, with some fields replaced (e.g. the crop size of a model's input). */
export function preprocessPreset(
  name: PreprocessPresetName,
  over: Partial<Preprocess> = {},
): Preprocess {
  const p = PREPROCESS_PRESETS[name];
  return { ...p, mean: [...p.mean], std: [...p.std], ...over };
}

/** A preprocess as stored in a model file: a preset's name, or the full object. */
export const preprocessSchema = z.union([
  z.enum(PREPROCESS_PRESET_NAMES).transform((name) => preprocessPreset(name)),
  preprocessObject,
]);

/** The conventional default for a model file that stores no preprocessing: Fashion-MNIST's for
 *  grey models, torchvision's for colour ones, cropped to the model's input. */
export function defaultPreprocess(channels: number, inputSize: number): Preprocess {
  return channels === 1
    ? preprocessPreset('fashion-mnist')
    : preprocessPreset('torchvision', { cropSize: inputSize });
}
