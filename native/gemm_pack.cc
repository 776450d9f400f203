// Packing GEMM operands (gemm_pack.h). Packing an operand whose depth (k) is its contiguous
// axis — A not transposed, B transposed (conv dW = dY·colᵀ, linear y = x·wᵀ) — is a transpose;
// done 16×16 in AVX-512 registers it runs at memory speed instead of one scattered scalar store
// per element.
#include "gemm_pack.h"

#include <algorithm>
#include <cstring>

#if defined(__x86_64__) || defined(_M_X64)
#include "transpose16.h"
#endif
#include "simd.h"

namespace anative {

// Rows [i0, i0+MR) of op(A) (clipped at M, zero beyond), depth [p0, p0+kc) → dst[kc][MR].
void packA(bool transA, const float* A, long lda, long M, long i0, long p0, long kc, int mr,
           float* dst, bool avx512) {
  long rows = std::min<long>(mr, M - i0);
#if defined(__x86_64__) || defined(_M_X64)
  if (avx512 && !transA && mr <= 16) {
    transposePack(A + i0 * lda + p0, lda, rows, kc, dst, mr, mr);
    return;
  }
#else
  (void)avx512;  // only x86-64 has the AVX-512 transposes
#endif
  if (transA) {
    for (long k = 0; k < kc; k++) {
      const float* src = A + (p0 + k) * lda + i0;
      float* d = dst + k * mr;
      long i = 0;
      for (; i < rows; i++) d[i] = src[i];
      for (; i < mr; i++) d[i] = 0.f;
    }
  } else {
    // Transposing copy in 16-deep strips, so the written strip (16·MR floats) stays in L1.
    for (long k0 = 0; k0 < kc; k0 += 16) {
      const long kn = std::min<long>(16, kc - k0);
      for (long i = 0; i < rows; i++) {
        const float* src = A + (i0 + i) * lda + p0 + k0;
        for (long kk = 0; kk < kn; kk++) dst[(k0 + kk) * mr + i] = src[kk];
      }
      for (long i = rows; i < mr; i++)
        for (long kk = 0; kk < kn; kk++) dst[(k0 + kk) * mr + i] = 0.f;
    }
  }
}

// Columns [j0, j0+NR) of op(B) (clipped at N, zero beyond), depth [p0, p0+kc) → dst[kc][NR].
void packB(bool transB, const float* B, long ldb, long N, long j0, long p0, long kc, int nr,
           float* dst, bool avx512) {
  long cols = std::min<long>(nr, N - j0);
#if defined(__x86_64__) || defined(_M_X64)
  if (avx512 && transB && nr % 16 == 0) {
    for (int h = 0; h < nr; h += 16)
      transposePack(B + (j0 + h) * ldb + p0, ldb, std::max<long>(0, std::min<long>(16, cols - h)),
                    kc, dst + h, nr, 16);
    return;
  }
#else
  (void)avx512;  // only x86-64 has the AVX-512 transposes
#endif
  if (transB) {
    for (long k0 = 0; k0 < kc; k0 += 16) {
      const long kn = std::min<long>(16, kc - k0);
      for (long j = 0; j < cols; j++) {
        const float* src = B + (j0 + j) * ldb + p0 + k0;
        for (long kk = 0; kk < kn; kk++) dst[(k0 + kk) * nr + j] = src[kk];
      }
      for (long j = cols; j < nr; j++)
        for (long kk = 0; kk < kn; kk++) dst[(k0 + kk) * nr + j] = 0.f;
    }
  } else {
    for (long k = 0; k < kc; k++) {
      const float* src = B + (p0 + k) * ldb + j0;
      float* d = dst + k * nr;
      if (cols == nr) {
        std::memcpy(d, src, sizeof(float) * nr);
      } else {
        long j = 0;
        for (; j < cols; j++) d[j] = src[j];
        for (; j < nr; j++) d[j] = 0.f;
      }
    }
  }
}

// The column block [j0, j0+nc) of op(B) = B (not transposed), depth [p0, p0+kc) → ⌈nc/nr⌉
// micro-panels dst + p·nr·kc, each [kc][nr] (columns ≥ N zero). Read along B's rows, one row of
// the block at a time: packed panel by panel (16 floats from each of 256 rows 2 KB apart, one
// memcpy call each) it was 15% of AVX2's conv time, on the column matrix it then used.
template <int NR>
ANATIVE_INLINE void packBRowsOf(const float* B, long ldb, long N, long j0, long nc, long p0,
                                long kc, float* dst) {
  const long cols = std::min(nc, N - j0), full = cols / NR, rest = cols - full * NR;
  for (long k = 0; k < kc; k++) {
    const float* src = B + (p0 + k) * ldb + j0;
    float* d = dst + k * NR;
    for (long p = 0; p < full; p++)
      for (int j = 0; j < NR; j++) d[p * NR * kc + j] = src[p * NR + j];
    if (rest > 0) {
      float* e = d + full * NR * kc;
      for (long j = 0; j < NR; j++) e[j] = j < rest ? src[full * NR + j] : 0.f;
    }
  }
}

// The kernels' widths as compile-time constants (whole-panel copies of fixed size).
ANATIVE_INLINE void packBRowsIsaBody(const float* B, long ldb, long N, long j0, long nc, long p0,
                                     long kc, int nr, float* dst) {
  switch (nr) {
    case 8:
      return packBRowsOf<8>(B, ldb, N, j0, nc, p0, kc, dst);
    case 16:
      return packBRowsOf<16>(B, ldb, N, j0, nc, p0, kc, dst);
    default:
      return packBRowsOf<32>(B, ldb, N, j0, nc, p0, kc, dst);
  }
}
ANATIVE_MULTIVERSION(packBRowsIsa,
                     (const float* B, long ldb, long N, long j0, long nc, long p0, long kc, int nr,
                      float* dst),
                     (B, ldb, N, j0, nc, p0, kc, nr, dst))

void packBRows(const float* B, long ldb, long N, long j0, long nc, long p0, long kc, int nr,
               float* dst) {
  packBRowsIsa(B, ldb, N, j0, nc, p0, kc, nr, dst);
}

}  // namespace anative
