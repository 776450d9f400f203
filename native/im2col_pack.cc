// Implicit im2col (see im2col_pack.h). A packed micro-panel is [kc][32]: 32 lanes of the GEMM's
// width (columns q = j0…j0+31), kc steps of its depth (rows r = p0…). Element (r, q) is
//   x[colOff[q] + rowOff[r]], valid where 0 ≤ colIh[q] + rowKi[r] < H and
//   0 ≤ colIw[q] + rowKj[r] < W (padding reads 0),
// loaded as a few masked contiguous runs where the columns allow (stride 1), else gathered.
// AVX-512 only: the GEMM's AVX-512 micro-kernel is the one 32 wide (callers check the width).
#include "im2col_pack.h"

#include <immintrin.h>

#include <algorithm>

namespace anative {

Im2colPanels::Im2colPanels(const float* x, const ConvGeom& g, long n0, long m, long c0)
    : base_(x + (n0 * g.cIn + c0) * g.h * g.w), h_(g.h), w_(g.w) {
  const long P = g.ho * g.wo, kk = g.kh * g.kw;
  nCols_ = m * P;
  nRows_ = (g.cIn / g.groups) * kk;
  colOff_.assign(nCols_ + 32, 0);
  colIh_.assign(nCols_ + 32, 0);
  colIw_.assign(nCols_ + 32, 0);
  for (long i = 0, q = 0; i < m; i++)
    for (long oh = 0; oh < g.ho; oh++)
      for (long ow = 0; ow < g.wo; ow++, q++) {
        const long ih = oh * g.stride - g.pad, iw = ow * g.stride - g.pad;
        colOff_[q] = static_cast<int32_t>(i * g.cIn * g.h * g.w + ih * g.w + iw);
        colIh_[q] = static_cast<int32_t>(ih);
        colIw_[q] = static_cast<int32_t>(iw);
      }
  rowOff_.assign(nRows_ + 32, 0);
  rowKi_.assign(nRows_ + 32, 0);
  rowKj_.assign(nRows_ + 32, 0);
  for (long r = 0; r < nRows_; r++) {
    const long c = r / kk, ki = (r / g.kw) % g.kh, kj = r % g.kw;
    rowOff_[r] = static_cast<int32_t>(c * g.h * g.w + ki * g.w + kj);
    rowKi_[r] = static_cast<int32_t>(ki);
    rowKj_[r] = static_cast<int32_t>(kj);
  }
}

namespace {

// dst[k][0..32) for k < kc: lanes l take the "lane" tables at l0 + l (valid for l < cols), each
// step k the "step" tables at s0 + k. off/ih/iw: lane tables; soff/sih/siw: step tables.
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))
void gatherPanel(const float* base, long H, long W, const int32_t* off, const int32_t* ih,
                 const int32_t* iw, long cols, const int32_t* soff, const int32_t* sih,
                 const int32_t* siw, long kc, float* dst) {
  const __mmask16 live0 = cols >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << cols) - 1);
  const __mmask16 live1 =
      cols >= 32 ? 0xFFFF : cols <= 16 ? 0 : static_cast<__mmask16>((1u << (cols - 16)) - 1);
  const __m512i off0 = _mm512_loadu_si512(off), off1 = _mm512_loadu_si512(off + 16);
  const __m512i ih0 = _mm512_loadu_si512(ih), ih1 = _mm512_loadu_si512(ih + 16);
  const __m512i iw0 = _mm512_loadu_si512(iw), iw1 = _mm512_loadu_si512(iw + 16);
  const __m512i hv = _mm512_set1_epi32(static_cast<int32_t>(H));
  const __m512i wv = _mm512_set1_epi32(static_cast<int32_t>(W));
  for (long k = 0; k < kc; k++) {
    const __m512i so = _mm512_set1_epi32(soff[k]);
    const __m512i sh = _mm512_set1_epi32(sih[k]);
    const __m512i sw = _mm512_set1_epi32(siw[k]);
    // Unsigned compares: a negative row or column is a huge unsigned value, so < H fails too.
    const __mmask16 m0 = _mm512_mask_cmplt_epu32_mask(
        _mm512_mask_cmplt_epu32_mask(live0, _mm512_add_epi32(ih0, sh), hv),
        _mm512_add_epi32(iw0, sw), wv);
    const __mmask16 m1 = _mm512_mask_cmplt_epu32_mask(
        _mm512_mask_cmplt_epu32_mask(live1, _mm512_add_epi32(ih1, sh), hv),
        _mm512_add_epi32(iw1, sw), wv);
    const __m512 v0 = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m0, _mm512_add_epi32(off0, so),
                                               base, 4);
    const __m512 v1 = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m1, _mm512_add_epi32(off1, so),
                                               base, 4);
    _mm512_store_ps(dst + k * 32, v0);
    _mm512_store_ps(dst + k * 32 + 16, v1);
  }
}

// The forward panel when consecutive columns often read consecutive addresses (stride 1: the
// columns of one output row): each 16-lane half splits into runs of consecutive offsets, and
// each run is one masked load (lanes of the run read base[run offset + lane]) instead of 16
// gathered elements. Returns false, doing nothing, where a half has more than MAX_RUNS runs.
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))
bool runPanel(const float* base, long H, long W, const int32_t* off, const int32_t* ih,
              const int32_t* iw, long cols, const int32_t* soff, const int32_t* sih,
              const int32_t* siw, long kc, float* dst) {
  constexpr int MAX_RUNS = 4;
  __mmask16 runMask[2][MAX_RUNS];
  long runOff[2][MAX_RUNS];
  int runs[2] = {0, 0};
  for (int h = 0; h < 2; h++)
    for (long l = 0; l < 16 && h * 16 + l < cols; l++) {
      const long q = h * 16 + l;
      if (l == 0 || off[q] != off[q - 1] + 1) {
        if (runs[h] == MAX_RUNS) return false;
        runMask[h][runs[h]] = 0;
        runOff[h][runs[h]] = off[q] - l;
        runs[h]++;
      }
      runMask[h][runs[h] - 1] |= static_cast<__mmask16>(1u << l);
    }
  const __m512i ih0 = _mm512_loadu_si512(ih), ih1 = _mm512_loadu_si512(ih + 16);
  const __m512i iw0 = _mm512_loadu_si512(iw), iw1 = _mm512_loadu_si512(iw + 16);
  const __m512i hv = _mm512_set1_epi32(static_cast<int32_t>(H));
  const __m512i wv = _mm512_set1_epi32(static_cast<int32_t>(W));
  for (long k = 0; k < kc; k++) {
    const __m512i sh = _mm512_set1_epi32(sih[k]);
    const __m512i sw = _mm512_set1_epi32(siw[k]);
    const __mmask16 valid[2] = {
        _mm512_mask_cmplt_epu32_mask(_mm512_cmplt_epu32_mask(_mm512_add_epi32(ih0, sh), hv),
                                     _mm512_add_epi32(iw0, sw), wv),
        _mm512_mask_cmplt_epu32_mask(_mm512_cmplt_epu32_mask(_mm512_add_epi32(ih1, sh), hv),
                                     _mm512_add_epi32(iw1, sw), wv)};
    const float* src = base + soff[k];
    for (int h = 0; h < 2; h++) {
      __m512 v = _mm512_setzero_ps();
      for (int r = 0; r < runs[h]; r++)  // masked-off lanes are not read (no fault past an edge)
        v = _mm512_mask_loadu_ps(v, runMask[h][r] & valid[h], src + runOff[h][r]);
      _mm512_store_ps(dst + k * 32 + h * 16, v);
    }
  }
  return true;
}

}  // namespace

// Lanes: columns j0…j0+cols; steps: rows p0…p0+kc.
void Im2colPanels::pack(long j0, long cols, long p0, long kc, float* dst) const {
  const int32_t *off = colOff_.data() + j0, *ih = colIh_.data() + j0, *iw = colIw_.data() + j0;
  const int32_t *soff = rowOff_.data() + p0, *sih = rowKi_.data() + p0, *siw = rowKj_.data() + p0;
  if (!runPanel(base_, h_, w_, off, ih, iw, cols, soff, sih, siw, kc, dst))
    gatherPanel(base_, h_, w_, off, ih, iw, cols, soff, sih, siw, kc, dst);
}

}  // namespace anative
