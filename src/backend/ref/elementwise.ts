// Reference elementwise kernels: activations, dropout's mask, plain scaling.
// Every array here is flat and may have any shape; x, y, dy, dx all have the same length.

import type { Activation } from '../backend.js';
import type { FloatArray } from './float.js';
import type { HostKernels } from '../host.js';

/** y = act(x); y may be x (each element is read before it is written).
 *  x, y: [*] */
export function activationForward(kind: Activation, x: FloatArray, y: FloatArray): void {
  const len = x.length;
  switch (kind) {
    case 'relu':
      // Written as `x < 0 ? 0 : x` so that a NaN passes through (PyTorch's relu keeps NaN)
      // rather than being silently hidden as 0 by `x > 0 ? x : 0`.
      for (let i = 0; i < len; i++) y[i] = x[i] < 0 ? 0 : x[i];
      return;
    case 'tanh':
      for (let i = 0; i < len; i++) y[i] = Math.tanh(x[i]);
      return;
    case 'sigmoid':
      for (let i = 0; i < len; i++) y[i] = 1 / (1 + Math.exp(-x[i]));
      return;
  }
}

/** dx = dy · act'(x), written from the forward OUTPUT y (all three derivatives are functions of
 *  y alone, so the layer need not keep its input). dx may be dy.
 *  y, dy, dx: [*] */
export function activationBackward(
  kind: Activation,
  y: FloatArray,
  dy: FloatArray,
  dx: FloatArray,
): void {
  const len = y.length;
  switch (kind) {
    case 'relu':
      // The gradient at exactly 0 is taken as 0, as PyTorch does (threshold_backward:
      // y ≤ 0 ? 0 : dy, so a NaN y passes dy on).
      for (let i = 0; i < len; i++) dx[i] = y[i] <= 0 ? 0 : dy[i];
      return;
    case 'tanh':
      for (let i = 0; i < len; i++) dx[i] = dy[i] * (1 - y[i] * y[i]);
      return;
    case 'sigmoid':
      for (let i = 0; i < len; i++) dx[i] = dy[i] * y[i] * (1 - y[i]);
      return;
  }
}

/** y = x · mask · scale. The mask (0/1 bytes) is drawn by the caller's seeded generator, so this
 *  one kernel serves dropout's forward (x = activations) and backward (x = dy) alike. y may be x.
 *  x, y: [*]   mask: [*] (same length) */
export function dropoutApply(x: FloatArray, mask: Uint8Array, scale: number, y: FloatArray): void {
  const len = x.length;
  for (let i = 0; i < len; i++) y[i] = x[i] * mask[i] * scale;
}

/** y = x · scale (classic dropout at test time multiplies by 1 − p). y may be x.
 *  x, y: [*] */
export function scale(x: FloatArray, s: number, y: FloatArray): void {
  const len = x.length;
  for (let i = 0; i < len; i++) y[i] = x[i] * s;
}

/** float32 → bfloat16: round to nearest, ties to even; NaN stays a quiet NaN of its sign. */
export function floatToBf16(x: Float32Array, y: Uint16Array): void {
  const u = new Uint32Array(x.buffer, x.byteOffset, x.length);
  for (let i = 0; i < u.length; i++) {
    const b = u[i];
    y[i] =
      (b & 0x7fffffff) > 0x7f800000 ? (b >>> 16) | 0x40 : (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
  }
}

/** bfloat16 → float32, exactly (the 16 bits become the upper half). */
export function bf16ToFloat(x: Uint16Array, y: Float32Array): void {
  const u = new Uint32Array(y.buffer, y.byteOffset, y.length);
  for (let i = 0; i < x.length; i++) u[i] = x[i] << 16;
}

/** This file's kernels, bound to the table (src/backend/kernels.ts). */
export const elementwiseKernels = {
  activationForward: ({ x, y }, a) => activationForward(a.kind, x.data, y.data),
  activationBackward: ({ y, dy, dx }, a) => activationBackward(a.kind, y.data, dy.data, dx.data),
  dropoutApply: ({ x, mask, y }, a) => dropoutApply(x.data, mask.data, a.scale, y.data),
  scale: ({ x, y }, a) => scale(x.data, a.scale, y.data),
  cast: ({ x, y }) => {
    if (x.data instanceof Float32Array && y.data instanceof Uint16Array)
      floatToBf16(x.data, y.data);
    else if (x.data instanceof Uint16Array && y.data instanceof Float32Array)
      bf16ToFloat(x.data, y.data);
    else (y.data as Float32Array | Uint16Array).set(x.data);
  },
} satisfies HostKernels;
