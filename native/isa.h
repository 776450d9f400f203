// Instruction-set selection. One binary runs on any x86-64: the fast paths are compiled with
// per-function target attributes and chosen at run time from what the CPU supports. A lower
// path can be forced (ALEXNET_ISA or setIsa) to test every level on one machine. On other
// architectures (arm64…) the x86 paths are not compiled and the ISA is always Scalar, the
// portable path; every use of an x86 intrinsic or header is inside
// `#if defined(__x86_64__) || defined(_M_X64)`.
#pragma once

namespace anative {

// Levels, each a superset of the one below. Avx512Bf16 (AVX-512 plus AVX512-BF16's vdpbf16ps)
// differs from Avx512 only in the bfloat16 GEMM kernels (gemm_bf16.h): its float32 kernels are
// the AVX-512 ones. Below it, bfloat16 calls take the portable path (round, widen, fp32 GEMM).
enum class Isa { Scalar = 0, Avx2 = 1, Avx512 = 2, Avx512Bf16 = 3 };

/** Best level this CPU supports. */
Isa detectIsa();
/** Level in use now (what `isa()` reports). */
Isa isaLevel();
/** ISA of the float32 kernels in use now: the level, with Avx512Bf16 read as Avx512 (never
 *  Avx512Bf16, so the fp32 code's dispatch knows three ISAs). */
Isa currentIsa();
/** The bfloat16 GEMMs run on vdpbf16ps now (level Avx512Bf16). */
bool bf16Native();
/** Force a level; throws std::runtime_error when the CPU lacks it. */
void setIsa(Isa isa);
const char* isaName(Isa isa);
/** Parse 'avx512bf16' | 'avx512' | 'avx2' | 'scalar'; throws on anything else. */
Isa parseIsa(const char* name);

}  // namespace anative
