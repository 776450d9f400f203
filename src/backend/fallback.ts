// Fallback: a backend that lacks some kernels — or has a kernel in some dtypes only (float32 but
// not bfloat16, say) — runs those calls on another backend (the ref backend) by moving their
// tensors through the edges: read each argument to the host, run the kernel there, write back
// what it writes. So a new backend can land kernel by kernel and dtype by dtype, as ggml's do.
// The decision is per call, by (kernel, the dtypes of its floating tensors): a call the primary
// supports runs there, untouched. On a host-memory backend the "move" is a no-op: readSync is the
// tensor itself, and the write-back finds the same array.
//
// The move is synchronous, so the primary backend needs `readSync` (every host-memory backend
// has it). A device backend whose reads can only be asynchronous must implement every kernel its
// nets use; `withFallback` says so in one line.
import type { DType, Tensor } from '../tensor/tensor.js';
import type { Backend, TensorHandle } from './backend.js';
import { declaredDtypes } from './host.js';
import { KERNELS, type KernelName } from './kernels.js';

/** The kernels of `needed` that `backend` does not run in float32. */
export function missingKernels(backend: Backend, needed: Iterable<KernelName>): KernelName[] {
  return [...new Set(needed)].filter((k) => !backend.supports(k));
}

/** The kernels of `needed` that `backend` does not run in every dtype their declaration allows:
 *  the ones whose calls must be looked at one by one. */
export function partialKernels(backend: Backend, needed: Iterable<KernelName>): KernelName[] {
  return [...new Set(needed)].filter((k) => !backend.supports(k, declaredDtypes(k)));
}

const NONE: readonly DType[] = Object.freeze([]);
const F32: readonly DType[] = Object.freeze(['float32']);
const BF16: readonly DType[] = Object.freeze(['bfloat16']);
const BOTH: readonly DType[] = Object.freeze(['float32', 'bfloat16']);

/** The floating dtypes of a call's tensors, in a fixed order: what `supports` is asked. One of
 *  four shared frozen arrays, so a call allocates nothing. */
export function callDtypes(tensors: Record<string, TensorHandle | null>): readonly DType[] {
  let f32 = false;
  let bf16 = false;
  for (const name in tensors) {
    const d = tensors[name]?.dtype;
    if (d === 'float32') f32 = true;
    else if (d === 'bfloat16') bf16 = true;
  }
  return f32 ? (bf16 ? BOTH : F32) : bf16 ? BF16 : NONE;
}

/** "conv2dBackward" for a float32 call, "cast (float32, bfloat16)" otherwise. */
export function fallbackName(k: KernelName, dtypes: readonly DType[]): string {
  return dtypes.length === 1 && dtypes[0] === 'float32' ? k : `${k} (${dtypes.join(', ')})`;
}

/** The Backend methods that are not kernels. */
const EDGES = [
  'setThreads',
  'getThreads',
  'supports',
  'alloc',
  'upload',
  'download',
  'readSync',
  'view',
  'flush',
] as const satisfies readonly (keyof Backend)[];

/** `primary`, with each call of a kernel of `kernels` that primary does not support in the call's
 *  dtypes run on `secondary` through the edges; `onFallback(k, dtypes)` hears of each such call
 *  before it runs. Calls primary supports go to it directly. */
export function withFallback(
  primary: Backend,
  secondary: Backend,
  kernels: readonly KernelName[],
  onFallback: (k: KernelName, dtypes: readonly DType[]) => void = () => {},
): Backend {
  if (kernels.length === 0) return primary;
  const read = primary.readSync?.bind(primary);
  const lacking = missingKernels(primary, kernels);
  if (!read && lacking.length > 0)
    throw new Error(
      `backend ${primary.name} lacks ${lacking.join(', ')} and cannot read tensors synchronously to run them on ${secondary.name}`,
    );
  const wrapped: Record<string, unknown> = Object.create(primary) as Record<string, unknown>;
  // The edges run as primary itself: a backend may check that a tensor is its own by identity
  // (webgpu's handles name their backend), and a method reached through the prototype would see
  // the wrapper as `this`.
  for (const m of EDGES) {
    const f = primary[m] as ((...a: unknown[]) => unknown) | undefined;
    if (typeof f === 'function') wrapped[m] = f.bind(primary);
  }
  for (const k of kernels) {
    if (lacking.includes(k) && !secondary.supports(k))
      throw new Error(`neither ${primary.name} nor ${secondary.name} has the kernel ${k}`);
    const args = KERNELS[k].args as Record<string, { writes?: boolean }>;
    const own = (primary[k] as (t: object, a: object) => void).bind(primary);
    const run = (secondary[k] as (t: object, a: object) => void).bind(secondary);
    wrapped[k] = (tensors: Record<string, TensorHandle | null>, attrs: object): void => {
      const dtypes = callDtypes(tensors);
      if (primary.supports(k, dtypes)) return own(tensors, attrs);
      const what = `${primary.name} ${fallbackName(k, dtypes)}`;
      if (!secondary.supports(k, dtypes))
        throw new Error(`neither ${primary.name} nor ${secondary.name} runs ${what}`);
      if (!read)
        throw new Error(
          `backend ${what} would run on ${secondary.name}, but ${primary.name} cannot read tensors synchronously`,
        );
      onFallback(k, dtypes);
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
