// The kernels of a backend with positional host-array arguments, each call going through the
// kernel table (named tensors and attributes, checked). For the kernel-by-kernel tests, whose
// cases are written over flat arrays; a flat [len] tensor wraps each array without a copy.
import type {
  Activation,
  Backend,
  ConvGeom,
  LrnParams,
  PoolGeom,
} from '../../src/backend/backend.js';
import { Tensor } from '../../src/tensor/tensor.js';

const f = (a: Float32Array): Tensor => new Tensor([a.length], a);
const fn = (a: Float32Array | null): Tensor | null => (a ? f(a) : null);
const i32 = (a: Int32Array): Tensor<'int32'> => Tensor.of('int32', [a.length], a);

export function positional(b: Backend) {
  return {
    conv2dForward(
      x: Float32Array,
      w: Float32Array,
      bias: Float32Array | null,
      y: Float32Array,
      g: ConvGeom,
      relu: boolean,
    ): void {
      b.conv2dForward({ x: f(x), w: f(w), b: fn(bias), y: f(y) }, { ...g, relu });
    },
    conv2dBackward(
      x: Float32Array,
      w: Float32Array,
      dy: Float32Array,
      dx: Float32Array | null,
      dw: Float32Array | null,
      db: Float32Array | null,
      g: ConvGeom,
    ): void {
      b.conv2dBackward({ x: f(x), w: f(w), dy: f(dy), dx: fn(dx), dw: fn(dw), db: fn(db) }, g);
    },
    linearForward(
      x: Float32Array,
      w: Float32Array,
      bias: Float32Array | null,
      y: Float32Array,
      n: number,
      d: number,
      fo: number,
      relu: boolean,
    ): void {
      b.linearForward({ x: f(x), w: f(w), b: fn(bias), y: f(y) }, { n, d, f: fo, relu });
    },
    linearBackward(
      x: Float32Array,
      w: Float32Array,
      dy: Float32Array,
      dx: Float32Array | null,
      dw: Float32Array | null,
      db: Float32Array | null,
      n: number,
      d: number,
      fo: number,
    ): void {
      b.linearBackward(
        { x: f(x), w: f(w), dy: f(dy), dx: fn(dx), dw: fn(dw), db: fn(db) },
        { n, d, f: fo },
      );
    },
    maxPoolForward(x: Float32Array, y: Float32Array, am: Int32Array | null, g: PoolGeom): void {
      b.maxPoolForward({ x: f(x), y: f(y), argmax: am ? i32(am) : null }, g);
    },
    maxPoolBackward(dy: Float32Array, am: Int32Array, dx: Float32Array, g: PoolGeom): void {
      b.maxPoolBackward({ dy: f(dy), argmax: i32(am), dx: f(dx) }, g);
    },
    avgPoolForward(x: Float32Array, y: Float32Array, g: PoolGeom): void {
      b.avgPoolForward({ x: f(x), y: f(y) }, g);
    },
    avgPoolBackward(dy: Float32Array, dx: Float32Array, g: PoolGeom): void {
      b.avgPoolBackward({ dy: f(dy), dx: f(dx) }, g);
    },
    adaptiveAvgPoolForward(
      x: Float32Array,
      y: Float32Array,
      n: number,
      c: number,
      h: number,
      w: number,
      ho: number,
      wo: number,
    ): void {
      b.adaptiveAvgPoolForward({ x: f(x), y: f(y) }, { n, c, h, w, ho, wo });
    },
    adaptiveAvgPoolBackward(
      dy: Float32Array,
      dx: Float32Array,
      n: number,
      c: number,
      h: number,
      w: number,
      ho: number,
      wo: number,
    ): void {
      b.adaptiveAvgPoolBackward({ dy: f(dy), dx: f(dx) }, { n, c, h, w, ho, wo });
    },
    lrnForward(x: Float32Array, y: Float32Array, s: Float32Array | null, p: LrnParams): void {
      b.lrnForward({ x: f(x), y: f(y), scale: fn(s) }, p);
    },
    lrnBackward(
      x: Float32Array,
      y: Float32Array,
      s: Float32Array,
      dy: Float32Array,
      dx: Float32Array,
      p: LrnParams,
    ): void {
      b.lrnBackward({ x: f(x), y: f(y), scale: f(s), dy: f(dy), dx: f(dx) }, p);
    },
    activationForward(kind: Activation, x: Float32Array, y: Float32Array): void {
      b.activationForward({ x: f(x), y: f(y) }, { kind });
    },
    activationBackward(
      kind: Activation,
      y: Float32Array,
      dy: Float32Array,
      dx: Float32Array,
    ): void {
      b.activationBackward({ y: f(y), dy: f(dy), dx: f(dx) }, { kind });
    },
    dropoutApply(x: Float32Array, mask: Uint8Array, scale: number, y: Float32Array): void {
      b.dropoutApply(
        { x: f(x), mask: Tensor.of('uint8', [mask.length], mask), y: f(y) },
        { scale },
      );
    },
    scale(x: Float32Array, scale: number, y: Float32Array): void {
      b.scale({ x: f(x), y: f(y) }, { scale });
    },
    /** Returns the mean loss, read from the kernel's [1] output. */
    softmaxCrossEntropy(
      logits: Float32Array,
      labels: Int32Array,
      n: number,
      l: number,
      smoothing: number,
      probs: Float32Array,
      dlogits: Float32Array | null,
    ): number {
      const loss = new Tensor([1]);
      b.softmaxCrossEntropy(
        { logits: f(logits), labels: i32(labels), probs: f(probs), dlogits: fn(dlogits), loss },
        { n, l, smoothing },
      );
      return loss.data[0];
    },
    sgdUpdate(
      w: Float32Array,
      g: Float32Array,
      v: Float32Array,
      lr: number,
      momentum: number,
      weightDecay: number,
      w16: Uint16Array | null = null,
    ): void {
      const half = w16 ? Tensor.of('bfloat16', [w16.length], w16) : null;
      b.sgdUpdate({ w: f(w), g: f(g), v: f(v), w16: half }, { lr, momentum, weightDecay });
    },
  };
}

export type Positional = ReturnType<typeof positional>;
