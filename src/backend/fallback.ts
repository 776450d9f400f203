// Fallback: a backend that lacks some kernels runs them on another backend (the ref backend) by
// moving their tensors through the edges — read each argument to the host, run the kernel there,
// write back what it writes. So a new backend can land kernel by kernel, as ggml's do. On a
// host-memory backend the "move" is a no-op: readSync is the tensor itself, and the write-back
// finds the same array.
//
// The move is synchronous, so the primary backend needs `readSync` (every host-memory backend
// has it). A device backend whose reads can only be asynchronous must implement every kernel its
// nets use; `withFallback` says so in one line.
import type { Tensor } from '../tensor/tensor.js';
import type { Backend, TensorHandle } from './backend.js';
import { KERNELS, type KernelName } from './kernels.js';

/** The kernels of `needed` that `backend` does not run (float32). */
export function missingKernels(backend: Backend, needed: Iterable<KernelName>): KernelName[] {
  return [...new Set(needed)].filter((k) => !backend.supports(k));
}

/** `primary`, with each kernel of `missing` run on `secondary` through the edges. */
export function withFallback(
  primary: Backend,
  secondary: Backend,
  missing: readonly KernelName[],
): Backend {
  if (missing.length === 0) return primary;
  const read = primary.readSync?.bind(primary);
  if (!read)
    throw new Error(
      `backend ${primary.name} lacks ${missing.join(', ')} and cannot read tensors synchronously to run them on ${secondary.name}`,
    );
  const wrapped: Record<string, unknown> = Object.create(primary) as Record<string, unknown>;
  for (const k of missing) {
    if (!secondary.supports(k))
      throw new Error(`neither ${primary.name} nor ${secondary.name} has the kernel ${k}`);
    const args = KERNELS[k].args as Record<string, { writes?: boolean }>;
    const run = (secondary[k] as (t: object, a: object) => void).bind(secondary);
    wrapped[k] = (tensors: Record<string, TensorHandle | null>, attrs: object): void => {
      const host: Record<string, Tensor<never> | null> = {};
      for (const name in args) {
        const t = tensors[name];
        host[name] = t ? (read(t) as Tensor<never>) : null;
      }
      run(host, attrs);
      for (const name in args) {
        const t = tensors[name];
        const h = host[name];
        if (args[name].writes && t && h) primary.upload(h, t as TensorHandle<never>);
      }
    };
  }
  return wrapped as unknown as Backend;
}
