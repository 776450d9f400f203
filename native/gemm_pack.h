// Packing GEMM operands into zero-padded micro-panels: op(A) rows → [kc][MR], op(B) columns →
// [kc][NR], so that the micro-kernels (gemm_kernels.h) run unit-stride loads.
#pragma once

namespace anative {

/** Rows [i0, i0+mr) of op(A) (clipped at M, zero beyond), depth [p0, p0+kc) → dst[kc][mr].
 *  avx512: pack with the AVX-512 16×16 transposes. */
void packA(bool transA, const float* A, long lda, long M, long i0, long p0, long kc, int mr,
           float* dst, bool avx512);
/** Columns [j0, j0+nr) of op(B) (clipped at N, zero beyond), depth [p0, p0+kc) → dst[kc][nr]. */
void packB(bool transB, const float* B, long ldb, long N, long j0, long p0, long kc, int nr,
           float* dst, bool avx512);

/** Columns [j0, j0+nc) of B (not transposed, clipped at N, zero beyond), depth [p0, p0+kc) →
 *  ⌈nc/nr⌉ micro-panels dst + p·nr·kc of [kc][nr], read along B's rows; nr ∈ {8, 16, 32}. */
void packBRows(const float* B, long ldb, long N, long j0, long nc, long p0, long kc, int nr,
               float* dst);

}  // namespace anative
