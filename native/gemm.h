// Single-precision GEMM, row-major, with the transposes the layers need:
//   conv forward   Y[Co, P]  = W[Co, Kc] · col[Kc, P]
//   conv dW        dW[Co, Kc] = dY[Co, P] · col[Kc, P]ᵀ      (transB)
//   conv dX        dcol[Kc, P] = W[Co, Kc]ᵀ · dY[Co, P]      (transA)
//   linear         y = x·wᵀ (transB), dx = dy·w, dw = dyᵀ·x (transA)
#pragma once
#include <cstddef>

namespace anative {

/** C[M, N] = op(A)[M, K] · op(B)[K, N] + beta · C, with beta ∈ {0, 1} (overwrite or accumulate).
 *  op(A)(i, k) = transA ? A[k·lda + i] : A[i·lda + k]
 *  op(B)(k, j) = transB ? B[j·ldb + k] : B[k·ldb + j]
 *  Parallel over the pool's threads; must not be called from inside a pool task. */
void sgemm(bool transA, bool transB, long M, long N, long K, const float* A, long lda,
           const float* B, long ldb, float beta, float* C, long ldc);

/** The same product on the calling thread only (for callers that parallelise above it). */
void sgemmSerial(bool transA, bool transB, long M, long N, long K, const float* A, long lda,
                 const float* B, long ldb, float beta, float* C, long ldc);

/** A packed once for many products with different B (conv weights over image chunks).
 *  The packing is tied to the ISA in use: pack and multiply without switching ISA between. */
size_t packedASize(long M, long K);
void packWholeA(bool transA, long M, long K, const float* A, long lda, float* packed);
void sgemmSerialPackedA(const float* packedA, bool transB, long M, long N, long K,
                        const float* B, long ldb, float beta, float* C, long ldc);

}  // namespace anative
