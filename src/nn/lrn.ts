// Local response normalisation across channels (paper §3.3). The α convention is explicit:
// 'per-size' divides α by the window size (the original cuda-convnet code, Caffe and PyTorch),
// 'absolute' uses α as printed in the paper. Forward keeps the scale term for backward.
import type { LrnParams } from '../backend/backend.js';
import type { Shape } from '../tensor/tensor.js';
import { Slot, type F32, type ForwardContext, type Layer } from './layer.js';

export interface LrnSpec {
  kind: 'lrn';
  name: string;
  size: number;
  alpha: number;
  beta: number;
  k: number;
  alphaScaling?: 'per-size' | 'absolute';
}

export class Lrn implements Layer {
  readonly params = [];
  readonly kernels = ['lrnForward', 'lrnBackward'] as const;
  readonly kind = 'lrn';
  readonly name: string;
  private x: F32 | null = null;
  private y: F32 | null = null;
  private out = new Slot();
  private scaleBuf = new Slot();
  private dxBuf = new Slot();

  constructor(readonly spec: LrnSpec) {
    this.name = spec.name;
  }

  outputShape(input: Shape): Shape {
    return input;
  }

  macs(): number {
    return 0;
  }

  private params4(x: F32): LrnParams {
    const [n, c, h, w] = x.shape;
    const { size, alpha, beta, k } = this.spec;
    return { n, c, h, w, size, alpha, beta, k, alphaScaling: this.spec.alphaScaling ?? 'per-size' };
  }

  forward(x: F32, ctx: ForwardContext): F32 {
    const y = this.out.get(ctx.backend, x.shape);
    const scale = ctx.training ? this.scaleBuf.get(ctx.backend, x.shape) : null;
    ctx.backend.lrnForward({ x, y, scale }, this.params4(x));
    if (ctx.training) {
      this.x = x;
      this.y = y;
    }
    return y;
  }

  backward(dy: F32, ctx: ForwardContext, needInput: boolean): F32 | null {
    if (!this.x || !this.y) throw new Error(`${this.name}: backward without a training forward`);
    if (!needInput) return null;
    const dx = this.dxBuf.get(ctx.backend, this.x.shape);
    const scale = this.scaleBuf.get(ctx.backend, this.x.shape);
    ctx.backend.lrnBackward({ x: this.x, y: this.y, scale, dy, dx }, this.params4(this.x));
    return dx;
  }
}
