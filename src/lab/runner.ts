// One experiment's runs: every run trains the same base network on the same images with the same
// budget and seed, differing only in what its RunSpec changes (a variant of the layer list, the
// seed of an ensemble member, crops, colour noise, a pretrained start). Data is opened once per
// kind of input and shared; each run keeps its per-step training loss/error, its epochs, its
// last validation's softmax outputs (for ensembles) and its model file.
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Backend } from '../backend/backend.js';
import type { Dataset } from '../data/dataset.js';
import type { Probabilities } from '../eval/evaluate.js';
import { predictSplit } from '../eval/evaluate.js';
import { buildNet } from '../models/alexnet.js';
import { defaultConfig, type Arch, type ModelMeta } from '../models/config.js';
import { initialize, type InitScheme } from '../models/init.js';
import { variantSchema, type VariantInput } from '../models/variants.js';
import type { Net } from '../nn/net.js';
import type { ScheduleSpec } from '../optim/schedule.js';
import type { EpochRecord } from '../train/metrics.js';
import { trainConfigSchema } from '../train/presets.js';
import type { Progress } from '../train/progress.js';
import { loadMatching, openData } from '../train/setup.js';
import { subsetIndices } from '../train/plan.js';
import { train } from '../train/trainer.js';
import { CropSplit, SubsetSplit } from './splits.js';

export interface LabSettings {
  /** 'fashion-mnist', an IDX, CIFAR-10 or ImageFolder directory. */
  data: string;
  arch: Arch;
  inputSize: number;
  /** Conv channels × width; fc6/fc7 outputs (undefined: the paper's 4096). */
  width: number;
  fc?: number;
  epochs: number;
  batch: number;
  lr: number;
  schedule: Partial<ScheduleSpec> & { kind: ScheduleSpec['kind'] };
  init: InitScheme;
  /** Seeded subsets of the training and test images (null: all). */
  maxTrain: number | null;
  maxTest: number | null;
  seed: number;
}

export interface RunSpec {
  name: string;
  label: string;
  variant?: VariantInput;
  /** The member's own seed (initialisation, order, dropout); the images stay the experiment's. */
  seed?: number;
  epochs?: number;
  /** Train on random crops of larger inputs, test on the centre crop (and the ten views). */
  crops?: boolean;
  /** PCA colour noise on training batches (colour data only). */
  colorNoise?: boolean;
  /** Train on the training images this experiment's subset leaves out (CNN*'s pretraining). */
  pretrain?: boolean;
  /** Start from this model file's matching tensors, fc8 freshly initialised (fine-tuning). */
  from?: string;
}

export interface StepRecord {
  step: number;
  loss: number;
  error: number;
}

export interface RunResult {
  spec: RunSpec;
  history: EpochRecord[];
  steps: StepRecord[];
  test: { top1: number; top5: number; loss: number };
  /** The last validation's softmax outputs over the experiment's test images. */
  probs: Probabilities;
  /** With crops: the ten-view evaluation of the same test images. */
  tenViews?: Probabilities;
  seconds: number;
  modelPath: string;
}

export interface LabContext {
  settings: LabSettings;
  backend: Backend;
  out: string;
  log: (line: string) => void;
  workers?: boolean;
}

/** The crop's source side: the paper's 256 : 224 ratio. */
export const cropSource = (s: number): number => Math.round((s * 256) / 224);

export class LabData {
  private readonly open = new Map<string, Promise<Dataset>>();

  constructor(private readonly ctx: LabContext) {}

  dataset(crops: boolean, colorNoise: boolean): Promise<Dataset> {
    const size = crops ? cropSource(this.ctx.settings.inputSize) : this.ctx.settings.inputSize;
    const key = `${size}:${colorNoise}`;
    if (!this.open.has(key))
      this.open.set(
        key,
        openData(this.ctx.settings.data, {
          inputSize: size,
          workers: this.ctx.workers ?? false,
          seed: this.ctx.settings.seed,
          augment: colorNoise,
          log: this.ctx.log,
        }),
      );
    return this.open.get(key)!;
  }

  async close(): Promise<void> {
    for (const d of this.open.values()) await (await d).close();
  }
}

/** The experiment's images: a seeded subset of training and test images shared by every run;
 *  the pretraining images are (up to as many again) the training images it leaves out. */
function subsets(ds: Dataset, s: LabSettings, pretrain: boolean): Dataset {
  const trainIdx = subsetIndices(ds.train.size, s.maxTrain, s.seed, 0);
  let idx = trainIdx;
  if (pretrain) {
    const used = new Set(trainIdx);
    const rest = Int32Array.from({ length: ds.train.size }, (_, i) => i).filter(
      (i) => !used.has(i),
    );
    idx = rest.length ? rest.slice(0, s.maxTrain ?? rest.length) : trainIdx;
  }
  return {
    ...ds,
    id: ds.id,
    classNames: ds.classNames,
    preprocess: ds.preprocess,
    skipped: ds.skipped,
    close: async () => {},
    train: new SubsetSplit(ds.train, idx),
    test: new SubsetSplit(ds.test, subsetIndices(ds.test.size, s.maxTest, s.seed, 1)),
  };
}

function recorder(steps: StepRecord[]): Progress {
  return {
    step(i) {
      steps.push({ step: steps.length + 1, loss: i.batchLoss, error: 1 - i.batchAccuracy });
    },
    note() {},
    task: () => ({ update() {}, stop() {} }),
    done() {},
  };
}

export async function runOne(ctx: LabContext, data: LabData, spec: RunSpec): Promise<RunResult> {
  const s = ctx.settings;
  const started = performance.now();
  const source = await data.dataset(spec.crops ?? false, spec.colorNoise ?? false);
  let ds = subsets(source, s, spec.pretrain ?? false);
  if (spec.crops)
    ds = {
      ...ds,
      train: new CropSplit(ds.train, s.inputSize),
      test: new CropSplit(ds.test, s.inputSize),
    };
  const [channels] = ds.train.sampleShape;
  const seed = spec.seed ?? s.seed;
  const model = defaultConfig(s.arch, {
    classes: ds.classNames.length,
    channels,
    inputSize: s.inputSize,
    variant: variantSchema.parse({ width: s.width, fc: s.fc, ...spec.variant }),
  });
  const meta: ModelMeta = {
    config: model,
    classNames: ds.classNames,
    preprocess: source.preprocess,
    dataset: source.id,
  };
  const config = trainConfigSchema.parse({
    arch: s.arch,
    data: s.data,
    inputSize: s.inputSize,
    epochs: spec.epochs ?? s.epochs,
    batch: s.batch,
    lr: s.lr,
    momentum: 0.9,
    weightDecay: 5e-4,
    schedule: s.schedule,
    multipliers: 'none',
    init: s.init,
    labelSmoothing: 0,
    augment: true,
    normalize: true,
    maxSeconds: null,
    maxTrain: null,
    maxTest: null,
    freeze: [],
    seed,
  });
  const net: Net = buildNet(model, ctx.backend, seed);
  initialize(net, s.init, seed);
  if (spec.from) {
    loadMatching(net, spec.from, s.arch);
    initialize(net, s.init, seed, new Set(['fc8'])); // a new head, as the paper's 22k → 1k
  }
  const steps: StepRecord[] = [];
  let probs: Probabilities | null = null;
  ctx.log(`  ${spec.label}: training (${ds.train.size} images, ${config.epochs} epochs)`);
  const result = await train({
    net,
    meta,
    dataset: ds,
    config,
    outDir: join(ctx.out, 'runs', spec.name),
    progress: recorder(steps),
    handleSignals: false,
    plots: false,
    onValidate: (p) => {
      probs = p;
    },
  });
  const tenViews = spec.crops
    ? await predictSplit([net], ds.test, { batch: s.batch, views: '10' })
    : undefined;
  const seconds = (performance.now() - started) / 1000;
  const test = result.test!;
  ctx.log(
    `  ${spec.label}: top-1 ${test.top1.toFixed(4)}, top-5 ${test.top5.toFixed(4)} after ${seconds.toFixed(0)} s`,
  );
  return {
    spec,
    history: result.history,
    steps,
    test,
    probs: probs!,
    tenViews,
    seconds,
    modelPath: result.modelPath,
  };
}
