// Host tensors: a shape, a dtype and a flat typed array, row-major (C order).
// Activations are NCHW, convolution weights [out, in/groups, kh, kw], linear weights
// [out, in] — PyTorch's layouts, so weights interchange without transposes.
//
// A `Tensor` is also the tensor handle of the host-memory backends (ref, native): they compute in
// place on its array, so handing one to them copies nothing (see src/backend/backend.ts).

export type Shape = readonly number[];

/** Element types. float32 and bfloat16 are compute precisions; int32 (labels, argmax) and uint8
 *  (dropout masks) carry indices and masks. bfloat16 is stored as the upper 16 bits of a float32. */
export type DType = 'float32' | 'bfloat16' | 'int32' | 'uint8';
export const DTYPES: readonly DType[] = ['float32', 'bfloat16', 'int32', 'uint8'];

/** The host array holding each dtype. */
export type HostArray<D extends DType = DType> = D extends 'float32'
  ? Float32Array
  : D extends 'bfloat16'
    ? Uint16Array
    : D extends 'int32'
      ? Int32Array
      : Uint8Array;

const ARRAY_OF: { [D in DType]: new (n: number) => HostArray<D> } = {
  float32: Float32Array,
  bfloat16: Uint16Array,
  int32: Int32Array,
  uint8: Uint8Array,
};

/** A zero-filled host array of `n` elements of `dtype`. */
export function hostArray<D extends DType>(dtype: D, n: number): HostArray<D> {
  return new ARRAY_OF[dtype](n) as HostArray<D>;
}

export class Tensor<D extends DType = 'float32'> {
  readonly shape: Shape;
  readonly dtype: D;
  readonly data: HostArray<D>;

  constructor(shape: Shape, data?: HostArray<D>, dtype: D = 'float32' as D) {
    const n = sizeOf(shape);
    if (data && data.length !== n) {
      throw new Error(
        `tensor data has ${data.length} elements, shape [${shape.join(', ')}] needs ${n}`,
      );
    }
    this.shape = [...shape];
    this.dtype = dtype;
    this.data = data ?? hostArray(dtype, n);
    if (!(this.data instanceof ARRAY_OF[dtype]))
      throw new Error(`a ${dtype} tensor needs a ${ARRAY_OF[dtype].name}`);
  }

  static zeros(shape: Shape): Tensor {
    return new Tensor(shape);
  }

  /** A host tensor of any dtype (zero-filled unless `data` is given; `data` is not copied). */
  static of<E extends DType>(dtype: E, shape: Shape, data?: HostArray<E>): Tensor<E> {
    return new Tensor<E>(shape, data, dtype);
  }

  get size(): number {
    return this.data.length;
  }

  /** The same buffer seen with another shape of the same size. */
  reshape(shape: Shape): Tensor<D> {
    return new Tensor<D>(shape, this.data, this.dtype);
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
