// A backend whose tensors are host `Tensor`s (ref, native, the partial test backends): the edges
// copy nothing, every kernel runs when it is called, and each call is checked against the table
// before it runs. Implementations receive the tensors typed by the dtypes their declaration
// accepts, so a kernel body reads `x.data` directly.
import { Tensor, type DType, type Shape } from '../tensor/tensor.js';
import { compileCheck, type Checkable, type KernelDecl, type AttrSchema } from './declare.js';
import type { Backend, TensorHandle } from './backend.js';
import { KERNELS, KERNEL_NAMES, type AttrsOf, type KernelName, type Kernels } from './kernels.js';

type HostArg<A> = A extends { dtypes: readonly (infer E extends DType)[] } ? Tensor<E> : never;
type HostTensorsFor<D extends KernelDecl<AttrSchema, never>> = {
  [A in keyof D['args']]: D['args'][A] extends { optional: true }
    ? HostArg<D['args'][A]> | null
    : HostArg<D['args'][A]>;
};
/** What a host backend implements for kernel K. */
export type HostKernel<K extends KernelName> = (
  tensors: HostTensorsFor<Kernels[K]>,
  attrs: AttrsOf<K>,
) => void;
export type HostKernels = { [K in KernelName]?: HostKernel<K> };

export interface HostBackendOptions {
  name: string;
  kernels: HostKernels;
  setThreads(n: number): void;
  getThreads(): number;
  /** Dtypes per kernel where fewer than the declaration's (default: all declared). */
  dtypes?: { [K in KernelName]?: readonly DType[] };
}

/** The dtypes the declaration of K accepts for its floating arguments. */
export function declaredDtypes(k: KernelName): DType[] {
  const out = new Set<DType>();
  for (const a of Object.values(KERNELS[k].args) as { dtypes: readonly DType[] }[])
    for (const d of a.dtypes) if (d === 'float32' || d === 'bfloat16') out.add(d);
  return [...out];
}

function asHost<D extends DType>(owner: string, t: TensorHandle<D>): Tensor<D> {
  if (!(t instanceof Tensor))
    throw new TypeError(`backend ${owner}: the tensor belongs to another backend`);
  return t as Tensor<D>;
}

export function hostBackend(o: HostBackendOptions): Backend {
  const dtypes = new Map<KernelName, readonly DType[]>();
  for (const k of KERNEL_NAMES) if (o.kernels[k]) dtypes.set(k, o.dtypes?.[k] ?? declaredDtypes(k));
  const backend = {
    name: o.name,
    hostMemory: true,
    setThreads: o.setThreads,
    getThreads: o.getThreads,
    supports(kernel: KernelName, want: readonly DType[] = ['float32']): boolean {
      const have = dtypes.get(kernel);
      return have !== undefined && want.every((d) => have.includes(d));
    },
    alloc<D extends DType>(shape: Shape, dtype: D): TensorHandle<D> {
      return Tensor.of(dtype, shape);
    },
    upload<D extends DType>(host: Tensor<D>, into?: TensorHandle<D>): TensorHandle<D> {
      if (!into) return host;
      const t = asHost(o.name, into);
      if (t.dtype !== host.dtype || t.size !== host.size)
        throw new TypeError(
          `upload: a ${host.dtype} tensor of ${host.size} elements into a ${t.dtype} one of ${t.size}`,
        );
      if (t.data !== host.data) t.data.set(host.data as never);
      return t;
    },
    download<D extends DType>(t: TensorHandle<D>): Promise<Tensor<D>> {
      return Promise.resolve(asHost(o.name, t));
    },
    readSync<D extends DType>(t: TensorHandle<D>): Tensor<D> {
      return asHost(o.name, t);
    },
    view<D extends DType>(t: TensorHandle<D>, shape: Shape): TensorHandle<D> {
      return asHost(o.name, t).reshape(shape);
    },
    flush(): void {},
  } as Record<string, unknown>;
  for (const k of KERNEL_NAMES) {
    const impl = o.kernels[k] as
      ((t: Record<string, Checkable | null>, a: Record<string, unknown>) => void) | undefined;
    const check = compileCheck(k, KERNELS[k] as unknown as KernelDecl<AttrSchema, never>);
    backend[k] = impl
      ? (t: Record<string, Checkable | null>, a: Record<string, unknown>): void => {
          check(t, a);
          impl(t, a);
        }
      : (): void => {
          throw new Error(`backend ${o.name} has no kernel ${k}`);
        };
  }
  return backend as unknown as Backend;
}
