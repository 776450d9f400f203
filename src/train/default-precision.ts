// The precision of a training run whose caller names none (issue #12). bf16 is the default only
// where it was measured to reach fp32's accuracy sooner — the fashion-quick preset, on the quiet
// 2-vCPU AMD EPYC (Zen 4, AVX512-BF16): seed 0, test accuracy 0.9024 in fp32 (536 s, stopped by
// the 540 s budget) and 0.9002 in bf16 (all three epochs in 401 s) — and only where the kernels
// multiply bfloat16 natively: the native backend at an ISA level with bfloat16 products. Elsewhere
// bf16 rounds its inputs and runs the fp32 kernels, no faster than fp32, so the default stays
// fp32 — also on a CPU whose AVX512-BF16 is slower than its FMA (the Intel Xeon here without
// AMX: its default level is avx512);
// so it does for runs on several workers or ranks (--parallel computes in fp32; ranks on
// different CPUs must agree). A precision the caller names is always the one used. The library
// decides and says why; the command line prints it.
import type { Isa } from '../backend/native/binding.js';
import { bf16SlowerThanFma, isaInUse } from '../backend/native/index.js';
import type { Precision } from '../nn/precision.js';

/** The presets whose default is bf16 where the CPU multiplies bfloat16 natively. */
export const BF16_DEFAULT_PRESETS: readonly string[] = ['fashion-quick'];

/** The native ISA levels whose bfloat16 GEMMs run on the CPU's bfloat16 instructions, with the
 *  name the CPU's documentation gives them. */
const NATIVE_BF16: Partial<Record<Isa, string>> = { amx: 'AMX', avx512bf16: 'AVX512-BF16' };

export interface PrecisionRun {
  /** The preset the configuration starts from (null: none, e.g. a configuration given in full). */
  preset: string | null;
  /** The backend's name: 'native', 'ref', 'webgpu', … (null: not resolved, for a parallel run). */
  backend: string | null;
  /** The native kernels' ISA level in use (what ALEXNET_ISA may have lowered). */
  isa: Isa;
  /** The run trains on several workers or ranks (a parallel scheme, distributed training). */
  parallel: boolean;
  /** The CPU has AVX512-BF16 but its vdpbf16ps is slower than its FMA (absent: false). */
  bf16SlowerThanFma?: boolean;
}

export interface PrecisionChoice {
  precision: Precision;
  /** Why, when the default decided and it depends on this run (fashion-quick); else null. */
  reason: string | null;
}

/** The precision a run of `run` trains in when its caller names none, and why. */
export function defaultPrecision(run: PrecisionRun): PrecisionChoice {
  if (run.preset === null || !BF16_DEFAULT_PRESETS.includes(run.preset))
    return { precision: 'fp32', reason: null };
  const isaName = NATIVE_BF16[run.isa];
  if (run.parallel || run.backend === null)
    return { precision: 'fp32', reason: 'default with parallel workers, which compute in fp32' };
  if (run.backend !== 'native')
    return {
      precision: 'fp32',
      reason: `default on the ${run.backend} backend; bf16 is ${run.preset}'s default on native with AMX or AVX512-BF16`,
    };
  if (isaName === undefined)
    return {
      precision: 'fp32',
      reason: `default on this CPU: ${run.bf16SlowerThanFma && run.isa === 'avx512' ? 'its AVX512-BF16 is slower than its FMA, so ' : ''}the native kernels run ${run.isa}, without bfloat16 instructions`,
    };
  return { precision: 'bf16', reason: `default on this CPU: ${isaName}` };
}

/** The precision a training run uses: `given` when the caller names one, else the default for
 *  this run on the native kernels' ISA in use now. */
export function trainPrecision(
  given: Precision | undefined,
  run: Omit<PrecisionRun, 'isa' | 'bf16SlowerThanFma'>,
): PrecisionChoice {
  return given !== undefined
    ? { precision: given, reason: null }
    : defaultPrecision({ ...run, isa: isaInUse(), bf16SlowerThanFma: bf16SlowerThanFma() });
}
