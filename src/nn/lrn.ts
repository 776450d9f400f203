// Local response normalisation across channels (paper §3.3). The α convention is explicit:
// 'per-size' divides α by the window size (the original cuda-convnet code, Caffe and PyTorch),
// 'absolute' uses α as printed in the paper. Forward keeps the scale term for backward.
import type { LrnParams } from '../backend/backend.js';
import { Tensor, type Shape } from '../tensor/tensor.js';
import { Buffer32, type ForwardContext, type Layer } from './layer.js';

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
  readonly kind = 'lrn';
  readonly name: string;
  private x: Tensor | null = null;
  private y: Tensor | null = null;
  private out = new Buffer32();
  private scaleBuf = new Buffer32();
  private dxBuf = new Buffer32();

  constructor(readonly spec: LrnSpec) {
    this.name = spec.name;
  }

  outputShape(input: Shape): Shape {
    return input;
  }

  macs(): number {
    return 0;
  }

  private params4(x: Tensor): LrnParams {
    const [n, c, h, w] = x.shape;
    const { size, alpha, beta, k } = this.spec;
    return { n, c, h, w, size, alpha, beta, k, alphaScaling: this.spec.alphaScaling ?? 'per-size' };
  }

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    const y = new Tensor(x.shape, this.out.get(x.size));
    ctx.backend.lrnForward(
      x.data,
      y.data,
      ctx.training ? this.scaleBuf.get(x.size) : null,
      this.params4(x),
    );
    if (ctx.training) {
      this.x = x;
      this.y = y;
    }
    return y;
  }

  backward(dy: Tensor, ctx: ForwardContext, needInput: boolean): Tensor | null {
    if (!this.x || !this.y) throw new Error(`${this.name}: backward without a training forward`);
    if (!needInput) return null;
    const dx = new Tensor(this.x.shape, this.dxBuf.get(this.x.size));
    ctx.backend.lrnBackward(
      this.x.data,
      this.y.data,
      this.scaleBuf.get(this.x.size),
      dy.data,
      dx.data,
      this.params4(this.x),
    );
    return dx;
  }
}
