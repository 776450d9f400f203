// The Layer contract. Shapes passed to `outputShape`/`macs` are per sample (no batch axis):
// [C, H, W] for maps, [D] for vectors. Tensors passed to forward/backward carry the batch:
// [N, C, H, W] or [N, D]. A layer keeps what its backward needs from the last training forward,
// and reuses its output buffers while the batch size stays the same.
import type { Backend } from '../backend/backend.js';
import type { Shape, Tensor } from '../tensor/tensor.js';
import type { Rng } from '../util/rng.js';

/** A learnable tensor with its gradient, registered under a PyTorch-style name (`conv1.weight`). */
export interface Param {
  readonly name: string;
  readonly shape: Shape;
  readonly data: Float32Array;
  readonly grad: Float32Array;
  /** Frozen parameters get no gradient step (fine-tuning). */
  frozen: boolean;
}

export interface ForwardContext {
  backend: Backend;
  training: boolean;
  /** Draws dropout masks; part of the run's seeded state. */
  rng: Rng;
}

export interface Layer {
  readonly name: string;
  readonly kind: string;
  readonly params: Param[];
  /** Per-sample output shape; throws a one-line error naming the layer when the map vanishes. */
  outputShape(input: Shape): Shape;
  /** Multiply–accumulates per sample (weights only: conv and fully connected layers). */
  macs(input: Shape): number;
  forward(x: Tensor, ctx: ForwardContext): Tensor;
  /** Gradient w.r.t. the input (null when `needInput` is false); fills the params' grads. */
  backward(dy: Tensor, ctx: ForwardContext, needInput: boolean): Tensor | null;
}

export function makeParam(name: string, shape: Shape): Param {
  let n = 1;
  for (const d of shape) n *= d;
  return {
    name,
    shape: [...shape],
    data: new Float32Array(n),
    grad: new Float32Array(n),
    frozen: false,
  };
}

/** A reusable output buffer: reallocated only when the requested shape's size changes. */
export class Buffer32 {
  private data = new Float32Array(0);
  get(size: number): Float32Array {
    if (this.data.length !== size) this.data = new Float32Array(size);
    return this.data;
  }
}
