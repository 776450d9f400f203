// Fully connected layer: y = x·wᵀ + b with w: [F, D] (PyTorch's layout). `out` may be
// 'classes' (fc8), resolved to the model's class count. A following ReLU is fused.
import type { Backend } from '../backend/backend.js';
import { sizeOf, type Shape } from '../tensor/tensor.js';
import {
  DEFAULT_MULT,
  gemmWeight,
  makeParam,
  setShadow,
  Slot,
  type F32,
  type ForwardContext,
  type Layer,
  type LearnableSpec,
  type Param,
} from './layer.js';
import type { Precision } from './precision.js';

export interface LinearSpec extends LearnableSpec {
  kind: 'linear';
  name: string;
  out: number | 'classes';
}

export class Linear implements Layer {
  readonly kind = 'linear';
  readonly kernels = ['linearForward', 'linearBackward', 'activationBackward'] as const;
  readonly name: string;
  readonly params: Param[];
  readonly weight: Param; // [F, D]
  readonly bias: Param; // [F]
  fuseRelu = false;
  private x: F32 | null = null;
  private y: F32 | null = null;
  private out = new Slot();
  private dxBuf = new Slot();

  constructor(
    readonly spec: LinearSpec,
    readonly dIn: number,
    readonly fOut: number,
    backend: Backend,
  ) {
    this.name = spec.name;
    const mult = { ...DEFAULT_MULT, ...spec.mult };
    this.weight = makeParam(backend, `${spec.name}.weight`, [fOut, dIn], mult.weight);
    this.bias = makeParam(backend, `${spec.name}.bias`, [fOut], mult.bias);
    this.params = [this.weight, this.bias];
  }

  /** bf16: the kernels take a bfloat16 copy of the weight (the bias stays float32). */
  setPrecision(p: Precision, backend: Backend): void {
    setShadow(this.weight, backend, p === 'bf16');
  }

  outputShape(input: Shape): Shape {
    const d = sizeOf(input);
    if (d !== this.dIn)
      throw new Error(`${this.name}: expects ${this.dIn} input features, got ${d}`);
    return [this.fOut];
  }

  macs(): number {
    return this.dIn * this.fOut;
  }

  forward(x: F32, ctx: ForwardContext): F32 {
    const n = x.shape[0];
    const y = this.out.get(ctx.backend, [n, this.fOut]);
    ctx.backend.linearForward(
      { x, w: gemmWeight(this.weight, ctx.backend), b: this.bias.value, y },
      { n, d: this.dIn, f: this.fOut, relu: this.fuseRelu },
    );
    if (ctx.training) {
      this.x = x;
      this.y = y;
    }
    return y;
  }

  backward(dy: F32, ctx: ForwardContext, needInput: boolean): F32 | null {
    if (!this.x || !this.y) throw new Error(`${this.name}: backward without a training forward`);
    const n = this.x.shape[0];
    if (this.fuseRelu) ctx.backend.activationBackward({ y: this.y, dy, dx: dy }, { kind: 'relu' });
    const dx = needInput ? this.dxBuf.get(ctx.backend, this.x.shape) : null;
    ctx.backend.linearBackward(
      {
        x: this.x,
        w: gemmWeight(this.weight, ctx.backend),
        dy,
        dx,
        dw: this.weight.frozen ? null : this.weight.grad,
        db: this.bias.frozen ? null : this.bias.grad,
      },
      { n, d: this.dIn, f: this.fOut },
    );
    return dx;
  }
}
