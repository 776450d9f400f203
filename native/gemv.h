// Few rows times a transposed matrix (inference at batch 1–4): y[m, f] = Σ_k x[m, k]·w[f, k]
// for m < M ≤ GEMV_MAX_ROWS. The linear layers at small batch are bound by reading w once (fc6
// is 151 MB), so w's rows are streamed straight through FMAs, four at a time, instead of being
// packed for a 14-row micro-kernel that would do 14× the arithmetic.
#pragma once
#include <cstdint>

namespace anative {

constexpr long GEMV_MAX_ROWS = 4;

/** C[M, N] (+)= A[M, K] · B[N, K]ᵀ (acc: add to C), parallel over the pool's threads. */
void gemvT(long M, long N, long K, const float* A, long lda, const float* B, long ldb, bool acc,
           float* C, long ldc);

/** C[M, N] = A[M, K] · B[N, K]ᵀ with B bfloat16, widened as it is loaded (linear_bf16.cc's
 *  portable path: fc6 at batch 1 streams 75 MB instead of widening 151): at the ISA levels avx2
 *  and scalar the sums of gemvT on the widened B, bit for bit; the avx2 kernel at avx512. */
void gemvTBf16(long M, long N, long K, const float* A, long lda, const uint16_t* B, long ldb,
               float* C, long ldc);

}  // namespace anative
