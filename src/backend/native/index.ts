// The native backend: every kernel the addon registers runs in C++ (native/), on the host arrays
// of the tensors, without copies. `nativeBackend` is null when the addon did not build or load;
// `nativeLoadError` then says why. ALEXNET_ISA=avx512|avx2|scalar forces a lower instruction set
// (the addon reads it when it loads).

import { sizeOf, Tensor, type DType, type HostArray, type Shape } from '../../tensor/tensor.js';
import type { Backend, TensorHandle } from '../backend.js';
import { hostBackend, type HostKernels } from '../host.js';
import { KERNELS, KERNEL_NAMES, type KernelName } from '../kernels.js';
import { loadBinding, type Isa, type NativeBinding } from './binding.js';
import { PackTags } from './packs.js';

const loaded = loadBinding();
const ALIGNED_FROM = 1 << 16; // float32 elements

/** The raw addon (for tests and benchmarks), or null. */
export const nativeBinding: NativeBinding | null = 'binding' in loaded ? loaded.binding : null;
/** Why the addon is unavailable, or null when it loaded. */
export const nativeLoadError: string | null = 'error' in loaded ? loaded.error : null;

type AnyKernel = (t: Record<string, Tensor<never> | null>, a: object) => void;

/** The kernels that take a bfloat16 `w` in a packed form (its tag follows the declared tensors). */
const PACKED_W = new Set<KernelName>(['linearForward', 'linearBackward']);

/** The arguments of kernel k that may write a bfloat16 tensor. */
function bf16Outputs(k: KernelName): string[] {
  const args = KERNELS[k].args as Record<string, { dtypes: readonly DType[]; writes?: boolean }>;
  return Object.keys(args).filter((n) => args[n].writes && args[n].dtypes.includes('bfloat16'));
}

/** Binds each registered kernel: the named tensors become the positional arrays it expects. */
function nativeKernels(b: NativeBinding, tags: PackTags): HostKernels {
  const kernels: Record<string, AnyKernel> = {};
  for (const k of KERNEL_NAMES) {
    const fn = b.kernels[k] as ((arrays: unknown[], attrs: object) => void) | undefined;
    if (!fn) continue;
    const names = Object.keys(KERNELS[k].args);
    const packed = PACKED_W.has(k);
    const outputs = bf16Outputs(k);
    kernels[k] = (t, a) => {
      const arrays = new Array<unknown>(names.length + (packed ? 1 : 0));
      for (let i = 0; i < names.length; i++) arrays[i] = t[names[i]]?.data ?? null;
      const w: unknown = packed ? t.w?.data : undefined;
      if (w instanceof Uint16Array) arrays[names.length] = tags.tag(w);
      for (const o of outputs) {
        const data = t[o]?.data;
        if (data) tags.written(data);
      }
      fn(arrays, a);
    };
  }
  return kernels as HostKernels;
}

/** The host backend over the addon's kernels. An upload counts as a write of the tensor it
 *  returns (`into`, or the host tensor itself, which the host backends hand back as the handle). */
function makeNativeBackend(b: NativeBinding): Backend {
  const tags = new PackTags((id) => b.releaseLinearPanels(id));
  const backend = hostBackend({
    name: 'native',
    kernels: nativeKernels(b, tags),
    setThreads: (n) => b.setThreads(n),
    getThreads: () => b.getThreads(),
  });
  // Large float32 tensors start on a cache line: the kernels' whole-line (non-temporal) stores
  // need it, and V8 places a large ArrayBuffer 16 bytes into a page.
  const alloc = backend.alloc.bind(backend);
  backend.alloc = <D extends DType>(shape: Shape, dtype: D): TensorHandle<D> => {
    const n = sizeOf(shape);
    if (dtype !== 'float32' || n < ALIGNED_FROM) return alloc(shape, dtype);
    const buf = new ArrayBuffer(4 * n + 64);
    const data = new Float32Array(buf, (64 - b.lineOffset(buf)) % 64, n);
    return Tensor.of(dtype, shape, data as HostArray<D>);
  };
  const upload = backend.upload.bind(backend);
  backend.upload = <D extends DType>(host: Tensor<D>, into?: TensorHandle<D>): TensorHandle<D> => {
    tags.written(into ? (into as unknown as { data: HostArray }).data : host.data);
    return upload(host, into);
  };
  return backend;
}

export const nativeBackend: Backend | null = nativeBinding
  ? makeNativeBackend(nativeBinding)
  : null;

/** The instruction set the native kernels use now ('scalar' when the addon is missing). */
export function isaInUse(): Isa {
  return nativeBinding ? nativeBinding.isa() : 'scalar';
}

/** This CPU has AVX512-BF16 but its vdpbf16ps does fewer FLOP/s than its FMA, so the default
 *  level is avx512, whose bfloat16 GEMMs widen their operands onto the FMA (native/isa.h). */
export function bf16SlowerThanFma(): boolean {
  return (
    nativeBinding !== null &&
    nativeBinding.supportedIsa() === 'avx512bf16' &&
    nativeBinding.bestIsa() === 'avx512'
  );
}

/** The machine's measured fp32 peak over the native pool's threads, GFLOP/s (NaN without the
 *  addon: there is nothing to measure with). */
export function peakGflops(seconds: number): number {
  return nativeBinding ? nativeBinding.peakGflops(seconds) : Number.NaN;
}

/** The machine's measured bfloat16 peak (vdpbf16ps over the native pool's threads), GFLOP/s;
 *  NaN without the addon or without AVX512-BF16. */
export function peakBf16Gflops(seconds: number): number {
  return nativeBinding ? nativeBinding.peakBf16Gflops(seconds) : Number.NaN;
}

/** The machine's measured AMX peak (tdpbf16ps over the native pool's threads), GFLOP/s; NaN
 *  without the addon or below level amx. */
export function peakAmxGflops(seconds: number): number {
  return nativeBinding ? nativeBinding.peakAmxGflops(seconds) : Number.NaN;
}
