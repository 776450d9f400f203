// The native backend: every kernel the addon registers runs in C++ (native/), on the host arrays
// of the tensors, without copies. `nativeBackend` is null when the addon did not build or load;
// `nativeLoadError` then says why. ALEXNET_ISA=avx512|avx2|scalar forces a lower instruction set
// (the addon reads it when it loads).

import type { Tensor } from '../../tensor/tensor.js';
import type { Backend } from '../backend.js';
import { hostBackend, type HostKernels } from '../host.js';
import { KERNELS, KERNEL_NAMES } from '../kernels.js';
import { loadBinding, type Isa, type NativeBinding } from './binding.js';

const loaded = loadBinding();

/** The raw addon (for tests and benchmarks), or null. */
export const nativeBinding: NativeBinding | null = 'binding' in loaded ? loaded.binding : null;
/** Why the addon is unavailable, or null when it loaded. */
export const nativeLoadError: string | null = 'error' in loaded ? loaded.error : null;

type AnyKernel = (t: Record<string, Tensor<never> | null>, a: object) => void;

/** Binds each registered kernel: the named tensors become the positional arrays it expects. */
function nativeKernels(b: NativeBinding): HostKernels {
  const kernels: Record<string, AnyKernel> = {};
  for (const k of KERNEL_NAMES) {
    const fn = b.kernels[k] as ((arrays: unknown[], attrs: object) => void) | undefined;
    if (!fn) continue;
    const names = Object.keys(KERNELS[k].args);
    kernels[k] = (t, a) => {
      const arrays = new Array<unknown>(names.length);
      for (let i = 0; i < names.length; i++) arrays[i] = t[names[i]]?.data ?? null;
      fn(arrays, a);
    };
  }
  return kernels as HostKernels;
}

export const nativeBackend: Backend | null = nativeBinding
  ? hostBackend({
      name: 'native',
      kernels: nativeKernels(nativeBinding),
      setThreads: (n) => nativeBinding.setThreads(n),
      getThreads: () => nativeBinding.getThreads(),
    })
  : null;

/** The instruction set the native kernels use now ('scalar' when the addon is missing). */
export function isaInUse(): Isa {
  return nativeBinding ? nativeBinding.isa() : 'scalar';
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
