// Training presets (SPEC §6) and the full training configuration they fill in. Every preset is
// validated by the same zod schema as a resumed checkpoint's stored configuration.
import { z } from 'zod';
import { ARCHS, MAX_INPUT_SIZE } from '../models/config.js';
import { INIT_SCHEMES } from '../models/init.js';
import { PRECISIONS } from '../nn/precision.js';
import { describeVariant, variantSchema } from '../models/variants.js';
import { scheduleSpecSchema } from '../optim/schedule.js';
import { usage } from '../util/errors.js';

export const trainConfigSchema = z.object({
  arch: z.enum(ARCHS),
  /** Edits of the arch's layer list (`--variant`, e.g. CNN*'s conv6); absent: the arch as is. */
  variant: variantSchema.optional(),
  /** 'fashion-mnist' (bundled), an IDX directory or an ImageFolder tree. */
  data: z.string(),
  inputSize: z.number().int().positive().max(MAX_INPUT_SIZE),
  epochs: z.number().int().positive(),
  batch: z.number().int().positive(),
  lr: z.number().positive(),
  momentum: z.number().min(0).max(1),
  weightDecay: z.number().nonnegative(),
  schedule: scheduleSpecSchema,
  /** Caffe's per-parameter multipliers (biases lr×2, no decay) or none. */
  multipliers: z.enum(['none', 'caffe']),
  init: z.enum(INIT_SCHEMES),
  labelSmoothing: z.number().min(0).max(1),
  /** Random flips (and for ImageFolder, crops and colour noise) on training batches. */
  augment: z.boolean(),
  /** Normalise inputs with the training mean/std. */
  normalize: z.boolean(),
  /** Wall-clock budget for training + evaluation; training stops early (cleanly) to meet it. */
  maxSeconds: z.number().positive().nullable(),
  /** Train on a seeded subset of this many images (quick tries, tests). */
  maxTrain: z.number().int().positive().nullable(),
  /** Validate/test on a seeded subset of this many images (quick tries, tests). */
  maxTest: z.number().int().positive().nullable().default(null),
  /** Layers whose parameters get no update. */
  freeze: z.array(z.string()),
  seed: z.number().int().nonnegative(),
  /** The conv and linear layers' precision (src/nn/precision.ts); absent in older runs: fp32. */
  precision: z.enum(PRECISIONS).default('fp32'),
});
export type TrainConfig = z.infer<typeof trainConfigSchema>;

const base = {
  data: 'fashion-mnist',
  momentum: 0.9,
  weightDecay: 5e-4,
  multipliers: 'none',
  labelSmoothing: 0,
  augment: false,
  normalize: true,
  maxSeconds: null,
  maxTrain: null,
  maxTest: null,
  freeze: [],
  seed: 0,
  precision: 'fp32',
} as const;

const RAW_PRESETS = {
  // The default: the d2l net at the smallest input that keeps every map (67: conv1 → 15, pools →
  // 7 → 3 → 1), a fast learning rate, and a time budget so a 2-core laptop sees ≥ 0.85 test
  // accuracy within 10 minutes.
  // Xavier init leaves the initial plateau far sooner than PyTorch's default (kaiming) here, and
  // a 100-step warm-up keeps lr 0.04 with momentum from knocking the fresh net back to the class
  // prior (without it, one of two measured runs lost ~100 steps there and ended at 0.847). The
  // cosine anneals over the time budget when that, not the epoch count, ends the run.
  'fashion-quick': {
    ...base,
    arch: 'd2l',
    inputSize: 67,
    epochs: 3,
    batch: 128,
    lr: 0.04,
    init: 'xavier',
    schedule: { kind: 'cosine', floor: 1e-4, warmup: 100 },
    maxSeconds: 540,
  },
  // d2l's chapter: Fashion-MNIST resized to 224, batch 128, lr 0.01, 10 epochs, Xavier init.
  'fashion-d2l': {
    ...base,
    arch: 'd2l',
    inputSize: 224,
    epochs: 10,
    batch: 128,
    lr: 0.01,
    momentum: 0,
    weightDecay: 0,
    init: 'xavier',
    schedule: { kind: 'constant' },
    normalize: false,
  },
  // The paper (§5): batch 128, momentum 0.9, weight decay 5e-4, lr 0.01 divided by 10 on
  // plateaus (three times), paper init, about 90 epochs; data from --data DIR.
  'imagenet-2012': {
    ...base,
    arch: 'alexnet2012',
    data: '',
    inputSize: 227,
    epochs: 90,
    batch: 128,
    lr: 0.01,
    init: 'paper',
    schedule: { kind: 'plateau' },
    augment: true,
  },
  // What `train --data DIR` starts from when DIR is an ImageFolder tree and no --preset is named:
  // the paper's net, SGD and augmentation, at a learning rate that suits a fresh net trained
  // from scratch on a small tree (Xavier init, cosine with a short warm-up), by epochs — no time
  // budget. For ImageNet itself, --preset imagenet-2012.
  imagefolder: {
    ...base,
    arch: 'alexnet2012',
    data: '',
    inputSize: 227,
    epochs: 30,
    batch: 64,
    lr: 0.01,
    init: 'xavier',
    schedule: { kind: 'cosine', floor: 1e-5, warmup: 200 },
    augment: true,
  },
} as const;

export const PRESET_NAMES = Object.keys(RAW_PRESETS) as (keyof typeof RAW_PRESETS)[];
export const DEFAULT_PRESET = 'fashion-quick';
/** The preset for --data naming an ImageFolder tree, when no --preset is given. */
export const IMAGEFOLDER_PRESET = 'imagefolder';

export function preset(name: string): TrainConfig {
  if (!(name in RAW_PRESETS))
    usage(`preset ${name} is unknown (choose ${PRESET_NAMES.join(', ')})`, 'preset');
  return trainConfigSchema.parse(RAW_PRESETS[name as keyof typeof RAW_PRESETS]);
}

/** The recipe in one line, e.g. for `train --help` and the start of a run. */
export function describeConfig(c: TrainConfig): string {
  const sch = c.schedule;
  const schedule =
    sch.kind === 'cosine'
      ? `cosine to ${sch.floor}`
      : sch.kind === 'step'
        ? `step ×${sch.gamma} every ${sch.stepSize}`
        : sch.kind === 'plateau'
          ? `÷10 on plateaus (patience ${sch.patience})`
          : 'constant';
  return [
    `${c.arch}${c.variant ? ` (${describeVariant(c.variant)})` : ''} at ${c.inputSize}×${c.inputSize}`,
    `${c.epochs} epoch${c.epochs === 1 ? '' : 's'}`,
    `batch ${c.batch}`,
    `lr ${c.lr} ${schedule}${sch.warmup ? `, warm-up ${sch.warmup} steps` : ''}`,
    `momentum ${c.momentum}`,
    `weight decay ${c.weightDecay}`,
    `init ${c.init}`,
    c.augment ? 'augment' : 'no augment',
    c.normalize ? 'normalised' : 'pixels/255',
    c.maxSeconds === null ? 'no time budget' : `budget ${c.maxSeconds} s`,
    `seed ${c.seed}`,
    `precision ${c.precision}`,
  ].join(', ');
}
