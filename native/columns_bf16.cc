// Packing a Bf16Columns operand into the bfloat16 GEMM's B panels (columns_bf16.h).
#include "columns_bf16.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include <algorithm>

#include "runs.h"
#include "transpose16.h"

namespace anative {
namespace {

#define ANATIVE_COLUMNS __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))

constexpr int NR = 32;

// 32 lanes of offsets: their runs, or (too many runs) the offsets themselves for two gathers.
struct Lanes {
  Runs runs;
  __m512i off[2];
  __mmask16 live[2];
};

ANATIVE_COLUMNS Lanes lanesOf(const int32_t* off, long live) {
  Lanes p;
  p.runs = findRuns(off, live);
  for (int h = 0; h < 2; h++) {
    const long l = std::clamp(live - 16 * h, 0L, 16L);
    p.live[h] = static_cast<__mmask16>((1u << l) - 1);
    p.off[h] = _mm512_maskz_loadu_epi32(p.live[h], off + 16 * h);
  }
  return p;
}

// at[off[l]] for the 32 lanes l (zero past the live ones). The gathers read 32-bit words at the
// elements' addresses and keep their low halves (Bf16Columns: the element after each one is
// readable).
ANATIVE_COLUMNS inline __m512i loadAt(const uint16_t* at, const Lanes& p) {
  if (p.runs.n == 0) {
    const __m512i z = _mm512_setzero_si512();
    const __m256i g0 =
        _mm512_cvtepi32_epi16(_mm512_mask_i32gather_epi32(z, p.live[0], p.off[0], at, 2));
    const __m256i g1 =
        _mm512_cvtepi32_epi16(_mm512_mask_i32gather_epi32(z, p.live[1], p.off[1], at, 2));
    return _mm512_inserti64x4(_mm512_castsi256_si512(g0), g1, 1);
  }
  __m512i v = _mm512_setzero_si512();
  for (int i = 0; i < p.runs.n; i++)
    v = _mm512_mask_loadu_epi16(v, p.runs.mask[i], at + p.runs.off[i]);
  return v;
}

// The 16 floats of a bfloat16 half (a bfloat16 is the upper half of its float32).
ANATIVE_COLUMNS inline __m512 widen(__m256i h) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// Runs along the columns (the forward's col): a panel row k is one load per run.
ANATIVE_COLUMNS void pairsAlongColumns(const Bf16Columns& B, long n, long j0, long p0, long kc,
                                       uint32_t* dst) {
  const Lanes p = lanesOf(B.colOffset + j0, std::min<long>(NR, n - j0));
  // Word t of the interleave: t even → lane t/2 of the even row, t odd → of the odd row (index
  // bit 5 selects the second operand); the high half of the panel row takes lanes 16…31.
  const __m512i t = _mm512_set_epi16(31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16,
                                     15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  const __m512i lo = _mm512_or_si512(
      _mm512_srli_epi16(t, 1), _mm512_slli_epi16(_mm512_and_si512(t, _mm512_set1_epi16(1)), 5));
  const __m512i hi = _mm512_add_epi16(lo, _mm512_set1_epi16(16));
  for (long kp = 0; kp < (kc + 1) / 2; kp++) {
    const long k = p0 + 2 * kp;
    const __m512i even = loadAt(B.base + B.rowOffset[k], p);
    const __m512i odd =
        2 * kp + 1 < kc ? loadAt(B.base + B.rowOffset[k + 1], p) : _mm512_setzero_si512();
    _mm512_storeu_si512(dst + kp * NR, _mm512_permutex2var_epi16(even, lo, odd));
    _mm512_storeu_si512(dst + kp * NR + 16, _mm512_permutex2var_epi16(even, hi, odd));
  }
}

ANATIVE_COLUMNS void wideAlongColumns(const Bf16Columns& B, long n, long j0, long p0, long kc,
                                      float* dst) {
  const Lanes p = lanesOf(B.colOffset + j0, std::min<long>(NR, n - j0));
  for (long k = 0; k < kc; k++) {
    const __m512i v = loadAt(B.base + B.rowOffset[p0 + k], p);
    _mm512_storeu_ps(dst + k * NR, widen(_mm512_castsi512_si256(v)));
    _mm512_storeu_ps(dst + k * NR + 16, widen(_mm512_extracti64x4_epi64(v, 1)));
  }
}

// Runs along the depth (dW's colᵀ): per 32 depth values and half h of the panel, the 16 columns
// [j0 + h, j0 + h + 16) loaded one load per run each (zero past the live columns) →
// store(k0, kn, h, v).
template <class Store>
ANATIVE_COLUMNS inline void alongDepth(const Bf16Columns& B, long n, long j0, long p0, long kc,
                                       const Store& store) {
  const long cols = std::min<long>(NR, n - j0);
  for (long k0 = 0; k0 < kc; k0 += 32) {
    const long kn = std::min<long>(32, kc - k0);
    const Lanes d = lanesOf(B.rowOffset + p0 + k0, kn);
    for (int h = 0; h < NR; h += 16) {
      __m512i v[16];
      for (int i = 0; i < 16; i++)
        v[i] = h + i < cols ? loadAt(B.base + B.colOffset[j0 + h + i], d) : _mm512_setzero_si512();
      store(k0, kn, h, v);
    }
  }
}

// A column's 16 pairs are 16 adjacent 32-bit words: 16 columns of them are transposed into 16
// panel rows (packAdjacent's transpose, gemm_bf16.cc).
ANATIVE_COLUMNS void pairsAlongDepth(const Bf16Columns& B, long n, long j0, long p0, long kc,
                                     uint32_t* dst) {
  alongDepth(B, n, j0, p0, kc, [&](long k0, long kn, int h, const __m512i* v) ANATIVE_COLUMNS {
    __m512 r[16];
    for (int i = 0; i < 16; i++) r[i] = _mm512_castsi512_ps(v[i]);
    transpose16(r);
    for (long kk = 0; kk < (kn + 1) / 2; kk++)
      _mm512_storeu_ps(reinterpret_cast<float*>(dst + (k0 / 2 + kk) * NR + h), r[kk]);
  });
}

// The same columns widened: depth [k0, k0 + 16) and [k0 + 16, k0 + 32) transposed apart.
ANATIVE_COLUMNS void wideAlongDepth(const Bf16Columns& B, long n, long j0, long p0, long kc,
                                    float* dst) {
  alongDepth(B, n, j0, p0, kc, [&](long k0, long kn, int h, const __m512i* v) ANATIVE_COLUMNS {
    __m512 lo[16], hi[16];
    for (int i = 0; i < 16; i++) {
      lo[i] = widen(_mm512_castsi512_si256(v[i]));
      hi[i] = widen(_mm512_extracti64x4_epi64(v[i], 1));
    }
    transpose16(lo);
    transpose16(hi);
    for (long kk = 0; kk < kn; kk++)
      _mm512_storeu_ps(dst + (k0 + kk) * NR + h, kk < 16 ? lo[kk] : hi[kk - 16]);
  });
}

}  // namespace

void packColumnsPairs(const Bf16Columns& B, long n, long j0, long p0, long kc, uint32_t* dst) {
  if (B.alongDepth)
    pairsAlongDepth(B, n, j0, p0, kc, dst);
  else
    pairsAlongColumns(B, n, j0, p0, kc, dst);
}

void packColumnsWide(const Bf16Columns& B, long n, long j0, long p0, long kc, float* dst) {
  if (B.alongDepth)
    wideAlongDepth(B, n, j0, p0, kc, dst);
  else
    wideAlongColumns(B, n, j0, p0, kc, dst);
}

}  // namespace anative

#endif  // x86-64
