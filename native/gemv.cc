// The few-row GEMV (gemv.h) for each ISA.
#include "gemv.h"

#include <algorithm>
#include <cstdint>

#include "bf16.h"

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

// Elements of w per 64-byte line: float32, or bfloat16 (gemvTBf16).
template <class W>
constexpr long VALUES_PER_LINE = 64 / static_cast<long>(sizeof(W));

// load8: 8 values of a row from p on as float32, `left` of them in the row (zero past it): a
// float32 row as loadUpTo8 (simd.h), a bfloat16 one widened (AVX2 has no 16-bit masked load:
// the last values of a row go through a zeroed copy).
ANATIVE_AVX2_INLINE __m256 load8(const float* p, long left) {
  return loadUpTo8(p, left);
}
ANATIVE_AVX2_INLINE __m256 load8(const uint16_t* p, long left) {
  __m128i h;
  if (left >= 8) {
    h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  } else {
    alignas(16) uint16_t tail[8] = {};
    std::copy(p, p + left, tail);
    h = _mm_load_si128(reinterpret_cast<const __m128i*>(tail));
  }
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

// AVX2: R rows of w at a time (4, or 2 for 3–4 rows of x: the sums must stay in 16 registers),
// each streamed once for all MM rows of x, with gemvTAvx512's prefetch (the same byte distance
// for a bfloat16 w, whose 8 values per step are widened as they are loaded: the same FMAs on the
// same values as the float32 w widened whole).
template <int MM, class W>
ANATIVE_TARGET_AVX2 void gemvRowsAvx2(long f0, long f1, long K, const float* A, long lda,
                                      const W* B, long ldb, bool acc, float* C, long ldc) {
  constexpr int R = MM <= 2 ? 4 : 2;
  constexpr long ahead = GEMV_PREFETCH * 4 / static_cast<long>(sizeof(W));
  for (long f = f0; f < f1; f += R) {
    const long nf = std::min<long>(R, f1 - f);
    __m256 s[R][MM];
    for (int r = 0; r < R; r++)
      for (int m = 0; m < MM; m++) s[r][m] = _mm256_setzero_ps();
    for (long k = 0; k < K; k += 8) {
      __m256 xv[MM];
      for (int m = 0; m < MM; m++) xv[m] = load8(A + m * lda + k, K - k);
      for (int r = 0; r < R; r++) {
        if (r >= nf) break;
        const W* w = B + (f + r) * ldb + k;
        if (k % VALUES_PER_LINE<W> == 0)
          _mm_prefetch(reinterpret_cast<const char*>(w + ahead), _MM_HINT_T0);
        const __m256 wv = load8(w, K - k);
        for (int m = 0; m < MM; m++) s[r][m] = _mm256_fmadd_ps(xv[m], wv, s[r][m]);
      }
    }
    for (int r = 0; r < nf; r++)
      for (int m = 0; m < MM; m++) {
        const __m128 h =
            _mm_add_ps(_mm256_castps256_ps128(s[r][m]), _mm256_extractf128_ps(s[r][m], 1));
        const __m128 q = _mm_add_ps(h, _mm_movehl_ps(h, h));
        const float v = _mm_cvtss_f32(_mm_add_ss(q, _mm_movehdup_ps(q)));
        float& c = C[m * ldc + f + r];
        c = acc ? c + v : v;
      }
  }
}

template <class W>
void gemvTAvx2(long M, long f0, long f1, long K, const float* A, long lda, const W* B, long ldb,
               bool acc, float* C, long ldc) {
  switch (M) {
    case 1:
      return gemvRowsAvx2<1>(f0, f1, K, A, lda, B, ldb, acc, C, ldc);
    case 2:
      return gemvRowsAvx2<2>(f0, f1, K, A, lda, B, ldb, acc, C, ldc);
    case 3:
      return gemvRowsAvx2<3>(f0, f1, K, A, lda, B, ldb, acc, C, ldc);
    default:
      return gemvRowsAvx2<4>(f0, f1, K, A, lda, B, ldb, acc, C, ldc);
  }
}
#endif  // x86-64

// w's element as float32: a float as it is, a bfloat16 widened.
inline float wideValue(float v) {
  return v;
}
inline float wideValue(uint16_t v) {
  return bf16ToFloat(v);
}

template <class W>
void gemvTScalar(long M, long f0, long f1, long K, const float* A, long lda, const W* B, long ldb,
                 bool acc, float* C, long ldc) {
  for (long f = f0; f < f1; f++)
    for (long m = 0; m < M; m++) {
      const float* x = A + m * lda;
      const W* w = B + f * ldb;
      float s[4] = {0.f, 0.f, 0.f, 0.f};
      long k = 0;
      for (; k + 4 <= K; k += 4)
        for (int u = 0; u < 4; u++) s[u] += x[k + u] * wideValue(w[k + u]);
      float v = (s[0] + s[1]) + (s[2] + s[3]);
      for (; k < K; k++) v += x[k] * wideValue(w[k]);
      float& c = C[m * ldc + f];
      c = acc ? c + v : v;
    }
}

// rows of w per task (64 × K values: a few hundred KB at AlexNet sizes)
constexpr long ROWS_PER_TASK = 64;
int tasks(long N) {
  return static_cast<int>((N + ROWS_PER_TASK - 1) / ROWS_PER_TASK);
}

}  // namespace

void gemvT(long M, long N, long K, const float* A, long lda, const float* B, long ldb, bool acc,
           float* C, long ldc) {
#if defined(__x86_64__) || defined(_M_X64)
  const Isa isa = currentIsa();
#endif
  parallelFor(tasks(N), [&](int t, int) {
    const long f0 = t * ROWS_PER_TASK, f1 = std::min(N, f0 + ROWS_PER_TASK);
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

void gemvTBf16(long M, long N, long K, const float* A, long lda, const uint16_t* B, long ldb,
               float* C, long ldc) {
#if defined(__x86_64__) || defined(_M_X64)
  const bool avx2 = currentIsa() != Isa::Scalar;
#endif
  parallelFor(tasks(N), [&](int t, int) {
    const long f0 = t * ROWS_PER_TASK, f1 = std::min(N, f0 + ROWS_PER_TASK);
#if defined(__x86_64__) || defined(_M_X64)
    if (avx2)
      gemvTAvx2(M, f0, f1, K, A, lda, B, ldb, false, C, ldc);
    else
#endif
      gemvTScalar(M, f0, f1, K, A, lda, B, ldb, false, C, ldc);
  });
}

}  // namespace anative
