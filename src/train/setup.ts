// Everything `alexnet train` does before the loop, as library calls: open the data named by
// --data, build and initialise the network for it, fine-tune from a model file (--from), freeze
// layers, or restore a checkpoint (--resume).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../backend/backend.js';
import type { Normalize } from '../data/augment.js';
import type { Dataset } from '../data/dataset.js';
import { isCifarDir, openCifar } from '../data/cifar.js';
import { FASHION_ID, openFashion } from '../data/fashion.js';
import { isIdxDir, openIdx } from '../data/idx.js';
import { buildNet } from '../models/alexnet.js';
import { resolveMeta } from '../models/checkpoint.js';
import { defaultConfig, type ModelConfig, type ModelMeta } from '../models/config.js';
import { initialize } from '../models/init.js';
import { variantSchema, type VariantInput } from '../models/variants.js';
import type { Net } from '../nn/net.js';
import { readSafetensors } from '../tensor/safetensors.js';
import { sameShape, shapeString } from '../tensor/tensor.js';
import { usage } from '../util/errors.js';
import type { LoadedCheckpoint } from './checkpoint.js';
import type { TrainConfig } from './presets.js';

export interface OpenDataOptions {
  inputSize: number;
  normalize?: boolean;
  workers?: boolean;
  /** ImageFolder: drives its train/val split. */
  seed?: number;
  /** ImageFolder, a single tree: the share of each class held out (default 0.1; 1: all of it
   *  is the test split). */
  valFraction?: number;
  /** ImageFolder, evaluation: a model's normalisation instead of the training set's. */
  modelNormalize?: Normalize;
  /** ImageFolder: PCA colour noise on training batches. */
  augment?: boolean;
  /** Grey byte images: normalise with these (a model's) instead of the training split's. */
  stats?: { mean: number; std: number };
  log?: (line: string) => void;
  /** ImageFolder: called as files are decoded into its cache (done, total). */
  onCache?: (done: number, total: number) => void;
}

export type DataKind = 'fashion' | 'idx' | 'cifar' | 'imagefolder';

/** What --data names, without opening it: the bundled set, an IDX or CIFAR-10 directory or an
 *  ImageFolder tree (anything else is one of those for openData to refuse with a reason). */
export function dataKind(src: string | undefined): DataKind {
  if (src === undefined || src === '' || src === FASHION_ID) return 'fashion';
  try {
    if (!statSync(src).isDirectory()) return 'imagefolder';
    return isIdxDir(src) ? 'idx' : isCifarDir(src) ? 'cifar' : 'imagefolder';
  } catch {
    return 'imagefolder';
  }
}

/** The data source: 'fashion-mnist' or absent → the bundled set; a directory of IDX files → idx; CIFAR-10's
 *  .bin files → cifar; a directory with train/ or class subfolders → the ImageFolder loader. */
export async function openData(src: string | undefined, opts: OpenDataOptions): Promise<Dataset> {
  if (dataKind(src) === 'fashion') return openFashion(opts);
  src = src as string;
  let isDir = false;
  try {
    isDir = statSync(src).isDirectory();
  } catch (e) {
    usage(
      `${src}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      'data',
    );
  }
  if (!isDir)
    usage(
      `${src}: not a directory (give an IDX directory, an ImageFolder tree, or fashion-mnist)`,
      'data',
    );
  if (isIdxDir(src)) return openIdx(src, opts);
  if (isCifarDir(src))
    return openCifar(src, {
      inputSize: opts.inputSize,
      normalize: opts.normalize,
      colorAugment: opts.augment,
    });
  let entries: string[];
  try {
    entries = readdirSync(src);
  } catch (e) {
    return usage(`${src}: cannot list (${(e as NodeJS.ErrnoException).code})`, 'data');
  }
  const hasSubdirs =
    existsSync(join(src, 'train')) ||
    entries.some((e) => {
      try {
        return statSync(join(src, e)).isDirectory();
      } catch {
        return false;
      }
    });
  if (!hasSubdirs)
    usage(`${src}: neither IDX files nor an ImageFolder tree (class subfolders or train/)`, 'data');
  // The ImageFolder pipeline lives in its own module (another part of the tree); a variable
  // specifier keeps this file compiling whether or not it is there yet.
  const specifier = '../data/imagefolder.js';
  let mod: { openImageFolder?: (dir: string, o: unknown) => Promise<Dataset> };
  try {
    mod = await import(specifier);
  } catch (e) {
    return usage(
      `${src}: the ImageFolder loader is not available (${(e as Error).message})`,
      'data',
    );
  }
  if (!mod.openImageFolder)
    usage(`${src}: the ImageFolder loader exports no openImageFolder`, 'data');
  return mod.openImageFolder(src, {
    inputSize: opts.inputSize,
    seed: opts.seed ?? 0,
    valFraction: opts.valFraction,
    normalize: opts.modelNormalize,
    onCache: opts.onCache,
    workers: opts.workers === false ? 0 : undefined,
    colorAugment: opts.augment ?? true,
    warn: opts.log,
  });
}

export function modelConfigFor(config: TrainConfig, dataset: Dataset): ModelConfig {
  const [channels, h] = dataset.train.sampleShape;
  return defaultConfig(config.arch, {
    classes: dataset.classNames.length,
    channels,
    inputSize: h,
    variant: config.variant,
  });
}

export function modelMetaFor(model: ModelConfig, dataset: Dataset): ModelMeta {
  return {
    config: model,
    classNames: dataset.classNames,
    preprocess: dataset.preprocess,
    dataset: dataset.id,
  };
}

/** Marks the parameters of the named layers frozen; unknown names are a usage error. */
export function freezeLayers(net: Net, names: readonly string[]): void {
  const layers = new Set(net.layers.filter((l) => l.params.length > 0).map((l) => l.name));
  for (const name of names) {
    if (!layers.has(name))
      usage(
        `layer ${name}: no such layer with parameters (have ${[...layers].join(', ')})`,
        'freeze',
      );
  }
  const set = new Set(names);
  for (const l of net.layers) for (const p of l.params) p.frozen = set.has(l.name);
}

export interface FineTuneReport {
  loaded: string[];
  /** Parameters kept at their fresh initialisation (e.g. fc8 for a new class count). */
  fresh: string[];
}

/** Copies every tensor of `path` whose name and shape match; the rest keep their initialisation.
 *  Refuses a file of another network (different variant, or nothing but the head matching). */
export function loadMatching(net: Net, path: string, arch: string): FineTuneReport {
  const { tensors, metadata } = readSafetensors(path);
  const meta = resolveMeta(path, tensors, metadata, {
    arch: metadata['alexnet.meta'] ? undefined : arch,
  });
  if (meta.config.arch !== arch)
    usage(`${path}: the file holds a ${meta.config.arch} model, training a ${arch}`, 'from');
  const loaded: string[] = [];
  const fresh: string[] = [];
  for (const p of net.params) {
    const t = tensors.get(p.name);
    if (t && sameShape(t.shape, p.shape)) {
      net.backend.upload(t, p.value);
      loaded.push(p.name);
    } else {
      fresh.push(
        p.name +
          (t ? ` (file ${shapeString(t.shape)}, network ${shapeString(p.shape)})` : ' (missing)'),
      );
    }
  }
  if (loaded.filter((n) => !n.startsWith('fc8.')).length === 0)
    usage(`${path}: no tensor matches the network's shapes (a model of another network?)`, 'from');
  return { loaded, fresh };
}

export interface NetSetup {
  net: Net;
  meta: ModelMeta;
  fineTune?: FineTuneReport;
}

/** The network for a run: restored from a checkpoint, or initialised (and maybe fine-tuned). */
export function prepareNet(
  config: TrainConfig,
  dataset: Dataset,
  backend: Backend,
  opts: { from?: string; resume?: LoadedCheckpoint; resumePath?: string; variant?: VariantInput },
): NetSetup {
  const model = modelConfigFor(config, dataset);
  if (opts.variant) model.variant = variantSchema.parse(opts.variant);
  const meta = modelMetaFor(model, dataset);
  const net = buildNet(model, backend, config.seed);
  let fineTune: FineTuneReport | undefined;
  if (opts.resume) {
    net.loadStateDict(opts.resume.tensors, opts.resumePath ?? 'the checkpoint');
  } else {
    initialize(net, config.init, config.seed);
    if (opts.from) fineTune = loadMatching(net, opts.from, config.arch);
  }
  freezeLayers(net, config.freeze);
  return { net, meta, fineTune };
}
