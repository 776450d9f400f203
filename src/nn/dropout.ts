// Dropout (paper §4.2, p = 0.5 in fc6 and fc7). Two exact conventions:
//   'classic'  — the paper: train with the 0/1 mask, multiply outputs by (1 − p) at test time;
//   'inverted' — train with mask/(1 − p), identity at test time (PyTorch's; the default).
// Masks come from the run's seeded generator, so a resumed run draws the same masks.
import { Tensor, type Shape } from '../tensor/tensor.js';
import { Buffer32, type ForwardContext, type Layer } from './layer.js';

export type DropoutMode = 'classic' | 'inverted';

export interface DropoutSpec {
  kind: 'dropout';
  name: string;
  p: number;
}

export class Dropout implements Layer {
  readonly params = [];
  readonly kind = 'dropout';
  readonly name: string;
  private mask = new Uint8Array(0);
  private out = new Buffer32();
  private dxBuf = new Buffer32();

  constructor(readonly spec: DropoutSpec, readonly mode: DropoutMode) {
    this.name = spec.name;
  }

  outputShape(input: Shape): Shape {
    return input;
  }

  macs(): number {
    return 0;
  }

  private trainScale(): number {
    return this.mode === 'inverted' ? 1 / (1 - this.spec.p) : 1;
  }

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    const y = new Tensor(x.shape, this.out.get(x.size));
    if (!ctx.training) {
      ctx.backend.scale(x.data, this.mode === 'classic' ? 1 - this.spec.p : 1, y.data);
      return y;
    }
    if (this.mask.length !== x.size) this.mask = new Uint8Array(x.size);
    const keep = 1 - this.spec.p;
    for (let i = 0; i < x.size; i++) this.mask[i] = ctx.rng.uniform() < keep ? 1 : 0;
    ctx.backend.dropoutApply(x.data, this.mask, this.trainScale(), y.data);
    return y;
  }

  backward(dy: Tensor, ctx: ForwardContext, needInput: boolean): Tensor | null {
    if (!needInput) return null;
    const dx = new Tensor(dy.shape, this.dxBuf.get(dy.size));
    ctx.backend.dropoutApply(dy.data, this.mask, this.trainScale(), dx.data);
    return dx;
  }
}
