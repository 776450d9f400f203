// Few rows times a transposed matrix (inference at batch 1–4): y[m, f] = Σ_k x[m, k]·w[f, k]
// for m < M ≤ GEMV_MAX_ROWS. The linear layers at small batch are bound by reading w once (fc6
// is 151 MB), so w's rows are streamed straight through FMAs, four at a time, instead of being
// packed for a 14-row micro-kernel that would do 14× the arithmetic.
#pragma once

namespace anative {

constexpr long GEMV_MAX_ROWS = 4;

/** C[M, N] (+)= A[M, K] · B[N, K]ᵀ (acc: add to C), parallel over the pool's threads. */
void gemvT(long M, long N, long K, const float* A, long lda, const float* B, long ldb, bool acc,
           float* C, long ldc);

}  // namespace anative
