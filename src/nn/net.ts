// Net: a sequence of layers built from a declarative list of layer specs (the model is data,
// like Caffe's prototxt). Shapes, parameter counts and MACs are derived from the list.
// A ReLU that directly follows a conv or linear layer is fused into it for speed; asking for the
// output of a fused layer by name runs that forward unfused, so every named output stays exact.
import type { Backend } from '../backend/backend.js';
import { fallbackName, missingKernels, partialKernels, withFallback } from '../backend/fallback.js';
import type { KernelName } from '../backend/kernels.js';
import { refBackend } from '../backend/ref/index.js';
import { Tensor, shapeString, sizeOf, type Shape } from '../tensor/tensor.js';
import { usage } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { ActivationLayer, type ActivationSpec } from './activation.js';
import { Conv2d, type ConvSpec } from './conv.js';
import { Dropout, type DropoutMode, type DropoutSpec } from './dropout.js';
import { Flatten, type FlattenSpec } from './flatten.js';
import { Slot, type F32, type ForwardContext, type Layer, type Param } from './layer.js';
import { Linear, type LinearSpec } from './linear.js';
import { Lrn, type LrnSpec } from './lrn.js';
import { parsePrecision, type Precision } from './precision.js';
import { AdaptiveAvgPool2d, Pool2d, type AdaptivePoolSpec, type PoolSpec } from './pool.js';

export type LayerSpec =
  | ConvSpec
  | LinearSpec
  | PoolSpec
  | AdaptivePoolSpec
  | LrnSpec
  | ActivationSpec
  | DropoutSpec
  | FlattenSpec;

export interface NetOptions {
  /** Per-sample input shape [C, H, W]. */
  input: Shape;
  classes: number;
  dropoutMode: DropoutMode;
  /** Default 'fp32'; see setPrecision. */
  precision?: Precision;
}

export interface LayerRow {
  name: string;
  kind: string;
  output: Shape;
  params: number;
  macs: number;
}

/** Seconds spent per layer (forward and backward), accumulated while `Net.profile` is set. */
export type LayerProfile = Map<string, { forward: number; backward: number }>;

export class Net {
  readonly layers: Layer[] = [];
  readonly rows: LayerRow[] = [];
  readonly params: Param[] = [];
  readonly paramsByName = new Map<string, Param>();
  readonly input: Shape;
  /** Seeded generator for dropout masks; its state is saved with training checkpoints. */
  readonly rng: Rng;
  /** Where every tensor of this net lives and every kernel runs. */
  readonly backend: Backend;
  private readonly inputSlot = new Slot();
  /** When set, forward and backward add each layer's wall time to it (`alexnet bench --layers`). */
  profile: LayerProfile | null = null;
  /** When this forward's batch is rows [first, first + n) of a larger batch of `total` (one rank's
   *  share in data-parallel training): dropout draws masks for all `total` rows and uses its own,
   *  so the masks do not depend on how the batch is split. */
  batchWindow: { first: number; total: number } | null = null;
  private prec: Precision = 'fp32';

  constructor(
    /** The model as data: one spec per layer, in order (layers[i] is built from specs[i]). */
    readonly specs: readonly LayerSpec[],
    readonly opts: NetOptions,
    backend: Backend,
    seed = 0,
  ) {
    this.input = opts.input;
    this.rng = new Rng(seed);
    let shape: Shape = opts.input;
    for (const spec of specs) {
      const layer = buildLayer(spec, shape, opts, backend);
      shape = layer.outputShape(shape);
      const macs = layer.macs(
        this.rows.length === 0 ? opts.input : this.rows[this.rows.length - 1].output,
      );
      this.layers.push(layer);
      this.rows.push({
        name: layer.name,
        kind: layer.kind,
        output: shape,
        params: layer.params.reduce((s, p) => s + p.value.size, 0),
        macs,
      });
      for (const p of layer.params) {
        this.params.push(p);
        this.paramsByName.set(p.name, p);
      }
    }
    this.setFusion(true);
    this.backend = withRefFallback(backend, this.layers);
    this.setPrecision(opts.precision ?? 'fp32');
  }

  /** 'fp32', or 'bf16': mixed precision (precision.ts). */
  get precision(): Precision {
    return this.prec;
  }

  /** Switches the precision: bf16 gives each conv and linear weight a bfloat16 copy on the
   *  backend (cast from the float32 master when it changes), fp32 drops them. */
  setPrecision(precision: Precision): void {
    const p = parsePrecision(precision); // the library's callers may pass any string
    const b = this.backend;
    if (p === 'bf16' && !b.supports('cast', ['float32', 'bfloat16']))
      usage(`precision bf16: backend ${b.name} cannot cast to bfloat16`, 'precision');
    // bfloat16 GEMM calls the backend lacks run on ref, which needs synchronous reads.
    if (p === 'bf16' && !b.readSync && GEMM.some((k) => !b.supports(k, ['float32', 'bfloat16'])))
      usage(
        `precision bf16: backend ${b.name} has no bfloat16 convolution and linear kernels (use fp32, or the native or ref backend)`,
        'precision',
      );
    for (const l of this.layers)
      if (l instanceof Conv2d || l instanceof Linear) l.setPrecision(p, this.backend);
    this.prec = p;
  }

  /** Says the parameters were written other than by Sgd or loadStateDict (a host write, an
   *  upload): a bf16 net recasts its weights' bfloat16 copies before the next kernel reads them. */
  weightsChanged(): void {
    for (const p of this.params) if (p.shadow) p.shadow.stale = true;
  }

  get outputShape(): Shape {
    return this.rows[this.rows.length - 1].output;
  }

  get paramCount(): number {
    return this.rows.reduce((s, r) => s + r.params, 0);
  }

  get macCount(): number {
    return this.rows.reduce((s, r) => s + r.macs, 0);
  }

  private setFusion(on: boolean): void {
    for (let i = 0; i + 1 < this.layers.length; i++) {
      const layer = this.layers[i];
      if (layer instanceof Conv2d || layer instanceof Linear)
        layer.fuseRelu = on && this.layers[i + 1].kind === 'relu';
    }
  }

  private isFusedAway(i: number): boolean {
    const prev = this.layers[i - 1];
    return i > 0 && (prev instanceof Conv2d || prev instanceof Linear) && prev.fuseRelu;
  }

  private context(training: boolean): ForwardContext {
    return { backend: this.backend, training, rng: this.rng, window: this.batchWindow };
  }

  /** A host input on a device backend is uploaded; on the host backends it is used as it is. */
  private onBackend(x: Tensor | F32): F32 {
    if (!(x instanceof Tensor) || this.backend.hostMemory) return x;
    return this.backend.upload(x, this.inputSlot.get(this.backend, x.shape));
  }

  private checkInput(x: F32): void {
    const per = x.shape.slice(1);
    if (x.shape.length !== this.input.length + 1 || per.some((d, i) => d !== this.input[i])) {
      usage(
        `input has shape ${shapeString(x.shape)}, the network expects [N, ${this.input.join(', ')}]`,
      );
    }
  }

  /** Forward to the logits ([N, classes]); training mode keeps what backward needs. The result
   *  is the backend's tensor (read it with backend.download; the net reuses it next call). */
  forward(input: Tensor | F32, training: boolean): F32 {
    const x = this.onBackend(input);
    this.checkInput(x);
    const ctx = this.context(training);
    let h = x;
    for (let i = 0; i < this.layers.length; i++) {
      if (this.isFusedAway(i)) continue;
      const t0 = this.profile ? performance.now() : 0;
      h = this.layers[i].forward(h, ctx);
      if (this.profile) this.record(this.layers[i].name, 'forward', t0);
    }
    return h;
  }

  private record(name: string, phase: 'forward' | 'backward', t0: number): void {
    const row = this.profile!.get(name) ?? { forward: 0, backward: 0 };
    row[phase] += (performance.now() - t0) / 1000;
    this.profile!.set(name, row);
  }

  /** Eval-mode forward that stops at the named layer and returns its output (e.g. fc7). */
  forwardTo(input: Tensor | F32, layerName: string): F32 {
    const stop = this.layers.findIndex((l) => l.name === layerName);
    if (stop < 0)
      usage(
        `${layerName}: no such layer (have ${this.layers.map((l) => l.name).join(', ')})`,
        'layer',
      );
    const x = this.onBackend(input);
    this.checkInput(x);
    const ctx = this.context(false);
    // A layer whose ReLU is fused would return post-ReLU values: run it unfused when it is the target.
    const target = this.layers[stop];
    const wasFused = (target instanceof Conv2d || target instanceof Linear) && target.fuseRelu;
    if (wasFused) (target as Conv2d | Linear).fuseRelu = false;
    try {
      let h = x;
      for (let i = 0; i <= stop; i++) {
        if (i < stop && this.isFusedAway(i)) continue;
        if (i === stop && this.isFusedAway(i)) continue; // a fused ReLU's output is its producer's
        h = this.layers[i].forward(h, ctx);
      }
      return h;
    } finally {
      if (wasFused) (target as Conv2d | Linear).fuseRelu = true;
    }
  }

  /** Backward from dlogits through every layer, filling each parameter's grad; `ready` hears of
   *  each layer's parameters as soon as their grads are final (data-parallel reduction). */
  backward(dlogits: F32, ready?: (params: readonly Param[]) => void): void {
    const ctx = this.context(true);
    let g: F32 | null = dlogits;
    for (let i = this.layers.length - 1; i >= 0 && g; i--) {
      if (this.isFusedAway(i)) continue;
      const t0 = this.profile ? performance.now() : 0;
      g = this.layers[i].backward(g, ctx, i > 0 && this.needsGradBelow(i));
      if (this.profile) this.record(this.layers[i].name, 'backward', t0);
      ready?.(this.layers[i].params);
    }
  }

  /** Whether any trainable parameter lies below layer i (if not, stop backprop early). */
  private needsGradBelow(i: number): boolean {
    for (let j = 0; j < i; j++) if (this.layers[j].params.some((p) => !p.frozen)) return true;
    return false;
  }

  /** name → tensor, in registration order (conv1.weight, conv1.bias, …, fc8.bias). On the host
   *  backends these ARE the parameters (no copy); a device backend needs `readState`. */
  stateDict(): Map<string, Tensor> {
    const b = this.backend;
    if (!b.readSync)
      throw new Error(`backend ${b.name}: read the parameters with await readState()`);
    this.weightsChanged(); // the caller may write them
    return new Map(this.params.map((p) => [p.name, b.readSync!(p.value).reshape(p.shape)]));
  }

  /** The parameters on the host, after the queued work (any backend). */
  async readState(): Promise<Map<string, Tensor>> {
    this.weightsChanged(); // on the host backends these are the parameters: the caller may write
    const out = new Map<string, Tensor>();
    for (const p of this.params)
      out.set(p.name, (await this.backend.download(p.value)).reshape(p.shape));
    return out;
  }

  /** Copies tensors into the parameters; every parameter must be present with its exact shape. */
  loadStateDict(tensors: Map<string, Tensor>, source: string): void {
    for (const p of this.params) {
      const t = tensors.get(p.name);
      if (!t)
        usage(`${source}: tensor ${p.name} is missing (the network needs ${shapeString(p.shape)})`);
      if (
        t.size !== p.value.size ||
        t.shape.length !== p.shape.length ||
        t.shape.some((d, i) => d !== p.shape[i])
      ) {
        usage(
          `${source}: tensor ${p.name} has shape ${shapeString(t.shape)}, the network needs ${shapeString(p.shape)}`,
        );
      }
      this.backend.upload(t, p.value);
    }
    this.weightsChanged();
  }
}

/** The kernels whose precision is their weight's (kernels.ts, "Precision"). */
const GEMM: readonly KernelName[] = [
  'conv2dForward',
  'conv2dBackward',
  'linearForward',
  'linearBackward',
];

/** Kernels every net needs besides its layers': the loss and the optimiser's. */
const TRAINING_KERNELS: readonly KernelName[] = ['softmaxCrossEntropy', 'sgdUpdate'];
const reported = new Set<string>();

/** Writes `line` to stderr once per process. */
function sayOnce(line: string): void {
  if (reported.has(line)) return;
  reported.add(line);
  process.stderr.write(line);
}

/** The backend, with what it lacks of the layers' kernels run on ref, per (kernel, dtypes): the
 *  kernels it lacks in float32 are named at once, in one line; a call in a dtype it lacks only
 *  (a bfloat16 call of a float32-only kernel) says so in one line when it first happens. */
function withRefFallback(backend: Backend, layers: readonly Layer[]): Backend {
  if (backend === refBackend) return backend;
  const needed = [...layers.flatMap((l) => l.kernels), ...TRAINING_KERNELS];
  const partial = partialKernels(backend, needed);
  if (partial.length === 0) return backend;
  const missing = missingKernels(backend, needed);
  if (missing.length > 0)
    sayOnce(`alexnet: backend ${backend.name} lacks ${missing.join(', ')}; they run on ref\n`);
  return withFallback(backend, refBackend, partial, (k, dtypes) => {
    if (dtypes.length === 1 && dtypes[0] === 'float32') return; // named above
    sayOnce(`alexnet: backend ${backend.name} lacks ${fallbackName(k, dtypes)}; it runs on ref\n`);
  });
}

function buildLayer(spec: LayerSpec, input: Shape, opts: NetOptions, backend: Backend): Layer {
  switch (spec.kind) {
    case 'conv':
      if (input.length !== 3)
        usage(`${spec.name}: needs a [C, H, W] input, got ${shapeString(input)}`);
      return new Conv2d(spec, input[0], backend);
    case 'linear':
      return new Linear(
        spec,
        sizeOf(input),
        spec.out === 'classes' ? opts.classes : spec.out,
        backend,
      );
    case 'maxpool':
    case 'avgpool':
      return new Pool2d(spec);
    case 'adaptiveavgpool':
      return new AdaptiveAvgPool2d(spec);
    case 'lrn':
      return new Lrn(spec);
    case 'relu':
    case 'tanh':
    case 'sigmoid':
      return new ActivationLayer(spec);
    case 'dropout':
      return new Dropout(spec, opts.dropoutMode);
    case 'flatten':
      return new Flatten(spec.name);
  }
}
