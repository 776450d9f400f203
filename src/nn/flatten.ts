// Flatten [N, C, H, W] → [N, C·H·W] (no copy): the bridge from pool5 to fc6.
import { Tensor, sizeOf, type Shape } from '../tensor/tensor.js';
import type { Layer } from './layer.js';

export interface FlattenSpec {
  kind: 'flatten';
  name: string;
}

export class Flatten implements Layer {
  readonly params = [];
  readonly kind = 'flatten';
  private inShape: Shape = [];

  constructor(readonly name: string) {}

  outputShape(input: Shape): Shape {
    return [sizeOf(input)];
  }

  macs(): number {
    return 0;
  }

  forward(x: Tensor): Tensor {
    this.inShape = x.shape;
    return x.reshape([x.shape[0], x.size / x.shape[0]]);
  }

  backward(dy: Tensor, _ctx: unknown, needInput: boolean): Tensor | null {
    return needInput ? dy.reshape(this.inShape) : null;
  }
}
