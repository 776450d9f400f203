// The model configuration: what defines a network (variant, classes, input) and the data
// conventions a checkpoint carries so that eval/predict prepare inputs the way training did.
// Validated with zod wherever it is read from a file. The preprocessing schema and its named
// presets live in src/data/presets.ts.
import { z } from 'zod';
import { usage } from '../util/errors.js';
import { issueText, valueAt } from '../util/zod-message.js';
import { variantSchema } from './variants.js';
import { preprocessSchema } from '../data/presets.js';

export const ARCHS = ['alexnet2012', 'caffenet', 'torchvision', 'd2l'] as const;
export type Arch = (typeof ARCHS)[number];

/** Bounds on a network sized from its input or a file's claim, so that neither can make the
 *  process allocate without limit: at 512 px the paper's fc6 alone is 205 M weights (822 MB);
 *  32768 classes (ImageNet-21k has 21841) make fc8 134 M weights. */
export const MAX_INPUT_SIZE = 512;
export const MAX_CLASSES = 32768;

export const modelConfigSchema = z.object({
  arch: z.enum(ARCHS),
  classes: z.number().int().positive().max(MAX_CLASSES),
  inputSize: z.number().int().positive().max(MAX_INPUT_SIZE),
  channels: z.number().int().positive(),
  lrnAlphaScaling: z.enum(['per-size', 'absolute']).default('per-size'),
  /** LRN's k: 2 in the paper, 1 in Caffe's models. */
  lrnK: z.number().optional(),
  dropoutMode: z.enum(['classic', 'inverted']).default('inverted'),
  /** An edited layer list (`alexnet lab`'s controlled experiments); absent: the variant as is. */
  variant: variantSchema.optional(),
});
export type ModelConfig = z.infer<typeof modelConfigSchema>;

export const modelMetaSchema = z.object({
  config: modelConfigSchema,
  classNames: z.array(z.string()).optional(),
  preprocess: preprocessSchema.optional(),
  /** Where the model's data came from: 'fashion-mnist' (the bundled set) or a directory. */
  dataset: z.string().optional(),
});
export type ModelMeta = z.infer<typeof modelMetaSchema>;

/** Defaults per variant (SPEC §1): the paper's 227, torchvision's 224, d2l's 1-channel 224. */
export function defaultConfig(arch: Arch, over: Partial<ModelConfig> = {}): ModelConfig {
  const base: Record<Arch, { inputSize: number; channels: number }> = {
    alexnet2012: { inputSize: 227, channels: 3 },
    caffenet: { inputSize: 227, channels: 3 },
    torchvision: { inputSize: 224, channels: 3 },
    d2l: { inputSize: 224, channels: 1 },
  };
  const classes = arch === 'd2l' ? 10 : 1000;
  const clean = Object.fromEntries(Object.entries(over).filter(([, v]) => v !== undefined));
  const input = { arch, classes, ...base[arch], ...clean };
  const r = modelConfigSchema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0];
    const key = issue.path.join('.');
    const what = { classes: 'class count', inputSize: 'input size' }[key] ?? key;
    usage(
      `a ${arch} network of ${what} ${String(valueAt(input, issue.path))}: ${issueText(issue)}`,
    );
  }
  return r.data;
}
