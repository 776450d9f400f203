// Comparing results that must agree: arrays, and whole model files.
import assert from 'node:assert/strict';
import { readSafetensors } from '../../src/tensor/safetensors.js';

/** max |a[i] − b[i]| */
export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function tensors(path: string): Map<string, Float32Array> {
  const f = readSafetensors(path);
  return new Map([...f.tensors].map(([k, t]) => [k, t.data as Float32Array]));
}

/** Largest |a − b| over every tensor of two model files, which must hold the same names. */
export function modelFileDiff(a: string, b: string): { name: string; d: number } {
  const x = tensors(a);
  const y = tensors(b);
  assert.deepEqual([...y.keys()], [...x.keys()]); // an ordinary model file
  let worst = { name: '', d: 0 };
  for (const [name, t] of x) {
    const d = maxAbsDiff(t, y.get(name)!);
    if (d > worst.d) worst = { name, d };
  }
  return worst;
}
