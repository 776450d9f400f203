// The GEMM micro-kernels (gemm_kernels.h). ReLU in the epilogues keeps NaN (relu.h).
#include "gemm_kernels.h"

#include "relu.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

namespace anative {
namespace {

#if defined(__x86_64__) || defined(_M_X64)
// PREFETCH: also prefetch into L2, one line per depth step, the next depth slice of the MR rows
// of an unpacked A being streamed: pf[r·pfStride + 16·l] for row r = k / 16 < MR and line
// l = k mod 16 (a 256-deep slice: 16 lines of each row). The tall, skinny products (fc layers at
// batch 32) read w once, at memory speed only if the next slice arrives while this one computes.
template <int MR, int AS, bool PREFETCH>
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma"), always_inline)) inline void
tileAvx512(long kc, const float* a, const float* b, float* c, long ldc, bool acc, const float* bias,
           bool relu, const float* pf, long pfStride) {
  __m512 c0[MR], c1[MR];
#pragma GCC unroll 32
  for (int i = 0; i < MR; i++) {
    c0[i] = c1[i] = _mm512_setzero_ps();
    // The C tile is read (acc) and written after the depth loop: fetched meanwhile, its misses
    // overlap the FMAs instead of following them (a conv's C is revisited once per depth
    // slice, from L3: 192 × 729 floats for conv2 do not stay in L2 beside the packed blocks).
    const char* ci = reinterpret_cast<const char*>(c + i * ldc);
    _mm_prefetch(ci, _MM_HINT_T0);
    _mm_prefetch(ci + 64, _MM_HINT_T0);
    _mm_prefetch(ci + 124, _MM_HINT_T0);
  }
  for (long k = 0; k < kc; k++) {
    if constexpr (PREFETCH) {
      if (pf && (k >> 4) < MR)
        _mm_prefetch(reinterpret_cast<const char*>(pf + (k >> 4) * pfStride + ((k & 15) << 4)),
                     _MM_HINT_T1);
    }
    __m512 b0 = _mm512_load_ps(b);
    __m512 b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 32
    for (int i = 0; i < MR; i++) {
      __m512 av = _mm512_set1_ps(a[i]);
      c0[i] = _mm512_fmadd_ps(av, b0, c0[i]);
      c1[i] = _mm512_fmadd_ps(av, b1, c1[i]);
    }
    a += AS;
    b += 32;
  }
  if (acc) {
#pragma GCC unroll 32
    for (int i = 0; i < MR; i++) {
      float* ci = c + i * ldc;
      c0[i] = _mm512_add_ps(_mm512_loadu_ps(ci), c0[i]);
      c1[i] = _mm512_add_ps(_mm512_loadu_ps(ci + 16), c1[i]);
    }
  }
  if (bias) {
#pragma GCC unroll 32
    for (int i = 0; i < MR; i++) {
      const __m512 bv = _mm512_set1_ps(bias[i]);
      c0[i] = _mm512_add_ps(c0[i], bv);
      c1[i] = _mm512_add_ps(c1[i], bv);
    }
  }
  if (relu) {
#pragma GCC unroll 32
    for (int i = 0; i < MR; i++) {  // max(0, x): NaN passes (relu.h)
      c0[i] = _mm512_max_ps(_mm512_setzero_ps(), c0[i]);
      c1[i] = _mm512_max_ps(_mm512_setzero_ps(), c1[i]);
    }
  }
#pragma GCC unroll 32
  for (int i = 0; i < MR; i++) {
    float* ci = c + i * ldc;
    _mm512_storeu_ps(ci, c0[i]);
    _mm512_storeu_ps(ci + 16, c1[i]);
  }
}

template <int MR, int AS = MR>
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma"))) void kernelAvx512(
    long kc, const float* a, const float* b, float* c, long ldc, bool acc, const float* bias,
    bool relu) {
  tileAvx512<MR, AS, false>(kc, a, b, c, ldc, acc, bias, relu, nullptr, 0);
}

// The AVX-512 tile's left half, MR×16, for an edge panel of ≤ 16 columns (b keeps its 32-float
// stride): a 13×13 map is 5 panels and 9 columns, and a full tile there did 3.5× the work.
template <int MR, int AS = MR>
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma"))) void kernelAvx512Half(
    long kc, const float* a, const float* b, float* c, long ldc, bool acc, const float* bias,
    bool relu) {
  __m512 c0[MR];
#pragma GCC unroll 32
  for (int i = 0; i < MR; i++) c0[i] = _mm512_setzero_ps();
  for (long k = 0; k < kc; k++) {
    const __m512 b0 = _mm512_load_ps(b);
#pragma GCC unroll 32
    for (int i = 0; i < MR; i++) c0[i] = _mm512_fmadd_ps(_mm512_set1_ps(a[i]), b0, c0[i]);
    a += AS;
    b += 32;
  }
#pragma GCC unroll 32
  for (int i = 0; i < MR; i++) {
    float* ci = c + i * ldc;
    __m512 v = c0[i];
    if (acc) v = _mm512_add_ps(_mm512_loadu_ps(ci), v);
    if (bias) v = _mm512_add_ps(v, _mm512_set1_ps(bias[i]));
    if (relu) v = _mm512_max_ps(_mm512_setzero_ps(), v);  // NaN passes (relu.h)
    _mm512_storeu_ps(ci, v);
  }
}

// The AVX2 6×16 tile. ROWS: A unpacked, row i at a + i·lda (RowsAFn, as kernelAvx512RowsA), with
// the next depth slice of those rows prefetched (pf, as tileAvx512); else the packed panel
// [kc][MR]. The same FMAs in the same order either way.
template <int MR, bool ROWS>
__attribute__((target("avx2,fma"), always_inline)) inline void tileAvx2(
    long kc, const float* a, long lda, const float* b, float* c, long ldc, bool acc,
    const float* bias, bool relu, const float* pf, long pfStride) {
  __m256 c0[MR], c1[MR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) c0[i] = c1[i] = _mm256_setzero_ps();
  for (long k = 0; k < kc; k++) {
    if constexpr (ROWS) {
      if (pf && (k >> 4) < MR)
        _mm_prefetch(reinterpret_cast<const char*>(pf + (k >> 4) * pfStride + ((k & 15) << 4)),
                     _MM_HINT_T1);
    }
    __m256 b0 = _mm256_load_ps(b);
    __m256 b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
      __m256 av = _mm256_broadcast_ss(ROWS ? a + i * lda + k : a + i);
      c0[i] = _mm256_fmadd_ps(av, b0, c0[i]);
      c1[i] = _mm256_fmadd_ps(av, b1, c1[i]);
    }
    if constexpr (!ROWS) a += MR;
    b += 16;
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) {
    float* ci = c + i * ldc;
    if (acc) {
      c0[i] = _mm256_add_ps(_mm256_loadu_ps(ci), c0[i]);
      c1[i] = _mm256_add_ps(_mm256_loadu_ps(ci + 8), c1[i]);
    }
    if (bias) {
      const __m256 bv = _mm256_set1_ps(bias[i]);
      c0[i] = _mm256_add_ps(c0[i], bv);
      c1[i] = _mm256_add_ps(c1[i], bv);
    }
    if (relu) {  // max(0, x): NaN passes (relu.h)
      c0[i] = _mm256_max_ps(_mm256_setzero_ps(), c0[i]);
      c1[i] = _mm256_max_ps(_mm256_setzero_ps(), c1[i]);
    }
    _mm256_storeu_ps(ci, c0[i]);
    _mm256_storeu_ps(ci + 8, c1[i]);
  }
}

template <int MR>
__attribute__((target("avx2,fma"))) void kernelAvx2(long kc, const float* a, const float* b,
                                                    float* c, long ldc, bool acc, const float* bias,
                                                    bool relu) {
  tileAvx2<MR, false>(kc, a, 0, b, c, ldc, acc, bias, relu, nullptr, 0);
}
#endif  // x86-64

void kernelScalar(long kc, const float* a, const float* b, float* c, long ldc, bool acc,
                  const float* bias, bool relu) {
  constexpr int MR = 4, NR = 8;
  float t[MR][NR] = {};
  for (long k = 0; k < kc; k++) {
    for (int i = 0; i < MR; i++)
      for (int j = 0; j < NR; j++) t[i][j] += a[i] * b[j];
    a += MR;
    b += NR;
  }
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR; j++) {
      float v = acc ? c[i * ldc + j] + t[i][j] : t[i][j];
      if (bias) v += bias[i];
      if (relu) v = anative::relu(v);
      c[i * ldc + j] = v;
    }
}

#if defined(__x86_64__) || defined(_M_X64)
const KernelFn kEdgeAvx512[14] = {nullptr,
                                  kernelAvx512<1, 14>,
                                  kernelAvx512<2, 14>,
                                  kernelAvx512<3, 14>,
                                  kernelAvx512<4, 14>,
                                  kernelAvx512<5, 14>,
                                  kernelAvx512<6, 14>,
                                  kernelAvx512<7, 14>,
                                  kernelAvx512<8, 14>,
                                  kernelAvx512<9, 14>,
                                  kernelAvx512<10, 14>,
                                  kernelAvx512<11, 14>,
                                  kernelAvx512<12, 14>,
                                  kernelAvx512<13, 14>};
const KernelFn kEdgeHalfAvx512[14] = {nullptr,
                                      kernelAvx512Half<1, 14>,
                                      kernelAvx512Half<2, 14>,
                                      kernelAvx512Half<3, 14>,
                                      kernelAvx512Half<4, 14>,
                                      kernelAvx512Half<5, 14>,
                                      kernelAvx512Half<6, 14>,
                                      kernelAvx512Half<7, 14>,
                                      kernelAvx512Half<8, 14>,
                                      kernelAvx512Half<9, 14>,
                                      kernelAvx512Half<10, 14>,
                                      kernelAvx512Half<11, 14>,
                                      kernelAvx512Half<12, 14>,
                                      kernelAvx512Half<13, 14>};
#endif  // x86-64

}  // namespace

#if defined(__x86_64__) || defined(_M_X64)
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma"))) void kernelAvx512Prefetch(
    long kc, const float* a, const float* b, float* c, long ldc, bool acc, const float* pf,
    long pfStride) {
  tileAvx512<14, 14, true>(kc, a, b, c, ldc, acc, nullptr, false, pf, pfStride);
}

// The 14×32 tile reading A unpacked (RowsAFn): row i of the tile at a + i·lda, depth contiguous
// (w of an fc layer, yᵀ = w·xᵀ). The same FMAs in the same order as tileAvx512 on the packed
// panel (so the same result), without the transposing pack, which took a third of fc6's time at
// batch 32 waiting for w: here w's loads feed the FMAs directly and the out-of-order core
// overlaps them. The prefetch of the next slice is tileAvx512's.
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma"))) void kernelAvx512RowsA(
    long kc, const float* a, long lda, const float* b, float* c, long ldc, bool acc,
    const float* pf, long pfStride) {
  constexpr int MR = 14;
  __m512 c0[MR], c1[MR];
  const float* rows[MR];
#pragma GCC unroll 32
  for (int i = 0; i < MR; i++) {
    c0[i] = c1[i] = _mm512_setzero_ps();
    rows[i] = a + i * lda;
    const char* ci = reinterpret_cast<const char*>(c + i * ldc);
    _mm_prefetch(ci, _MM_HINT_T0);
    _mm_prefetch(ci + 64, _MM_HINT_T0);
    _mm_prefetch(ci + 124, _MM_HINT_T0);
  }
  for (long k = 0; k < kc; k++) {
    if (pf && (k >> 4) < MR)
      _mm_prefetch(reinterpret_cast<const char*>(pf + (k >> 4) * pfStride + ((k & 15) << 4)),
                   _MM_HINT_T1);
    const __m512 b0 = _mm512_load_ps(b);
    const __m512 b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 32
    for (int i = 0; i < MR; i++) {
      const __m512 av = _mm512_set1_ps(rows[i][k]);
      c0[i] = _mm512_fmadd_ps(av, b0, c0[i]);
      c1[i] = _mm512_fmadd_ps(av, b1, c1[i]);
    }
    b += 32;
  }
#pragma GCC unroll 32
  for (int i = 0; i < MR; i++) {
    float* ci = c + i * ldc;
    if (acc) {
      c0[i] = _mm512_add_ps(_mm512_loadu_ps(ci), c0[i]);
      c1[i] = _mm512_add_ps(_mm512_loadu_ps(ci + 16), c1[i]);
    }
    _mm512_storeu_ps(ci, c0[i]);
    _mm512_storeu_ps(ci + 16, c1[i]);
  }
}

// kernelAvx2<6> reading A unpacked (RowsAFn).
__attribute__((target("avx2,fma"))) void kernelAvx2RowsA(long kc, const float* a, long lda,
                                                         const float* b, float* c, long ldc,
                                                         bool acc, const float* pf, long pfStride) {
  tileAvx2<6, true>(kc, a, lda, b, c, ldc, acc, nullptr, false, pf, pfStride);
}

#endif  // x86-64

// One micro-tile of C (rows × cols ≤ MR × NR) from packed panels, in place where a kernel fits
// it — the full tile, an r-row edge kernel (full or half width), the half kernel for exactly
// NR/2 columns — else through a scratch tile.
void kernelTile(const KernelSpec& ks, long kc, const float* ap, const float* bp, float* c, long ldc,
                long rows, long cols, bool acc, const float* bias, bool relu) {
  const int mr = ks.mr, nr = ks.nr;
  const KernelFn fn = ks.half && 2 * cols <= nr ? ks.half : ks.fn;
  if (rows < mr && ks.edge && (cols == nr || (ks.edgeHalf && 2 * cols == nr))) {
    (cols == nr ? ks.edge : ks.edgeHalf)[rows](kc, ap, bp, c, ldc, acc, bias, relu);
  } else if (rows == mr && cols == nr) {
    ks.fn(kc, ap, bp, c, ldc, acc, bias, relu);
  } else if (rows == mr && fn == ks.half && 2 * cols == nr) {
    fn(kc, ap, bp, c, ldc, acc, bias, relu);
  } else {
    alignas(64) float tile[16 * 32];
    if (acc)
      for (long r = 0; r < rows; r++)
        for (long t = 0; t < cols; t++) tile[r * nr + t] = c[r * ldc + t];
    fn(kc, ap, bp, tile, nr, acc, bias, relu);
    for (long r = 0; r < rows; r++)
      for (long t = 0; t < cols; t++) c[r * ldc + t] = tile[r * nr + t];
  }
}

KernelSpec specFor(Isa isa) {
  switch (isa) {
#if defined(__x86_64__) || defined(_M_X64)
    case Isa::Avx512:
      return {14,
              32,
              kernelAvx512<14>,
              true,
              kernelAvx512Half<14>,
              kEdgeAvx512,
              kEdgeHalfAvx512,
              kernelAvx512RowsA};
    case Isa::Avx2:
      return {6, 16, kernelAvx2<6>, false, nullptr, nullptr, nullptr, kernelAvx2RowsA};
#endif
    default:
      return {4, 8, kernelScalar, false};
  }
}

}  // namespace anative
