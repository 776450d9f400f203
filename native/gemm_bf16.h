// The bfloat16 GEMM (x86-64 only; used at the ISA levels amx, avx512bf16 and avx512, isa.h):
//   C[M, N] (+)= op(A)[M, K] · op(B)[K, N]   A, B bfloat16 (uint16), C float32
//   op(A)(i, k) = transA ? A[k·lda + i] : A[i·lda + k]   (the same for B, as gemm.h)
// Products of two bfloat16 are exact in float32. Three engines, one blocking:
// - amx, the AMX tiles' tdpbf16ps: a 14×32 micro-tile is two 14×16 float32 accumulator tiles,
//   each step a 14×32 tile of A's bfloat16 times a 16-pair × 16 tile of B's (B packed as for
//   vdpbf16ps below, A with each row's 16 pairs contiguous), depth padded with zeros to whole
//   tiles of 32; denormals as vdpbf16ps. The GEMV uses vdpbf16ps.
// - avx512bf16, vdpbf16ps: it adds two products per lane to a float32 accumulator (it treats
//   denormal inputs and results as zero, as all of AVX512-BF16 does). Where it outruns the FMA
//   (AMD Zen 4: 2×) this is the default level.
// - avx512, the FMA: the operands are widened to float32 as they are packed, and the fp32
//   AVX-512 kernels (gemm_kernels.h) multiply them. The default on a CPU whose vdpbf16ps is
//   slower than its FMA (the Intel Xeon here without AMX: half of it), and on AVX-512 without
//   AVX512-BF16. The sums differ from vdpbf16ps's only in order and in denormals.
//
// Packing (vdpbf16ps). It multiplies PAIRS along the depth: lane j of a 512-bit operand holds the
// 32-bit word (op(k+1, j) << 16) | op(k, j). Both operands are packed into zero-padded panels of
// such words, A as [kc/2][MR] and B as [kc/2][NR]; an odd depth gets a zero high half in its last
// pair. An operand whose pairs are adjacent in memory (A not transposed, B transposed) packs as a
// 16×16 transpose of 32-bit words; the other (A transposed, B not) interleaves two rows.
//
// The micro-kernel is 14×32 (28 zmm accumulators, 2 B loads + 14 broadcast pairs per 28
// vdpbf16ps: 2× the fp32 kernel's multiply-adds per instruction), with kernels for 1–13 rows and
// 16 columns at the edges and masked stores for any other width, so no tile goes through a
// scratch copy. The epilogue (rowBias[i] then ReLU, NaN kept as relu.h) is applied as the tiles
// of the last depth slice are stored.
#pragma once
#if defined(__x86_64__) || defined(_M_X64)
#include <cstddef>
#include <cstdint>
#include <functional>

namespace anative {

constexpr long BF16_MR = 14;

/** C = op(A)·op(B) (+ C when acc), then relu?(· + rowBias[i]); parallel over the pool's threads
 *  (split along C's longer side), serial when called inside a pool task. packedA: all of op(A)
 *  packed by packWholeABf16 (then A is unused), or null. The sums are the same either way. */
void gemmBf16(bool transA, bool transB, long M, long N, long K, const uint16_t* A, long lda,
              const uint16_t* B, long ldb, bool acc, float* C, long ldc,
              const float* rowBias = nullptr, bool relu = false, const uint32_t* packedA = nullptr);

/** Rows [i0, i1) and columns [j0, j1) of the same product, on the calling thread. packedA: all
 *  of op(A) packed by packWholeABf16 (then A is unused and i0 is a multiple of BF16_MR), or null.
 */
void gemmBf16Block(bool transA, bool transB, long M, long N, long K, long i0, long i1, long j0,
                   long j1, const uint16_t* A, long lda, const uint16_t* B, long ldb, bool acc,
                   float* C, long ldc, const float* rowBias, bool relu,
                   const uint32_t* packedA = nullptr);

/** A B operand read in place, never stored: op(B)(k, j) = base[rowOffset[k] + colOffset[j]]
 *  (k < K the depth, j < N). conv_bf16.cc's column matrix over its phased rounded input, the
 *  implicit im2col: its panels are packed straight from the image (columns_bf16.h), by runs of
 *  consecutive elements along the columns (the forward's col: a panel row is one to four loads)
 *  or, alongDepth, along the depth (dW's colᵀ: a column's depth pairs are adjacent). The element
 *  after every addressed one must be readable (where runs are too short, 32-bit gathers). */
struct Bf16Columns {
  const uint16_t* base;
  const int32_t* rowOffset;  // [K]
  const int32_t* colOffset;  // [N]
  bool alongDepth;
};

/** gemmBf16(false, false, M, N, K, A, lda, B, …) with op(B) a Bf16Columns; parallel as gemmBf16,
 *  serial inside a pool task. */
void gemmBf16Columns(long M, long N, long K, const uint16_t* A, long lda, const Bf16Columns& B,
                     bool acc, float* C, long ldc, const float* rowBias = nullptr,
                     bool relu = false, const uint32_t* packedA = nullptr);

/** Rows [i0, i1) and columns [j0, j1) of it on the calling thread (as gemmBf16Block). */
void gemmBf16ColumnsBlock(long M, long N, long K, long i0, long i1, long j0, long j1,
                          const uint16_t* A, long lda, const Bf16Columns& B, bool acc, float* C,
                          long ldc, const float* rowBias = nullptr, bool relu = false,
                          const uint32_t* packedA = nullptr);

/** C = A·B (A packed whole by packWholeABf16, B [K, N] not transposed) on the calling thread, in
 *  blocks of blockRows rows (a multiple of BF16_MR), each handed to rowsDone as soon as it is
 *  final, so that its consumer reads it from cache (conv_bf16.cc's col2im of dX): all of B is
 *  packed once first (it should fit in L2; over the pool when called outside a pool task), then
 *  each block runs through every depth slice.
 *  Block rows [i0, i1) of the product are stored in C's rows [0, i1 − i0): C holds one block.
 *  The sums are gemmBf16Block's, bit for bit (as sgemmSerialPackedARowBlocks, gemm.h). */
void gemmBf16PackedARowBlocks(const uint32_t* packedA, long M, long N, long K, const uint16_t* B,
                              long ldb, float* C, long ldc, long blockRows,
                              const std::function<void(long i0, long i1)>& rowsDone);

/** gemmBf16(false, true, M, N, …) without packedA reads A once, packing it as it goes: the
 *  tall-skinny form (N ≤ 64 columns, M ≥ 4·N, either engine), which carries A's row panels
 *  through the whole depth. Then a packed A (linear_packs.h) would only cost: on vdpbf16ps it is
 *  no faster (fc6 at batch 32 on the Zen 5 here: 6.8 ms either way, against 12.3 for gemmPart
 *  packing as it goes) and holds another copy of w; on the FMA engine its widened panels are
 *  twice w's bytes. */
bool gemmBf16ReadsAInPlace(long M, long N);

/** op(A) [M, K] packed once for many products (conv weights over image chunks, the linear
 *  weights once per write: linear_packs.h), over the pool, in the layout of the engine in use
 *  (pack and multiply without switching ISA between). */
size_t packedABf16Words(long M, long K);
void packWholeABf16(bool transA, long M, long K, const uint16_t* A, long lda, uint32_t* packed);

/** Few rows times a transposed matrix (linear layers at batch ≤ 4, bound by reading B once):
 *  C[M, N] = A[M, K] · B[N, K]ᵀ, M ≤ 4, over the pool's threads. */
constexpr long GEMV_BF16_MAX_ROWS = 4;
void gemvBf16T(long M, long N, long K, const uint16_t* A, long lda, const uint16_t* B, long ldb,
               float* C, long ldc);

}  // namespace anative

#endif  // x86-64
