// Fully connected layer: y = x·wᵀ + b with w: [F, D] (PyTorch's layout). `out` may be
// 'classes' (fc8), resolved to the model's class count. A following ReLU is fused.
import { Tensor, sizeOf, type Shape } from '../tensor/tensor.js';
import { Buffer32, makeParam, type ForwardContext, type Layer, type Param } from './layer.js';

export interface LinearSpec {
  kind: 'linear';
  name: string;
  out: number | 'classes';
}

export class Linear implements Layer {
  readonly kind = 'linear';
  readonly name: string;
  readonly params: Param[];
  readonly weight: Param; // [F, D]
  readonly bias: Param; // [F]
  fuseRelu = false;
  private x: Tensor | null = null;
  private y: Tensor | null = null;
  private out = new Buffer32();
  private dxBuf = new Buffer32();

  constructor(
    readonly spec: LinearSpec,
    readonly dIn: number,
    readonly fOut: number,
  ) {
    this.name = spec.name;
    this.weight = makeParam(`${spec.name}.weight`, [fOut, dIn]);
    this.bias = makeParam(`${spec.name}.bias`, [fOut]);
    this.params = [this.weight, this.bias];
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

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    const n = x.shape[0];
    const y = new Tensor([n, this.fOut], this.out.get(n * this.fOut));
    ctx.backend.linearForward(
      x.data,
      this.weight.data,
      this.bias.data,
      y.data,
      n,
      this.dIn,
      this.fOut,
      this.fuseRelu,
    );
    if (ctx.training) {
      this.x = x;
      this.y = y;
    }
    return y;
  }

  backward(dy: Tensor, ctx: ForwardContext, needInput: boolean): Tensor | null {
    if (!this.x || !this.y) throw new Error(`${this.name}: backward without a training forward`);
    const n = this.x.shape[0];
    if (this.fuseRelu) ctx.backend.activationBackward('relu', this.y.data, dy.data, dy.data);
    const dx = needInput ? new Tensor(this.x.shape, this.dxBuf.get(this.x.size)) : null;
    ctx.backend.linearBackward(
      this.x.data,
      this.weight.data,
      dy.data,
      dx ? dx.data : null,
      this.weight.frozen ? null : this.weight.grad,
      this.bias.frozen ? null : this.bias.grad,
      n,
      this.dIn,
      this.fOut,
    );
    return dx;
  }
}
