// Elementwise non-linearities: ReLU (the paper's choice, §3.1), and tanh/sigmoid for ablations.
// When the Net fuses a ReLU into the layer before it, this layer is skipped at run time.
import type { Activation } from '../backend/backend.js';
import { Tensor, type Shape } from '../tensor/tensor.js';
import { Buffer32, type ForwardContext, type Layer } from './layer.js';

export interface ActivationSpec {
  kind: Activation;
  name: string;
}

export class ActivationLayer implements Layer {
  readonly params = [];
  readonly kind: Activation;
  readonly name: string;
  private y: Tensor | null = null;
  private out = new Buffer32();
  private dxBuf = new Buffer32();

  constructor(readonly spec: ActivationSpec) {
    this.kind = spec.kind;
    this.name = spec.name;
  }

  outputShape(input: Shape): Shape {
    return input;
  }

  macs(): number {
    return 0;
  }

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    const y = new Tensor(x.shape, this.out.get(x.size));
    ctx.backend.activationForward(this.kind, x.data, y.data);
    if (ctx.training) this.y = y;
    return y;
  }

  backward(dy: Tensor, ctx: ForwardContext, needInput: boolean): Tensor | null {
    if (!this.y) throw new Error(`${this.name}: backward without a training forward`);
    if (!needInput) return null;
    const dx = new Tensor(dy.shape, this.dxBuf.get(dy.size));
    ctx.backend.activationBackward(this.kind, this.y.data, dy.data, dx.data);
    return dx;
  }
}
