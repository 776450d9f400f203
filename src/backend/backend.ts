// The Backend interface: a device that owns tensors and runs the kernels of the table in
// kernels.ts. Layers, Net and the optimiser see only this interface and tensor handles.
//
//   CLI → library → Net / layers → kernel table → backends (ref, native, …) → devices
//
// Implementations: `ref` (readable TypeScript, the oracle), `native` (the C++ addon); both keep
// tensors in host memory, as `Tensor`s (src/tensor/tensor.ts), and run each kernel when it is
// called. A device backend (e.g. WebGPU) implements the same contract with device buffers.
//
// The contract:
//   - Tensors. `alloc(shape, dtype)` makes a zero-filled tensor owned by the backend; the handle
//     shows only `shape`, `dtype` and `size`. Data crosses between host and backend only at the
//     edges: `upload` (host → backend) and `download` (backend → host). On the host backends the
//     handle IS a host Tensor: `upload` of a host Tensor returns it and `download` resolves to it,
//     so nothing is copied.
//   - Kernels. Every kernel K of the table is a method `backend[K](tensors, attrs)`: `tensors` its
//     named tensor arguments (handles of this backend; null where the declaration allows),
//     `attrs` its attributes as a named object. Kernels return nothing; results are written into
//     the tensors the declaration marks `writes` (even the loss: a [1] tensor).
//   - Ordering. Calls take effect in the order they are made. A backend may merely ENQUEUE them
//     and run them later (a GPU queues a whole training step); `download` waits for everything
//     queued before it that writes the tensor. `flush()` submits what is queued without waiting
//     (a no-op on the host backends, which run each call at once). So the only waits in a
//     training step are where a value is read on the host: the loss and the accuracy.
//   - Capabilities. `supports(kernel, dtypes)` says whether the backend runs that kernel on
//     tensors of those dtypes; a Net on a backend lacking a kernel runs it on ref through the
//     edges and says so once, in one line (fallback.ts).
//   - Precision. float32 and bfloat16 are declared compute dtypes (each kernel's arguments list
//     which they accept); master weights and optimiser state stay float32.
//   - Errors. A call that does not match its declaration throws a one-line TypeError naming the
//     kernel and the argument, before anything runs (declare.ts: checkCall).
import type { DType, HostArray, Shape, Tensor } from '../tensor/tensor.js';
import type { TensorsFor } from './declare.js';
import type { AttrsOf, KernelName, Kernels } from './kernels.js';

export type { Activation, ConvGeom, LrnParams, PoolGeom } from './kernels.js';
export { convOutputSize } from './kernels.js';
export type { DType } from '../tensor/tensor.js';

/** A tensor owned by a backend. Opaque: its storage is the backend's business. */
export interface TensorHandle<D extends DType = DType> {
  readonly shape: Shape;
  readonly dtype: D;
  readonly size: number;
}

/** The named tensor arguments of kernel K. */
export type TensorsOf<K extends KernelName> = TensorsFor<Kernels[K], TensorHandle>;

/** One method per kernel of the table. */
export type KernelMethods = {
  [K in KernelName]: (tensors: TensorsOf<K>, attrs: AttrsOf<K>) => void;
};

export interface Backend extends KernelMethods {
  readonly name: string;
  /** Whether tensors live in host memory as `Tensor`s (then `readSync` exists). */
  readonly hostMemory: boolean;

  /** Threads used by the kernels (the ref backend always uses one). */
  setThreads(n: number): void;
  getThreads(): number;

  /** Whether this backend runs `kernel` with tensors of these dtypes (default float32). */
  supports(kernel: KernelName, dtypes?: readonly DType[]): boolean;

  /** A new zero-filled tensor. */
  alloc<D extends DType>(shape: Shape, dtype: D): TensorHandle<D>;
  /** Host → backend. Without `into`: a tensor holding `host`'s values (on the host backends:
   *  `host` itself, shared, no copy). With `into` (same dtype and size): copies into it. */
  upload<D extends DType>(host: Tensor<D>, into?: TensorHandle<D>): TensorHandle<D>;
  /** Backend → host, after the queued work that writes `t` (host backends: `t` itself). */
  download<D extends DType>(t: TensorHandle<D>): Promise<Tensor<D>>;
  /** Host backends only: `t` as the host Tensor it is, at once. */
  readSync?<D extends DType>(t: TensorHandle<D>): Tensor<D>;
  /** The same storage seen with another shape of the same size (no copy). */
  view<D extends DType>(t: TensorHandle<D>, shape: Shape): TensorHandle<D>;
  /** Submits queued work without waiting for it. */
  flush(): void;
}

/** A tensor of a host-memory backend as the host Tensor it is (no copy); a one-line error on a
 *  device backend, whose tensors are read with `await download()`. For code that reads values
 *  synchronously (checkpoints, exports, the CLI's batch loops). */
export function hostTensor<D extends DType>(backend: Backend, t: TensorHandle<D>): Tensor<D> {
  if (!backend.readSync)
    throw new Error(
      `backend ${backend.name} keeps its tensors on the device: read them with await download()`,
    );
  return backend.readSync(t);
}

/** hostTensor(backend, t).data */
export function hostData<D extends DType>(backend: Backend, t: TensorHandle<D>): HostArray<D> {
  return hostTensor(backend, t).data;
}
