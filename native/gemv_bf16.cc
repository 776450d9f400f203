// The bfloat16 GEMV (gemm_bf16.h's gemvBf16T): few rows of A times the rows of B, each row of B
// streamed once, on vdpbf16ps (levels avx512bf16 and amx) or the FMA on widened halves (avx512).
#include "gemm_bf16.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include <algorithm>

#include "isa.h"
#include "threadpool.h"
#include "transpose16.h"

namespace anative {
namespace {

#define ANATIVE_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,fma")))

ANATIVE_BF16 inline __m512bh asBh(__m512i v) {
  return reinterpret_cast<__m512bh&>(v);
}

constexpr long GEMV_PREFETCH = 512;  // bfloat16 values (1 KB) ahead in each streamed row of B

// MM rows of A times 4 rows of B at a time, 32 depth values per step: vdpbf16ps on the pairs
// (Dot), or FMAs on the widened halves (Fma: two 16-value steps).
template <int MM, bool DOT>
ANATIVE_BF16 void gemvRows(long f0, long f1, long K, const uint16_t* A, long lda, const uint16_t* B,
                           long ldb, float* C, long ldc) {
  for (long f = f0; f < f1; f += 4) {
    const long nf = std::min(4L, f1 - f);
    __m512 s[4][MM];
    for (int r = 0; r < 4; r++)
      for (int m = 0; m < MM; m++) s[r][m] = _mm512_setzero_ps();
    for (long k = 0; k < K; k += 32) {
      const __mmask32 mask =
          K - k >= 32 ? 0xFFFFFFFFu : static_cast<__mmask32>((1u << (K - k)) - 1);
      const __mmask16 lo = static_cast<__mmask16>(mask), hi = static_cast<__mmask16>(mask >> 16);
      __m512i xv[MM];    // Dot: the pairs of x
      __m512 xw[MM][2];  // Fma: x widened, depth [k, k+16) and [k+16, k+32)
      for (int m = 0; m < MM; m++) {
        if (DOT) {
          xv[m] = _mm512_maskz_loadu_epi16(mask, A + m * lda + k);
        } else {
          xw[m][0] = loadRow16(A + m * lda + k, lo);
          xw[m][1] = loadRow16(A + m * lda + k + 16, hi);
        }
      }
      for (int r = 0; r < 4; r++) {
        if (r >= nf) break;
        const uint16_t* w = B + (f + r) * ldb + k;
        _mm_prefetch(reinterpret_cast<const char*>(w + GEMV_PREFETCH), _MM_HINT_T0);
        if (DOT) {
          const __m512bh wv = asBh(_mm512_maskz_loadu_epi16(mask, w));
          for (int m = 0; m < MM; m++) s[r][m] = _mm512_dpbf16_ps(s[r][m], asBh(xv[m]), wv);
        } else {
          const __m512 w0 = loadRow16(w, lo), w1 = loadRow16(w + 16, hi);
          for (int m = 0; m < MM; m++)
            s[r][m] = _mm512_fmadd_ps(xw[m][1], w1, _mm512_fmadd_ps(xw[m][0], w0, s[r][m]));
        }
      }
    }
    for (int r = 0; r < nf; r++)
      for (int m = 0; m < MM; m++) C[m * ldc + f + r] = _mm512_reduce_add_ps(s[r][m]);
  }
}

template <bool DOT>
void gemvTask(long M, long f0, long f1, long K, const uint16_t* A, long lda, const uint16_t* B,
              long ldb, float* C, long ldc) {
  switch (M) {
    case 1:
      return gemvRows<1, DOT>(f0, f1, K, A, lda, B, ldb, C, ldc);
    case 2:
      return gemvRows<2, DOT>(f0, f1, K, A, lda, B, ldb, C, ldc);
    case 3:
      return gemvRows<3, DOT>(f0, f1, K, A, lda, B, ldb, C, ldc);
    default:
      return gemvRows<4, DOT>(f0, f1, K, A, lda, B, ldb, C, ldc);
  }
}

}  // namespace

void gemvBf16T(long M, long N, long K, const uint16_t* A, long lda, const uint16_t* B, long ldb,
               float* C, long ldc) {
  const long per = 64;                                // rows of B per task
  const bool dot = bf16DotProducts() || bf16Tiles();  // the tiles' level has vdpbf16ps
  parallelFor(static_cast<int>((N + per - 1) / per), [&](int t, int) {
    const long f0 = t * per, f1 = std::min(N, f0 + per);
    if (dot)
      gemvTask<true>(M, f0, f1, K, A, lda, B, ldb, C, ldc);
    else
      gemvTask<false>(M, f0, f1, K, A, lda, B, ldb, C, ldc);
  });
}

}  // namespace anative

#endif  // x86-64
