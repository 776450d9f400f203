// Instruction-set selection. One binary runs on any x86-64: the fast paths are compiled with
// per-function target attributes and chosen at run time from what the CPU supports. A lower
// path can be forced (ALEXNET_ISA or setIsa) to test every level on one machine. On other
// architectures (arm64…) the x86 paths are not compiled and the ISA is always Scalar, the
// portable path; every use of an x86 intrinsic or header is inside
// `#if defined(__x86_64__) || defined(_M_X64)`.
#pragma once

namespace anative {

// Levels, each a superset of the one below. Avx512Bf16 (AVX-512 plus AVX512-BF16's vdpbf16ps)
// differs from Avx512 only in the engine of the bfloat16 GEMMs (gemm_bf16.h): vdpbf16ps there,
// the AVX-512 FMA kernels on operands widened to float32 as they are packed at Avx512; its
// float32 kernels are the AVX-512 ones. Amx (Avx512Bf16 plus AMX-TILE and AMX-BF16, with the
// kernel's permission for the tile state, arch_prctl ARCH_REQ_XCOMP_PERM) multiplies the
// bfloat16 GEMMs' tiles on the matrix engine (tdpbf16ps); the rest is Avx512Bf16's. Below Avx512,
// bfloat16 calls take the portable path (round, widen, fp32 GEMM).
enum class Isa { Scalar = 0, Avx2 = 1, Avx512 = 2, Avx512Bf16 = 3, Amx = 4 };

/** Highest level this CPU can run (what setIsa accepts); Amx only once Linux has granted the
 *  process the tile state (asked for on the first call). */
Isa supportedIsa();
/** The level used by default: supportedIsa() (Amx where it is there), except that a CPU with
 *  AVX512-BF16 and no AMX whose vdpbf16ps does fewer FLOP per second than its FMA (measured
 *  once, peak.cc bf16DotOutrunsFma: an Intel Xeon with AMX hidden, 83 against 167 GFLOP/s per
 *  core) gets Avx512, whose bfloat16 GEMMs run on the FMA. */
Isa detectIsa();
/** Level in use now (what `isa()` reports). */
Isa isaLevel();
/** ISA of the float32 kernels in use now: the level, with Avx512Bf16 and Amx read as Avx512
 *  (so the fp32 code's dispatch knows three ISAs). */
Isa currentIsa();
/** The bfloat16 GEMMs of gemm_bf16.h run now (level Avx512 or above, either engine). */
bool bf16Gemms();
/** Their engine is vdpbf16ps (level Avx512Bf16). */
bool bf16DotProducts();
/** Their engine is the AMX tiles (level Amx); their GEMVs use vdpbf16ps. */
bool bf16Tiles();
/** Force a level; throws std::runtime_error when the CPU lacks it (above supportedIsa()). */
void setIsa(Isa isa);
const char* isaName(Isa isa);
/** Parse 'amx' | 'avx512bf16' | 'avx512' | 'avx2' | 'scalar'; throws on anything else. */
Isa parseIsa(const char* name);

}  // namespace anative
