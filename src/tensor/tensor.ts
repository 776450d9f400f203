// The Tensor type: a shape and a flat float32 buffer, row-major (C order).
// Activations are NCHW, convolution weights [out, in/groups, kh, kw], linear weights
// [out, in] — PyTorch's layouts, so weights interchange without transposes.

export type Shape = readonly number[];

export class Tensor {
  readonly shape: Shape;
  readonly data: Float32Array;

  constructor(shape: Shape, data?: Float32Array) {
    const n = sizeOf(shape);
    if (data && data.length !== n) {
      throw new Error(
        `tensor data has ${data.length} elements, shape [${shape.join(', ')}] needs ${n}`,
      );
    }
    this.shape = [...shape];
    this.data = data ?? new Float32Array(n);
  }

  static zeros(shape: Shape): Tensor {
    return new Tensor(shape);
  }

  get size(): number {
    return this.data.length;
  }

  /** The same buffer seen with another shape of the same size. */
  reshape(shape: Shape): Tensor {
    return new Tensor(shape, this.data);
  }
}

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0)
      throw new Error(`bad dimension ${d} in shape [${shape.join(', ')}]`);
    n *= d;
  }
  return n;
}

export function shapeString(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
