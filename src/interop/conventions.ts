// What an imported model carries besides its weights: the input conventions of the framework it
// was trained in (so predict prepares images the same way) and ImageNet's class names.
import type { Arch, ModelConfig, ModelMeta, Preprocess } from '../models/config.js';
import { defaultConfig } from '../models/config.js';
import { IMAGENET_CLASSES } from './imagenet-classes.js';

/** torchvision's ImageNet models: RGB in [0, 1], normalised by ImageNet's mean and std. */
export const TORCHVISION_PREPROCESS: Preprocess = {
  colorOrder: 'rgb',
  resize: 256,
  cropSize: 224,
  pixelScale: 1 / 255,
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
  invert: false,
};

/** Caffe's BVLC models: BGR pixels in [0, 255] minus the ImageNet mean (B, G, R), no scaling. */
export const CAFFE_PREPROCESS: Preprocess = {
  colorOrder: 'bgr',
  resize: 256,
  cropSize: 227,
  pixelScale: 1,
  mean: [104, 117, 123],
  std: [1, 1, 1],
  invert: false,
};

/** ImageNet's names for a 1000-class model; otherwise the class indices as names. */
export function classNamesFor(classes: number): string[] {
  return classes === 1000
    ? [...IMAGENET_CLASSES]
    : Array.from({ length: classes }, (_, i) => String(i));
}

export function importedMeta(
  arch: Arch,
  over: Partial<ModelConfig>,
  preprocess: Preprocess,
  dataset = 'imagenet',
): ModelMeta {
  const config = defaultConfig(arch, over);
  return {
    config,
    classNames: classNamesFor(config.classes),
    preprocess: { ...preprocess, cropSize: config.inputSize },
    dataset,
  };
}
