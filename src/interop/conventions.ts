// What an imported model carries besides its weights: the preprocessing preset of the framework it
// was trained in (so predict prepares images the same way) and ImageNet's class names.
import { preprocessPreset, type PreprocessPresetName } from '../data/presets.js';
import type { Arch, ModelConfig, ModelMeta } from '../models/config.js';
import { defaultConfig } from '../models/config.js';
import { IMAGENET_CLASSES } from './imagenet-classes.js';

/** ImageNet's names for a 1000-class model; otherwise the class indices as names. */
export function classNamesFor(classes: number): string[] {
  return classes === 1000
    ? [...IMAGENET_CLASSES]
    : Array.from({ length: classes }, (_, i) => String(i));
}

export function importedMeta(
  arch: Arch,
  over: Partial<ModelConfig>,
  presetName: PreprocessPresetName,
  dataset = 'imagenet',
): ModelMeta {
  const config = defaultConfig(arch, over);
  return {
    config,
    classNames: classNamesFor(config.classes),
    preprocess: preprocessPreset(presetName, { cropSize: config.inputSize }),
    dataset,
  };
}
