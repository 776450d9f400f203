// The few-row GEMV (gemv.h) for each ISA.
#include "gemv.h"

#include <algorithm>

#include "isa.h"
#include "threadpool.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include "simd.h"
#endif

namespace anative {
namespace {

#if defined(__x86_64__) || defined(_M_X64)
// Software prefetch 1 KB ahead in each of the 4 streamed rows of w: the hardware prefetcher
// alone kept one core at ~14 GB/s (fc6 at batch 1: 10.5 ms → 5–7 ms with it).
constexpr long GEMV_PREFETCH = 256;  // floats

ANATIVE_TARGET_AVX512 void gemvTAvx512(long M, long f0, long f1, long K, const float* A, long lda,
                                       const float* B, long ldb, bool acc, float* C, long ldc) {
  long f = f0;
  for (; f < f1; f += 4) {
    const long nf = std::min(4L, f1 - f);
    __m512 s[4][GEMV_MAX_ROWS];
    for (int r = 0; r < 4; r++)
      for (int m = 0; m < GEMV_MAX_ROWS; m++) s[r][m] = _mm512_setzero_ps();
    for (long k = 0; k < K; k += 16) {
      const __mmask16 mask = K - k >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << (K - k)) - 1);
      __m512 xv[GEMV_MAX_ROWS];
      for (int m = 0; m < GEMV_MAX_ROWS; m++)
        xv[m] = m < M ? _mm512_maskz_loadu_ps(mask, A + m * lda + k) : _mm512_setzero_ps();
      for (int r = 0; r < 4; r++) {
        if (r >= nf) break;
        _mm_prefetch(reinterpret_cast<const char*>(B + (f + r) * ldb + k + GEMV_PREFETCH),
                     _MM_HINT_T0);
        const __m512 wv = _mm512_maskz_loadu_ps(mask, B + (f + r) * ldb + k);
        for (int m = 0; m < GEMV_MAX_ROWS; m++)
          if (m < M) s[r][m] = _mm512_fmadd_ps(xv[m], wv, s[r][m]);
      }
    }
    for (int r = 0; r < nf; r++)
      for (int m = 0; m < M; m++) {
        const float v = _mm512_reduce_add_ps(s[r][m]);
        float& c = C[m * ldc + f + r];
        c = acc ? c + v : v;
      }
  }
}

ANATIVE_TARGET_AVX2 void gemvTAvx2(long M, long f0, long f1, long K, const float* A, long lda,
                                   const float* B, long ldb, bool acc, float* C, long ldc) {
  for (long f = f0; f < f1; f++)
    for (long m = 0; m < M; m++) {
      const float* x = A + m * lda;
      const float* w = B + f * ldb;
      __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
      long k = 0;
      for (; k + 16 <= K; k += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k), _mm256_loadu_ps(w + k), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k + 8), _mm256_loadu_ps(w + k + 8), s1);
      }
      alignas(32) float t[8];
      _mm256_store_ps(t, _mm256_add_ps(s0, s1));
      float v = t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
      for (; k < K; k++) v += x[k] * w[k];
      float& c = C[m * ldc + f];
      c = acc ? c + v : v;
    }
}
#endif  // x86-64

void gemvTScalar(long M, long f0, long f1, long K, const float* A, long lda, const float* B,
                 long ldb, bool acc, float* C, long ldc) {
  for (long f = f0; f < f1; f++)
    for (long m = 0; m < M; m++) {
      const float* x = A + m * lda;
      const float* w = B + f * ldb;
      float s[4] = {0.f, 0.f, 0.f, 0.f};
      long k = 0;
      for (; k + 4 <= K; k += 4)
        for (int u = 0; u < 4; u++) s[u] += x[k + u] * w[k + u];
      float v = (s[0] + s[1]) + (s[2] + s[3]);
      for (; k < K; k++) v += x[k] * w[k];
      float& c = C[m * ldc + f];
      c = acc ? c + v : v;
    }
}

}  // namespace

void gemvT(long M, long N, long K, const float* A, long lda, const float* B, long ldb, bool acc,
           float* C, long ldc) {
#if defined(__x86_64__) || defined(_M_X64)
  const Isa isa = currentIsa();
#endif
  const long per = 64;  // rows of w per task (64 × K floats: a few hundred KB at AlexNet sizes)
  parallelFor(static_cast<int>((N + per - 1) / per), [&](int t, int) {
    const long f0 = t * per, f1 = std::min(N, f0 + per);
#if defined(__x86_64__) || defined(_M_X64)
    if (isa == Isa::Avx512)
      gemvTAvx512(M, f0, f1, K, A, lda, B, ldb, acc, C, ldc);
    else if (isa == Isa::Avx2)
      gemvTAvx2(M, f0, f1, K, A, lda, B, ldb, acc, C, ldc);
    else
#endif
      gemvTScalar(M, f0, f1, K, A, lda, B, ldb, acc, C, ldc);
  });
}

}  // namespace anative
