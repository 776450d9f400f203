// The library's model handle: a network with its metadata (config, class names, preprocessing),
// made fresh, loaded from a model file or imported from another framework, then run on arrays,
// image files, encoded bytes or decoded pixels. Inference is awaitable (as onnxruntime-node's
// `InferenceSession.run`), so callers need not care which steps are asynchronous.
// Errors are UsageErrors naming their subject (a file, an option of these calls), never a flag.
import type { Backend } from '../backend/backend.js';
import { selectBackend, type BackendId } from '../backend/index.js';
import type { ImageInput } from '../data/image.js';
import { defaultPreprocess, type Preprocess } from '../data/presets.js';
import type { ViewMode } from '../data/views.js';
import { inferBatched } from '../eval/batched.js';
import { classifyImages, classProbabilities, type ClassScore } from '../eval/classify.js';
import { loadEnsemble } from '../eval/ensemble.js';
import { extractFeatures } from '../eval/retrieval.js';
import { exportOnnx } from '../interop/onnx-export.js';
import { readForeignModel, type ImportFormat } from '../interop/import.js';
import { buildNet } from '../models/alexnet.js';
import { loadModel as loadModelFile, metaToStrings } from '../models/checkpoint.js';
import { writeSafetensors } from '../tensor/safetensors.js';
import {
  ARCHS,
  defaultConfig,
  type Arch,
  type ModelConfig,
  type ModelMeta,
} from '../models/config.js';
import { INIT_SCHEMES, initialize, type InitScheme } from '../models/init.js';
import type { Net } from '../nn/net.js';
import type { Precision } from '../nn/precision.js';
import { Tensor, shapeString } from '../tensor/tensor.js';
import { usage } from '../util/errors.js';

/** Where the kernels run: a backend, or its id ('native' when it loads, else 'ref'). */
export interface BackendOptions {
  backend?: Backend | BackendId;
  /** Kernel threads (native backend; default: the number of cores). */
  threads?: number;
}

/** How the network computes: 'fp32' (default), or 'bf16' — mixed precision, the conv and linear
 *  layers multiplying bfloat16 inputs with float32 accumulation (weights stay float32). */
export interface PrecisionOptions {
  precision?: Precision;
}

export function resolveBackend(opts: BackendOptions = {}): Backend {
  if (typeof opts.backend === 'object') {
    if (opts.threads !== undefined) opts.backend.setThreads(opts.threads);
    return opts.backend;
  }
  try {
    return selectBackend(opts.backend, opts.threads);
  } catch (e) {
    return usage(`backend ${opts.backend ?? '(default)'}: ${(e as Error).message}`);
  }
}

function checkArch(arch: string): Arch {
  if (!(ARCHS as readonly string[]).includes(arch))
    usage(`arch '${arch}': unknown variant (choose ${ARCHS.join(', ')})`);
  return arch as Arch;
}

/** The initialisation each variant's own recipe uses. */
const DEFAULT_INIT: Record<Arch, InitScheme> = {
  alexnet2012: 'paper',
  caffenet: 'caffe',
  torchvision: 'kaiming',
  d2l: 'xavier',
};

export interface CreateOptions extends BackendOptions, PrecisionOptions {
  classes?: number;
  inputSize?: number;
  channels?: number;
  /** Default: the variant's own ('paper', 'caffe', 'kaiming' for torchvision, 'xavier' for d2l). */
  init?: InitScheme;
  seed?: number;
  classNames?: string[];
  preprocess?: Preprocess;
}

export interface LoadOptions extends BackendOptions, PrecisionOptions {
  /** For a file without alexnet metadata (e.g. written by PyTorch): which network it holds. */
  arch?: string;
  classes?: number;
  inputSize?: number;
}

export interface RunOptions {
  /** Return this layer's output instead of the logits ('conv1' is before its ReLU). */
  layer?: string;
  /** Samples per forward pass (default 32). */
  batch?: number;
}

export interface PredictOptions {
  /** Classes per image, most probable first (default 5). */
  top?: number;
  /** The centre view, or the paper's ten views with their softmax averaged (RGB models). */
  views?: ViewMode;
  batch?: number;
}

/** Arrays in: a Tensor, or flat NCHW float32 values with their shape. */
export type ArrayInput = Tensor | { data: Float32Array; shape: readonly number[] };

function asTensor(x: ArrayInput): Tensor {
  if (x instanceof Tensor) return x;
  const size = x.shape.reduce((a, b) => a * b, 1);
  if (x.data.length !== size)
    usage(`input: shape ${shapeString([...x.shape])} needs ${size} values, got ${x.data.length}`);
  return new Tensor([...x.shape], x.data);
}

export class Model {
  constructor(
    readonly net: Net,
    readonly meta: ModelMeta,
  ) {}

  /** A freshly built network, initialised (never zeros). */
  static create(arch: Arch, opts: CreateOptions = {}): Model {
    const a = checkArch(arch);
    if (opts.init !== undefined && !(INIT_SCHEMES as readonly string[]).includes(opts.init))
      usage(`init '${opts.init}': unknown scheme (choose ${INIT_SCHEMES.join(', ')})`);
    const config = defaultConfig(a, {
      classes: opts.classes,
      inputSize: opts.inputSize,
      channels: opts.channels,
    });
    const seed = opts.seed ?? 0;
    const net = buildNet(config, resolveBackend(opts), seed, opts.precision);
    initialize(net, opts.init ?? DEFAULT_INIT[a], seed);
    return new Model(net, {
      config,
      classNames: opts.classNames,
      preprocess: opts.preprocess ?? defaultPreprocess(config.channels, config.inputSize),
    });
  }

  /** Reads a model file (safetensors, as `save` and `alexnet train` write them). */
  static async load(path: string, opts: LoadOptions = {}): Promise<Model> {
    if (opts.arch !== undefined) checkArch(opts.arch);
    const { net, meta } = loadModelFile(path, { ...opts, backend: resolveBackend(opts) });
    return new Model(net, meta);
  }

  /** Weights from another framework: a torchvision state dict (.pth), a Caffe .caffemodel or an
   *  ONNX file; the model carries that framework's preprocessing preset and class names. */
  static async import(
    path: string,
    from: ImportFormat,
    opts: BackendOptions & PrecisionOptions & { arch?: string; prototxt?: string } = {},
  ): Promise<Model> {
    if (opts.arch !== undefined) checkArch(opts.arch);
    const { tensors, meta } = readForeignModel(path, {
      from,
      arch: opts.arch,
      prototxt: opts.prototxt,
    });
    const net = buildNet(meta.config, resolveBackend(opts), 0, opts.precision);
    net.loadStateDict(tensors, path);
    return new Model(net, meta);
  }

  /** 'fp32' or 'bf16' (PrecisionOptions). */
  get precision(): Precision {
    return this.net.precision;
  }

  get config(): ModelConfig {
    return this.meta.config;
  }

  get classNames(): string[] {
    return this.meta.classNames ?? Array.from({ length: this.config.classes }, (_, i) => String(i));
  }

  get preprocess(): Preprocess {
    return this.meta.preprocess ?? defaultPreprocess(this.config.channels, this.config.inputSize);
  }

  /** The parameters by name (conv1.weight … fc8.bias), on the host. */
  async weights(): Promise<Map<string, Tensor>> {
    return this.net.readState();
  }

  /** Writes the weights and metadata as safetensors (atomically). */
  async save(path: string): Promise<void> {
    writeSafetensors(path, await this.net.readState(), metaToStrings(this.meta));
  }

  /** ONNX (opset 11, dynamic batch), loadable by onnxruntime. */
  async exportOnnx(path: string): Promise<void> {
    exportOnnx(path, this.net, this.meta);
  }

  /** x: [N, C, H, W] → logits [N, classes] (or `layer`'s output), in eval mode. */
  async run(x: ArrayInput, opts: RunOptions = {}): Promise<Tensor> {
    return inferBatched(this.net, asTensor(x), Math.max(1, opts.batch ?? 32), opts.layer);
  }

  /** Class probabilities [N, classes] for images (paths, encoded bytes or decoded pixels). */
  async probabilities(images: ImageInput[], opts: PredictOptions = {}): Promise<Float32Array> {
    return classProbabilities([this.net], this.preprocess, images, opts);
  }

  /** The top classes of each image, prepared as the model's preprocessing says. */
  async predict(images: ImageInput[], opts: PredictOptions = {}): Promise<ClassScore[][]> {
    return classifyImages([this.net], this.preprocess, this.classNames, images, opts);
  }

  /** A layer's activations (default fc7, the paper's 4096-d descriptor) for image files: [N, …]. */
  async features(paths: string[], opts: { layer?: string; batch?: number } = {}): Promise<Tensor> {
    const r = await extractFeatures(this.net, this.meta, paths, opts.layer ?? 'fc7', opts.batch);
    return r.features;
  }
}

/** Several model files whose softmax outputs are averaged (the paper's 5- and 7-CNN results). */
export class Ensemble {
  private constructor(readonly members: Model[]) {}

  static async load(paths: string[], opts: LoadOptions = {}): Promise<Ensemble> {
    if (opts.arch !== undefined) checkArch(opts.arch);
    const loaded = loadEnsemble(paths, resolveBackend(opts), opts.arch);
    if (opts.precision !== undefined) for (const m of loaded) m.net.setPrecision(opts.precision);
    return new Ensemble(loaded.map((m) => new Model(m.net, m.meta)));
  }

  get nets(): Net[] {
    return this.members.map((m) => m.net);
  }

  async predict(images: ImageInput[], opts: PredictOptions = {}): Promise<ClassScore[][]> {
    const first = this.members[0];
    return classifyImages(this.nets, first.preprocess, first.classNames, images, opts);
  }
}
