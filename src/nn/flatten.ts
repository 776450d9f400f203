// Flatten [N, C, H, W] → [N, C·H·W] (no copy): the bridge from pool5 to fc6.
import { sizeOf, type Shape } from '../tensor/tensor.js';
import type { F32, ForwardContext, Layer } from './layer.js';

export interface FlattenSpec {
  kind: 'flatten';
  name: string;
}

export class Flatten implements Layer {
  readonly params = [];
  readonly kernels = [] as const;
  readonly kind = 'flatten';
  private inShape: readonly number[] = [];

  constructor(readonly name: string) {}

  outputShape(input: Shape): Shape {
    return [sizeOf(input)];
  }

  macs(): number {
    return 0;
  }

  forward(x: F32, ctx: ForwardContext): F32 {
    this.inShape = x.shape;
    return ctx.backend.view(x, [x.shape[0], x.size / x.shape[0]]);
  }

  backward(dy: F32, ctx: ForwardContext, needInput: boolean): F32 | null {
    return needInput ? ctx.backend.view(dy, this.inShape) : null;
  }
}
