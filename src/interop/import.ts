// `alexnet import`: weights from another framework → a native model file (safetensors with the
// config, class names and preprocessing in its metadata). The per-format readers only produce
// tensors under this project's names plus metadata; building the network here checks every shape.
import type { Backend } from '../backend/backend.js';
import { buildNet } from '../models/alexnet.js';
import { saveModel } from '../models/checkpoint.js';
import type { Net } from '../nn/net.js';
import { usage } from '../util/errors.js';
import { ARCHS, type Arch, type ModelMeta } from '../models/config.js';
import { importCaffe } from './caffe.js';
import { importOnnx } from './onnx-import.js';
import { importTorchvision, type Imported } from './torchvision.js';

export const IMPORT_FORMATS = ['torchvision', 'caffe', 'onnx'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

export interface ImportOptions {
  from: ImportFormat;
  arch?: string;
  /** Caffe: an optional deploy prototxt (used to confirm the layer order). */
  prototxt?: string;
}

export function readForeignModel(src: string, opts: ImportOptions): Imported {
  if (opts.arch !== undefined && !(ARCHS as readonly string[]).includes(opts.arch)) {
    usage(`variant ${opts.arch} is unknown (choose ${ARCHS.join(', ')})`, 'arch');
  }
  const arch = opts.arch as Arch | undefined;
  switch (opts.from) {
    case 'torchvision':
      if (arch && arch !== 'torchvision')
        usage(`variant ${arch}: a torchvision state dict holds the torchvision variant`, 'arch');
      return importTorchvision(src);
    case 'caffe':
      return importCaffe(src, { arch, prototxt: opts.prototxt });
    case 'onnx':
      return importOnnx(src, { arch });
  }
}

/** Reads a foreign model, builds the matching network (checking every shape) and writes it. */
export function importModel(
  src: string,
  output: string,
  opts: ImportOptions,
  backend: Backend,
): { net: Net; meta: ModelMeta } {
  const { tensors, meta } = readForeignModel(src, opts);
  const net = buildNet(meta.config, backend);
  net.loadStateDict(tensors, src);
  saveModel(output, net, meta);
  return { net, meta };
}
