// Elementwise non-linearities: ReLU (the paper's choice, §3.1), and tanh/sigmoid for ablations.
// When the Net fuses a ReLU into the layer before it, this layer is skipped at run time.
import type { Activation } from '../backend/backend.js';
import type { Shape } from '../tensor/tensor.js';
import { Slot, type F32, type ForwardContext, type Layer } from './layer.js';

export interface ActivationSpec {
  kind: Activation;
  name: string;
}

export class ActivationLayer implements Layer {
  readonly params = [];
  readonly kernels = ['activationForward', 'activationBackward'] as const;
  readonly kind: Activation;
  readonly name: string;
  private y: F32 | null = null;
  private out = new Slot();
  private dxBuf = new Slot();

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

  forward(x: F32, ctx: ForwardContext): F32 {
    const y = this.out.get(ctx.backend, x.shape);
    ctx.backend.activationForward({ x, y }, { kind: this.kind });
    if (ctx.training) this.y = y;
    return y;
  }

  backward(dy: F32, ctx: ForwardContext, needInput: boolean): F32 | null {
    if (!this.y) throw new Error(`${this.name}: backward without a training forward`);
    if (!needInput) return null;
    const dx = this.dxBuf.get(ctx.backend, dy.shape);
    ctx.backend.activationBackward({ y: this.y, dy, dx }, { kind: this.kind });
    return dx;
  }
}
