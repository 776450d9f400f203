// The Layer contract. Shapes passed to `outputShape`/`macs` are per sample (no batch axis):
// [C, H, W] for maps, [D] for vectors. Tensors passed to forward/backward are handles of the
// net's backend and carry the batch: [N, C, H, W] or [N, D]. A layer keeps what its backward
// needs from the last training forward, and reuses its output tensors while the batch size stays
// the same. Layers call kernels only; they never read or write host arrays.
import type { Backend, TensorHandle } from '../backend/backend.js';
import type { KernelName } from '../backend/kernels.js';
import { sameShape, sizeOf, type DType, type Shape } from '../tensor/tensor.js';
import type { Rng } from '../util/rng.js';

/** A float32 tensor of a backend (activations, gradients, parameters). */
export type F32 = TensorHandle<'float32'>;
/** A bfloat16 tensor of a backend (the GEMM copy of a weight in a bf16 net). */
export type BF16 = TensorHandle<'bfloat16'>;

/** The bfloat16 copy of a master weight that a bf16 layer passes to its GEMM kernels. `stale`
 *  says the master has changed since the copy was cast; the layer recasts it on its next call,
 *  so the copy is refreshed once per optimiser step, not once per kernel call. */
export interface Shadow {
  readonly value: BF16;
  stale: boolean;
}

/** A learnable tensor with its gradient, registered under a PyTorch-style name (`conv1.weight`).
 *  Both live on the net's backend; they are the float32 master copy. */
export interface Param {
  readonly name: string;
  readonly shape: Shape;
  readonly value: F32;
  readonly grad: F32;
  /** Frozen parameters get no gradient step (fine-tuning). */
  frozen: boolean;
  /** Caffe's lr_mult / decay_mult, from the layer spec (applied with SGD's 'caffe' rule). */
  readonly mult: Multipliers;
  /** The bfloat16 copy the kernels read in a bf16 net (weights of conv and linear), else null.
   *  Whoever writes `value` marks it stale (Sgd.step, Net.loadStateDict, Net.weightsChanged). */
  shadow: Shadow | null;
}

export interface Multipliers {
  lr: number;
  decay: number;
}

/** Weights N(0, std²) and a constant bias: one init scheme's filler for a layer. */
export interface Filler {
  std: number;
  bias: number;
}

/** What a layer with a weight and a bias says about them, as Caffe's prototxt does per layer.
 *  Absent fields: fillers N(0, 0.01²) with bias 0; multipliers DEFAULT_MULT. */
export interface LearnableSpec {
  /** The weight and bias fillers of the 'paper' and 'caffe' init schemes (SPEC §1). */
  fillers?: { paper?: Filler; caffe?: Filler };
  /** lr_mult / decay_mult of the weight and the bias. */
  mult?: { weight?: Multipliers; bias?: Multipliers };
}

export interface ForwardContext {
  backend: Backend;
  training: boolean;
  /** Draws dropout masks; part of the run's seeded state. */
  rng: Rng;
  /** This batch is rows [first, first + n) of a batch of `total` (see Net.batchWindow). */
  window?: { first: number; total: number } | null;
}

export interface Layer {
  readonly name: string;
  readonly kind: string;
  readonly params: Param[];
  /** The kernels forward and backward call (for capabilities and fallback). */
  readonly kernels: readonly KernelName[];
  /** Per-sample output shape; throws a one-line error naming the layer when the map vanishes. */
  outputShape(input: Shape): Shape;
  /** Multiply–accumulates per sample (weights only: conv and fully connected layers). */
  macs(input: Shape): number;
  forward(x: F32, ctx: ForwardContext): F32;
  /** Gradient w.r.t. the input (null when `needInput` is false); fills the params' grads. */
  backward(dy: F32, ctx: ForwardContext, needInput: boolean): F32 | null;
}

const UNIT: Multipliers = { lr: 1, decay: 1 };

/** bvlc_alexnet's lr_mult/decay_mult, for a spec that states none: weights 1/1, biases 2/0. */
export const DEFAULT_MULT = { weight: UNIT, bias: { lr: 2, decay: 0 } } as const;

export function makeParam(
  backend: Backend,
  name: string,
  shape: Shape,
  mult: Multipliers = UNIT,
): Param {
  return {
    name,
    shape: [...shape],
    value: backend.alloc(shape, 'float32'),
    grad: backend.alloc(shape, 'float32'),
    frozen: false,
    mult: { ...mult },
    shadow: null,
  };
}

/** Gives `p` a bfloat16 shadow (bf16) or takes it away (fp32). */
export function setShadow(p: Param, backend: Backend, bf16: boolean): void {
  if (bf16 === (p.shadow !== null)) return;
  p.shadow = bf16 ? { value: backend.alloc(p.shape, 'bfloat16'), stale: true } : null;
}

/** The tensor a GEMM kernel takes as `w` for `p`: the master, or its shadow, cast from the master
 *  first when stale (the `cast` kernel: round to nearest even). */
export function gemmWeight(p: Param, backend: Backend): F32 | BF16 {
  const s = p.shadow;
  if (!s) return p.value;
  if (s.stale) {
    backend.cast({ x: p.value, y: s.value }, {});
    s.stale = false;
  }
  return s.value;
}

/** A reusable tensor: reallocated only when the requested size, dtype or backend changes. */
export class Slot<D extends DType = 'float32'> {
  private t: TensorHandle<D> | null = null;
  private owner: Backend | null = null;
  constructor(private readonly dtype: D = 'float32' as D) {}
  get(backend: Backend, shape: Shape): TensorHandle<D> {
    const size = sizeOf(shape);
    if (!this.t || this.t.size !== size || this.owner !== backend) {
      this.t = backend.alloc(shape, this.dtype);
      this.owner = backend;
    }
    return sameShape(this.t.shape, shape) ? this.t : backend.view(this.t, shape);
  }
}
