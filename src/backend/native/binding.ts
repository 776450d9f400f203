// The typed surface of the C++ addon (native/addon.cc) and its loader. Every function the addon
// exports is declared here; argument errors and C++ failures arrive as thrown Errors.

import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HostArray } from '../../tensor/tensor.js';
import type { AttrsOf, KernelName } from '../kernels.js';

/** Instruction-set levels, each a superset of the one below. avx512bf16 (AVX-512 plus
 *  AVX512-BF16's vdpbf16ps) differs from avx512 only in the GEMM kernels for a bfloat16 `w`; amx
 *  multiplies those on the AMX tiles; below avx512 they round their inputs and run the fp32
 *  kernels (native/isa.h). */
export type Isa = 'amx' | 'avx512bf16' | 'avx512' | 'avx2' | 'scalar';

export interface NativeBinding {
  setThreads(n: number): void; // 0 = hardware concurrency
  getThreads(): number;
  /** ISA of the kernels in use now. */
  isa(): Isa;
  /** The level used by default: the highest this CPU supports, except avx512 on a CPU whose
   *  vdpbf16ps is slower than its FMA (native/isa.h detectIsa). */
  bestIsa(): Isa;
  /** The highest level this CPU supports (what setIsa accepts). */
  supportedIsa(): Isa;
  /** Force an ISA (throws if the CPU lacks the one asked for). */
  setIsa(isa: Isa): void;
  /** fp32 FMA throughput over the pool's threads in the ISA in use, GFLOP/s. */
  peakGflops(seconds: number): number;
  /** bfloat16 vdpbf16ps throughput over the pool's threads, GFLOP/s (2 per multiply-add); NaN
   *  when the CPU lacks AVX512-BF16. */
  peakBf16Gflops(seconds: number): number;
  /** bfloat16 tdpbf16ps throughput of the AMX tiles over the pool's threads, GFLOP/s; NaN below
   *  level amx. */
  peakAmxGflops(seconds: number): number;
  /** The address of buf's first byte modulo 64 (its offset into a cache line). */
  lineOffset(buf: ArrayBuffer): number;
  /** Frees the packed panels of the bfloat16 linear weight tagged `id` (native/linear_packs.h). */
  releaseLinearPanels(id: number): void;
  /** C[M, N] = op(A)·op(B) + beta·C, row-major, beta ∈ {0, 1}. */
  gemm(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    a: Float32Array,
    lda: number,
    b: Float32Array,
    ldb: number,
    beta: number,
    c: Float32Array,
    ldc: number,
  ): void;

  /** Every kernel of the table the addon registers, by name (native/addon.cc). The tensors'
   *  host arrays come in the declaration's order (null where absent), then the attributes.
   *  UNCHECKED beyond element types: the checks derive from the declaration and run in
   *  nativeBackend; call kernels through it. */
  kernels: NativeKernels;
}

export type NativeKernels = {
  [K in KernelName]?: (arrays: (HostArray | null)[], attrs: AttrsOf<K>) => void;
};

/** The package root: the nearest directory above this file holding package.json
 *  (this file runs from dist/src/backend/native/ after tsc). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'binding.gyp'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('package root (with package.json and binding.gyp) not found');
    dir = up;
  }
}

/** Loads build/Release/alexnet_native.node; never throws. */
export function loadBinding(): { binding: NativeBinding } | { error: string } {
  try {
    const path = join(packageRoot(), 'build', 'Release', 'alexnet_native.node');
    if (!existsSync(path)) return { error: `${path} not built (run \`npx node-gyp rebuild\`)` };
    const require = createRequire(import.meta.url);
    return { binding: require(path) as NativeBinding };
  } catch (e) {
    return { error: e instanceof Error ? e.message.split('\n')[0] : String(e) };
  }
}
