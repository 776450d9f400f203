// Model files: safetensors holding conv1.weight … fc8.bias in PyTorch layouts, with the model's
// metadata (config, class names, preprocessing, dataset) as JSON strings under `alexnet.*` keys.
// A file without that metadata (e.g. written by PyTorch) is read with `--arch`, the class count
// inferred from fc8 and the input channels from conv1.
import type { Backend } from '../backend/backend.js';
import type { Net } from '../nn/net.js';
import type { Precision } from '../nn/precision.js';
import { readSafetensors, writeSafetensors } from '../tensor/safetensors.js';
import type { Tensor } from '../tensor/tensor.js';
import { usage } from '../util/errors.js';
import { buildNet } from './alexnet.js';
import { ARCHS, defaultConfig, modelMetaSchema, type Arch, type ModelMeta } from './config.js';

const META_KEY = 'alexnet.meta';

export interface LoadedModel {
  net: Net;
  meta: ModelMeta;
  /** Every tensor in the file, including any the network does not use. */
  tensors: Map<string, Tensor>;
  /** The file's metadata strings (alexnet.meta and any others, e.g. a training record). */
  metadata: Record<string, string>;
}

export interface LoadOptions {
  backend: Backend;
  /** Needed when the file has no metadata; must agree with it when it has. */
  arch?: string;
  classes?: number;
  inputSize?: number;
  seed?: number;
  /** The precision the net computes in (default fp32); the file is float32 either way. */
  precision?: Precision;
}

export function metaToStrings(meta: ModelMeta): Record<string, string> {
  return { [META_KEY]: JSON.stringify(meta), format: 'pt' };
}

export function saveModel(
  path: string,
  net: Net,
  meta: ModelMeta,
  extra?: Map<string, Tensor>,
): void {
  const tensors = net.stateDict();
  if (extra) for (const [k, v] of extra) tensors.set(k, v);
  writeSafetensors(path, tensors, metaToStrings(meta));
}

/** Reads the metadata of a model file, or resolves it from opts.arch and the tensors' shapes. */
export function resolveMeta(
  path: string,
  tensors: Map<string, Tensor>,
  metadata: Record<string, string>,
  opts: Omit<LoadOptions, 'backend'>,
): ModelMeta {
  if (opts.arch !== undefined && !(ARCHS as readonly string[]).includes(opts.arch)) {
    usage(`variant ${opts.arch} is unknown (choose ${ARCHS.join(', ')})`, 'arch');
  }
  const raw = metadata[META_KEY];
  if (raw !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      usage(`${path}: metadata ${META_KEY} is not JSON`);
    }
    const r = modelMetaSchema.safeParse(parsed);
    if (!r.success)
      usage(
        `${path}: metadata ${META_KEY} is invalid (${r.error.issues[0].path.join('.')}: ${r.error.issues[0].message})`,
      );
    const meta = r.data;
    // Every class needs a name: a shorter list printed `undefined` for the rest.
    if (meta.classNames && meta.classNames.length !== meta.config.classes)
      usage(
        `${path}: metadata ${META_KEY} names ${meta.classNames.length} classes, the model has ${meta.config.classes}`,
      );
    if (opts.arch && opts.arch !== meta.config.arch) {
      usage(`${path}: the file holds a ${meta.config.arch} model, not ${opts.arch}`, 'arch');
    }
    return meta;
  }
  if (!opts.arch)
    usage(
      `${path}: the file has no alexnet metadata; say which variant it holds (arch: ${ARCHS.join(', ')})`,
      'arch',
    );
  const fc8 = tensors.get('fc8.weight');
  const conv1 = tensors.get('conv1.weight');
  if (!fc8 || !conv1)
    usage(
      `${path}: tensor ${fc8 ? 'conv1.weight' : 'fc8.weight'} is missing (expected conv1.weight … fc8.bias)`,
    );
  const classes = opts.classes ?? fc8.shape[0];
  const config = defaultConfig(opts.arch as Arch, {
    classes,
    channels: conv1.shape[1],
    inputSize: opts.inputSize,
  });
  return { config };
}

export function loadModel(path: string, opts: LoadOptions): LoadedModel {
  const { tensors, metadata } = readSafetensors(path);
  const meta = resolveMeta(path, tensors, metadata, opts);
  const net = buildNet(meta.config, opts.backend, opts.seed ?? 0, opts.precision);
  net.loadStateDict(tensors, path);
  return { net, meta, tensors, metadata };
}
