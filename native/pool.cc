// Max, average and adaptive-average pooling. Tasks are (image, channel) planes, which keeps
// every backward scatter inside one plane (no races) and matches the argmax convention: the
// flat index h·W + w within the plane, first maximum in row-major scan order (as PyTorch).
#include <algorithm>
#include <cstring>
#include <vector>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

#include "kernels.h"
#include "simd.h"
#include "threadpool.h"

namespace anative {
namespace {
void forPlanes(long planes, const std::function<void(long)>& fn) {
  parallelRange(planes, 4, [&](long b, long e) {
    for (long p = b; p < e; p++) fn(p);
  });
}
}  // namespace

// Max over one window by direct scan (the rule itself; used where a window row holds a NaN).
inline void maxWindowScan(const float* xp, long W, long h0, long h1, long w0, long w1, float* out,
                          int32_t* idx) {
  long bi = h0 * W + w0;
  float best = xp[bi];
  for (long ih = h0; ih < h1; ih++)
    for (long iw = w0; iw < w1; iw++) {
      const float v = xp[ih * W + iw];
      // A later element wins only if strictly greater (first maximum in scan order) or NaN
      // (NaN propagates: PyTorch's `val > max || isnan(val)`).
      if (v > best || v != v) {
        best = v;
        bi = ih * W + iw;
      }
    }
  *out = best;
  if (idx) *idx = static_cast<int32_t>(bi);
}

// Two passes per output row: a vertical max over the window's rows for every input column
// (contiguous, vectorised), then a horizontal max over each window's columns. Ties keep the
// row-major first maximum: equal values prefer the smaller row, then the smaller column.
// Both passes are branch-free (selects, not jumps): on real activations the comparisons are
// data-dependent coin flips, and the branchy form ran 5× slower than on synthetic data.

// vm[iw] = max over rows [h0, h1) of plane xp [H, W] at column iw, vr[iw] = its first row;
// *nan = whether any element read is NaN. The portable path (AVX-512 and AVX2 have their own,
// verticalMaxAvx512Explicit and verticalMaxAvx2Explicit).
static void verticalMax(const float* __restrict xp, long W, long h0, long h1, float* __restrict vm,
                        int32_t* __restrict vr, bool* nanOut) {
  const float* __restrict r0 = xp + h0 * W;
  int nan = 0;
  for (long iw = 0; iw < W; iw++) {
    vm[iw] = r0[iw];
    vr[iw] = static_cast<int32_t>(h0);
    nan |= r0[iw] != r0[iw];
  }
  for (long ih = h0 + 1; ih < h1; ih++) {
    const float* __restrict r = xp + ih * W;
    const int32_t ihi = static_cast<int32_t>(ih);
    for (long iw = 0; iw < W; iw++) {
      const float v = r[iw], m = vm[iw];
      const bool gt = v > m;
      vm[iw] = gt ? v : m;
      vr[iw] = gt ? ihi : vr[iw];
      nan |= v != v;
    }
  }
  *nanOut = nan != 0;
}
#if defined(__x86_64__) || defined(_M_X64)
// The vertical pass in AVX-512, 16 columns at a time with a masked tail (the auto-vectorised
// loop above left branchy scalar remainders that cost more than the vector part at W = 13).
ANATIVE_TARGET_AVX512 bool verticalMaxAvx512Explicit(const float* xp, long W, long h0, long h1,
                                                     float* vm, int32_t* vr) {
  __mmask16 nan = 0;
  for (long iw = 0; iw < W; iw += 16) {
    const __mmask16 live = W - iw >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << (W - iw)) - 1);
    __m512 m = _mm512_maskz_loadu_ps(live, xp + h0 * W + iw);
    __m512i r = _mm512_set1_epi32(static_cast<int32_t>(h0));
    nan |= _mm512_cmp_ps_mask(m, m, _CMP_UNORD_Q);
    for (long ih = h0 + 1; ih < h1; ih++) {
      const __m512 v = _mm512_maskz_loadu_ps(live, xp + ih * W + iw);
      const __mmask16 gt = _mm512_cmp_ps_mask(v, m, _CMP_GT_OQ);
      nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
      m = _mm512_mask_mov_ps(m, gt, v);
      r = _mm512_mask_mov_epi32(r, gt, _mm512_set1_epi32(static_cast<int32_t>(ih)));
    }
    _mm512_mask_storeu_ps(vm + iw, live, m);
    _mm512_mask_storeu_epi32(vr + iw, live, r);
  }
  return nan != 0;
}

// Horizontal pass for the outputs [ow0, ow1) whose windows lie inside the row (no clipping):
// y[ow] = max of vm over columns [ow·s − pad, +k), argmax = vr·W + column of the winner (the
// tie rule as above). 16 outputs at a time: their window columns are gathered with stride s.
// Returns ow1 (the outputs done end there).
ANATIVE_TARGET_AVX512 long horizontalMaxAvx512(const float* vm, const int32_t* vr, long W, long k,
                                               long s, long pad, long ow0, long ow1, float* y,
                                               int32_t* am) {
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i stride = _mm512_set1_epi32(static_cast<int32_t>(s));
  const __m512i width = _mm512_set1_epi32(static_cast<int32_t>(W));
  for (long ow = ow0; ow < ow1; ow += 16) {
    const long n = std::min(16L, ow1 - ow);
    const __mmask16 live = static_cast<__mmask16>((1u << n) - 1);
    const __m512i col0 = _mm512_add_epi32(
        _mm512_mullo_epi32(_mm512_add_epi32(lane, _mm512_set1_epi32(static_cast<int32_t>(ow))),
                           stride),
        _mm512_set1_epi32(static_cast<int32_t>(-pad)));
    __m512 best = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), live, col0, vm, 4);
    __m512i brow = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), live, col0, vr, 4);
    __m512i bcol = col0;
    for (long kk = 1; kk < k; kk++) {
      const __m512i col = _mm512_add_epi32(col0, _mm512_set1_epi32(static_cast<int32_t>(kk)));
      const __m512 v = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), live, col, vm, 4);
      const __m512i r = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), live, col, vr, 4);
      const __mmask16 take =
          _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ) |
          (_mm512_cmp_ps_mask(v, best, _CMP_EQ_OQ) & _mm512_cmplt_epi32_mask(r, brow));
      best = _mm512_mask_mov_ps(best, take, v);
      brow = _mm512_mask_mov_epi32(brow, take, r);
      bcol = _mm512_mask_mov_epi32(bcol, take, col);
    }
    _mm512_mask_storeu_ps(y + ow, live, best);
    if (am)
      _mm512_mask_storeu_epi32(am + ow, live,
                               _mm512_add_epi32(_mm512_mullo_epi32(brow, width), bcol));
  }
  return ow1;
}

// horizontalMaxAvx512 in AVX2, 8 outputs at a time (training: the argmax is wanted).
ANATIVE_TARGET_AVX2 long horizontalMaxAvx2(const float* vm, const int32_t* vr, long W, long k,
                                           long s, long pad, long ow0, long ow1, float* y,
                                           int32_t* am) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i stride = _mm256_set1_epi32(static_cast<int32_t>(s));
  const __m256i width = _mm256_set1_epi32(static_cast<int32_t>(W));
  for (long ow = ow0; ow < ow1; ow += 8) {
    const long n = std::min(8L, ow1 - ow);
    const __m256i live = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int32_t>(n)), lane);
    const __m256i col0 = _mm256_add_epi32(
        _mm256_mullo_epi32(_mm256_add_epi32(lane, _mm256_set1_epi32(static_cast<int32_t>(ow))),
                           stride),
        _mm256_set1_epi32(static_cast<int32_t>(-pad)));
    const __m256 liveps = _mm256_castsi256_ps(live);
    __m256 best = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), vm, col0, liveps, 4);
    __m256i brow = _mm256_mask_i32gather_epi32(_mm256_setzero_si256(),
                                               reinterpret_cast<const int*>(vr), col0, live, 4);
    __m256i bcol = col0;
    for (long kk = 1; kk < k; kk++) {
      const __m256i col = _mm256_add_epi32(col0, _mm256_set1_epi32(static_cast<int32_t>(kk)));
      const __m256 v = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), vm, col, liveps, 4);
      const __m256i r = _mm256_mask_i32gather_epi32(_mm256_setzero_si256(),
                                                    reinterpret_cast<const int*>(vr), col, live, 4);
      const __m256i take =
          _mm256_or_si256(_mm256_castps_si256(_mm256_cmp_ps(v, best, _CMP_GT_OQ)),
                          _mm256_and_si256(_mm256_castps_si256(_mm256_cmp_ps(v, best, _CMP_EQ_OQ)),
                                           _mm256_cmpgt_epi32(brow, r)));
      best = _mm256_blendv_ps(best, v, _mm256_castsi256_ps(take));
      brow = _mm256_blendv_epi8(brow, r, take);
      bcol = _mm256_blendv_epi8(bcol, col, take);
    }
    alignas(32) float yb[8];
    alignas(32) int32_t ab[8];
    _mm256_store_ps(yb, best);
    _mm256_store_si256(reinterpret_cast<__m256i*>(ab),
                       _mm256_add_epi32(_mm256_mullo_epi32(brow, width), bcol));
    for (long l = 0; l < n; l++) {  // (masked stores are slow on AMD's cores)
      y[ow + l] = yb[l];
      if (am) am[ow + l] = ab[l];
    }
  }
  return ow1;
}

// verticalMaxAvx512Explicit in AVX2, 8 columns at a time (vm, vr: W + 64 entries).
ANATIVE_TARGET_AVX2 bool verticalMaxAvx2Explicit(const float* xp, long W, long h0, long h1,
                                                 float* vm, int32_t* vr) {
  __m256 nan = _mm256_setzero_ps();
  for (long iw = 0; iw < W; iw += 8) {
    __m256 m = loadUpTo8(xp + h0 * W + iw, W - iw);
    __m256i r = _mm256_set1_epi32(static_cast<int32_t>(h0));
    nan = _mm256_or_ps(nan, _mm256_cmp_ps(m, m, _CMP_UNORD_Q));
    for (long ih = h0 + 1; ih < h1; ih++) {
      const __m256 v = loadUpTo8(xp + ih * W + iw, W - iw);
      const __m256 gt = _mm256_cmp_ps(v, m, _CMP_GT_OQ);
      nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
      m = _mm256_blendv_ps(m, v, gt);
      r = _mm256_blendv_epi8(r, _mm256_set1_epi32(static_cast<int32_t>(ih)),
                             _mm256_castps_si256(gt));
    }
    _mm256_storeu_ps(vm + iw, m);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(vr + iw), r);
  }
  return !_mm256_testz_ps(nan, nan);
}

// Inference (no argmax) at stride 2, one output row: the vertical max in vectors, then each
// 16 outputs' window columns taken from vm with two-source permutes (even lanes of 32
// consecutive floats) instead of gathers. Only the values are wanted, so the order among equal
// values does not matter — except for the sign of a zero, and NaN, which propagates: rows
// holding a NaN or a −0 return false and take the exact path. vm: W + 64 floats.
ANATIVE_TARGET_AVX512 bool maxRowStride2Avx512(const float* xp, long W, long h0, long h1, long k,
                                               long pad, long wo, float* vm, float* yrow) {
  const __m512i negZero = _mm512_set1_epi32(static_cast<int32_t>(0x80000000u));
  // The rows of the next output rows (or the next plane, which follows this one): conv1's
  // output at batch 32 is 25 MB, read from memory, and the hardware prefetcher alone left the
  // pass latency-bound.
  for (long off = h1 * W; off < (h1 + 4) * W; off += 16)
    _mm_prefetch(reinterpret_cast<const char*>(xp + off), _MM_HINT_T0);
  __mmask16 odd = 0;
  for (long iw = 0; iw < W; iw += 16) {
    const __mmask16 live = W - iw >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << (W - iw)) - 1);
    __m512 m = _mm512_maskz_loadu_ps(live, xp + h0 * W + iw);
    odd |= _mm512_mask_cmp_ps_mask(live, m, m, _CMP_UNORD_Q) |
           _mm512_mask_cmpeq_epi32_mask(live, _mm512_castps_si512(m), negZero);
    for (long ih = h0 + 1; ih < h1; ih++) {
      const __m512 v = _mm512_maskz_loadu_ps(live, xp + ih * W + iw);
      odd |= _mm512_mask_cmp_ps_mask(live, v, v, _CMP_UNORD_Q) |
             _mm512_mask_cmpeq_epi32_mask(live, _mm512_castps_si512(v), negZero);
      m = _mm512_max_ps(m, v);
    }
    _mm512_storeu_ps(vm + iw, m);
  }
  if (odd) return false;
  // Outputs whose windows need no clipping: [owIn0, owIn1).
  const long owIn0 = (pad + 1) / 2;
  long owIn1 = owIn0;
  if (W + pad - k >= 0) owIn1 = std::min(wo, (W + pad - k) / 2 + 1);
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  for (long ow = owIn0; ow < owIn1; ow += 16) {
    const long n = std::min(16L, owIn1 - ow);
    const __mmask16 live = static_cast<__mmask16>((1u << n) - 1);
    const float* base = vm + 2 * ow - pad;  // within vm's W + 64 floats
    __m512 best = _mm512_permutex2var_ps(_mm512_loadu_ps(base), even, _mm512_loadu_ps(base + 16));
    for (long kk = 1; kk < k; kk++)
      best = _mm512_max_ps(best, _mm512_permutex2var_ps(_mm512_loadu_ps(base + kk), even,
                                                        _mm512_loadu_ps(base + kk + 16)));
    _mm512_mask_storeu_ps(yrow + ow, live, best);
  }
  for (long ow = 0; ow < wo; ow++) {  // clipped windows at the edges
    if (ow >= owIn0 && ow < owIn1) continue;
    const long w0 = std::max(0L, 2 * ow - pad), w1 = std::min(W, 2 * ow - pad + k);
    float best = vm[w0];
    for (long iw = w0 + 1; iw < w1; iw++) best = std::max(best, vm[iw]);
    yrow[ow] = best;
  }
  return true;
}

// Inference (no argmax) on AVX2, one output row at any stride: the vertical max in vectors, the
// max of every k consecutive columns of it in vectors (hm), then the windows' starts picked at
// stride s. As maxRowStride2Avx512, rows holding a NaN or a −0 return false and take the exact
// path. vm, hm: W + 64 floats.
ANATIVE_TARGET_AVX2 bool maxRowAvx2(const float* xp, long W, long h0, long h1, long k, long s,
                                    long pad, long wo, float* vm, float* hm, float* yrow) {
  const __m256i negZero = _mm256_set1_epi32(static_cast<int32_t>(0x80000000u));
  for (long off = h1 * W; off < (h1 + 4) * W; off += 16)  // the next rows (maxRowStride2Avx512)
    _mm_prefetch(reinterpret_cast<const char*>(xp + off), _MM_HINT_T0);
  __m256i odd = _mm256_setzero_si256();
  for (long iw = 0; iw < W; iw += 8) {
    __m256 m = _mm256_setzero_ps();
    for (long ih = h0; ih < h1; ih++) {
      const __m256 v = loadUpTo8(xp + ih * W + iw, W - iw);  // 0 past W: neither NaN nor −0
      odd = _mm256_or_si256(odd, _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q)));
      odd = _mm256_or_si256(odd, _mm256_cmpeq_epi32(_mm256_castps_si256(v), negZero));
      m = ih == h0 ? v : _mm256_max_ps(m, v);
    }
    _mm256_storeu_ps(vm + iw, m);
  }
  if (!_mm256_testz_si256(odd, odd)) return false;
  // Outputs whose windows need no clipping: [owIn0, owIn1); their windows start at ow·s − pad.
  const long owIn0 = (pad + s - 1) / s;
  long owIn1 = owIn0;
  if (W + pad - k >= 0) owIn1 = std::min(wo, (W + pad - k) / s + 1);
  if (owIn1 > owIn0) {
    const long c0 = owIn0 * s - pad, c1 = (owIn1 - 1) * s - pad + 1;
    for (long c = c0; c < c1; c += 8) {  // reads vm up to c1 + 6 + k < W + 64 (unused past W)
      __m256 b = _mm256_loadu_ps(vm + c);
      for (long kk = 1; kk < k; kk++) b = _mm256_max_ps(b, _mm256_loadu_ps(vm + c + kk));
      _mm256_storeu_ps(hm + c, b);
    }
    for (long ow = owIn0; ow < owIn1; ow++) yrow[ow] = hm[ow * s - pad];
  }
  for (long ow = 0; ow < wo; ow++) {  // clipped windows at the edges
    if (ow >= owIn0 && ow < owIn1) continue;
    const long w0 = std::max(0L, ow * s - pad), w1 = std::min(W, ow * s - pad + k);
    float best = vm[w0];
    for (long iw = w0 + 1; iw < w1; iw++) best = std::max(best, vm[iw]);
    yrow[ow] = best;
  }
  return true;
}
#endif  // x86-64

void maxPoolForward(const float* x, float* y, int32_t* argmax, const PoolGeom& g) {
#if defined(__x86_64__) || defined(_M_X64)
  const bool avx512 = currentIsa() == Isa::Avx512, avx2 = currentIsa() == Isa::Avx2;
#endif
  forPlanes(g.n * g.c, [&](long plane) {
    thread_local std::vector<float> vmax, hmax;
    thread_local std::vector<int32_t> vrow;
    if (static_cast<long>(vmax.size()) < g.w + 64) {
      vmax.resize(g.w + 64);
      hmax.resize(g.w + 64);
      vrow.resize(g.w + 64);
    }
    float* vm = vmax.data();
    int32_t* vr = vrow.data();
    const float* xp = x + plane * g.h * g.w;
    float* yp = y + plane * g.ho * g.wo;
    int32_t* ap = argmax ? argmax + plane * g.ho * g.wo : nullptr;
    for (long oh = 0; oh < g.ho; oh++) {
      const long h0 = std::max(0L, oh * g.stride - g.pad);
      const long h1 = std::min(g.h, oh * g.stride - g.pad + g.k);
#if defined(__x86_64__) || defined(_M_X64)
      if (avx512 && !ap && g.stride == 2 &&
          maxRowStride2Avx512(xp, g.w, h0, h1, g.k, g.pad, g.wo, vm, yp + oh * g.wo))
        continue;
      if (avx2 && !ap &&
          maxRowAvx2(xp, g.w, h0, h1, g.k, g.stride, g.pad, g.wo, vm, hmax.data(), yp + oh * g.wo))
        continue;
#endif
      bool nan = false;
#if defined(__x86_64__) || defined(_M_X64)
      if (avx512)
        nan = verticalMaxAvx512Explicit(xp, g.w, h0, h1, vm, vr);
      else if (avx2)
        nan = verticalMaxAvx2Explicit(xp, g.w, h0, h1, vm, vr);
      else
#endif
        verticalMax(xp, g.w, h0, h1, vm, vr, &nan);
      // Outputs whose windows need no clipping: ow·s ≥ pad and ow·s − pad + k ≤ W.
      long done = -1, owIn0 = (g.pad + g.stride - 1) / g.stride;
#if defined(__x86_64__) || defined(_M_X64)
      long owIn1 = owIn0;
      if (g.w + g.pad - g.k >= 0) owIn1 = std::min(g.wo, (g.w + g.pad - g.k) / g.stride + 1);
      if (!nan && avx512 && owIn1 > owIn0)
        done = horizontalMaxAvx512(vm, vr, g.w, g.k, g.stride, g.pad, owIn0, owIn1, yp + oh * g.wo,
                                   ap ? ap + oh * g.wo : nullptr);
      else if (!nan && avx2 && owIn1 > owIn0)
        done = horizontalMaxAvx2(vm, vr, g.w, g.k, g.stride, g.pad, owIn0, owIn1, yp + oh * g.wo,
                                 ap ? ap + oh * g.wo : nullptr);
#endif
      for (long ow = 0; ow < g.wo; ow++) {
        if (ow >= owIn0 && ow < done) continue;
        const long w0 = std::max(0L, ow * g.stride - g.pad);
        const long w1 = std::min(g.w, ow * g.stride - g.pad + g.k);
        if (nan) {
          maxWindowScan(xp, g.w, h0, h1, w0, w1, yp + oh * g.wo + ow,
                        ap ? ap + oh * g.wo + ow : nullptr);
          continue;
        }
        float best = vm[w0];
        int32_t brow = vr[w0], bw = static_cast<int32_t>(w0);
        for (long iw = w0 + 1; iw < w1; iw++) {
          const float v = vm[iw];
          const int32_t r = vr[iw];
          const bool take = (v > best) | ((v == best) & (r < brow));
          best = take ? v : best;
          brow = take ? r : brow;
          bw = take ? static_cast<int32_t>(iw) : bw;
        }
        yp[oh * g.wo + ow] = best;
        if (ap) ap[oh * g.wo + ow] = static_cast<int32_t>(brow * g.w + bw);
      }
    }
  });
}

void maxPoolBackward(const float* dy, const int32_t* argmax, float* dx, const PoolGeom& g) {
  forPlanes(g.n * g.c, [&](long plane) {
    float* dxp = dx + plane * g.h * g.w;
    const float* dyp = dy + plane * g.ho * g.wo;
    const int32_t* ap = argmax + plane * g.ho * g.wo;
    std::memset(dxp, 0, sizeof(float) * g.h * g.w);
    for (long i = 0; i < g.ho * g.wo; i++) dxp[ap[i]] += dyp[i];
  });
}

// count_include_pad = True: the divisor is the window clipped to the padded input.
void avgPoolForward(const float* x, float* y, const PoolGeom& g) {
  forPlanes(g.n * g.c, [&](long plane) {
    const float* xp = x + plane * g.h * g.w;
    float* yp = y + plane * g.ho * g.wo;
    for (long oh = 0; oh < g.ho; oh++) {
      const long hs = oh * g.stride - g.pad, he = std::min(hs + g.k, g.h + g.pad);
      const long h0 = std::max(0L, hs), h1 = std::min(g.h, he);
      for (long ow = 0; ow < g.wo; ow++) {
        const long ws = ow * g.stride - g.pad, we = std::min(ws + g.k, g.w + g.pad);
        const long w0 = std::max(0L, ws), w1 = std::min(g.w, we);
        const float div = static_cast<float>((he - hs) * (we - ws));
        float s = 0.f;
        for (long ih = h0; ih < h1; ih++)
          for (long iw = w0; iw < w1; iw++) s += xp[ih * g.w + iw];
        yp[oh * g.wo + ow] = s / div;
      }
    }
  });
}

void avgPoolBackward(const float* dy, float* dx, const PoolGeom& g) {
  forPlanes(g.n * g.c, [&](long plane) {
    float* dxp = dx + plane * g.h * g.w;
    const float* dyp = dy + plane * g.ho * g.wo;
    std::memset(dxp, 0, sizeof(float) * g.h * g.w);
    for (long oh = 0; oh < g.ho; oh++) {
      const long hs = oh * g.stride - g.pad, he = std::min(hs + g.k, g.h + g.pad);
      const long h0 = std::max(0L, hs), h1 = std::min(g.h, he);
      for (long ow = 0; ow < g.wo; ow++) {
        const long ws = ow * g.stride - g.pad, we = std::min(ws + g.k, g.w + g.pad);
        const long w0 = std::max(0L, ws), w1 = std::min(g.w, we);
        const float v = dyp[oh * g.wo + ow] / static_cast<float>((he - hs) * (we - ws));
        for (long ih = h0; ih < h1; ih++)
          for (long iw = w0; iw < w1; iw++) dxp[ih * g.w + iw] += v;
      }
    }
  });
}

// PyTorch's bins: start = floor(i·H/Ho), end = ceil((i+1)·H/Ho).
void adaptiveAvgPoolForward(const float* x, float* y, long n, long c, long h, long w, long ho,
                            long wo) {
  if (h == ho && w == wo) {  // every bin one element (torchvision's 6×6 at 224): a copy
    parallelRange(n * c * h * w, 1 << 15,
                  [&](long b, long e) { std::memcpy(y + b, x + b, sizeof(float) * (e - b)); });
    return;
  }
  forPlanes(n * c, [&](long plane) {
    const float* xp = x + plane * h * w;
    float* yp = y + plane * ho * wo;
    for (long i = 0; i < ho; i++) {
      const long h0 = (i * h) / ho, h1 = ((i + 1) * h + ho - 1) / ho;
      for (long j = 0; j < wo; j++) {
        const long w0 = (j * w) / wo, w1 = ((j + 1) * w + wo - 1) / wo;
        float s = 0.f;
        for (long ih = h0; ih < h1; ih++)
          for (long iw = w0; iw < w1; iw++) s += xp[ih * w + iw];
        yp[i * wo + j] = s / static_cast<float>((h1 - h0) * (w1 - w0));
      }
    }
  });
}

void adaptiveAvgPoolBackward(const float* dy, float* dx, long n, long c, long h, long w, long ho,
                             long wo) {
  forPlanes(n * c, [&](long plane) {
    float* dxp = dx + plane * h * w;
    const float* dyp = dy + plane * ho * wo;
    std::memset(dxp, 0, sizeof(float) * h * w);
    for (long i = 0; i < ho; i++) {
      const long h0 = (i * h) / ho, h1 = ((i + 1) * h + ho - 1) / ho;
      for (long j = 0; j < wo; j++) {
        const long w0 = (j * w) / wo, w1 = ((j + 1) * w + wo - 1) / wo;
        const float v = dyp[i * wo + j] / static_cast<float>((h1 - h0) * (w1 - w0));
        for (long ih = h0; ih < h1; ih++)
          for (long iw = w0; iw < w1; iw++) dxp[ih * w + iw] += v;
      }
    }
  });
}

}  // namespace anative
