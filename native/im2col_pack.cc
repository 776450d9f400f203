// Implicit im2col (see im2col_pack.h). A packed micro-panel is [kc][32]: 32 lanes of the GEMM's
// width, kc steps of its depth: forward, lanes are columns q and steps rows r; dW the reverse
// (then 16×16 tiles are built along columns and transposed). Element (r, q) is
//   x[colOff[q] + rowOff[r]], valid where 0 ≤ colIh[q] + rowKi[r] < H and
//   0 ≤ colIw[q] + rowKj[r] < W (padding reads 0),
// loaded as a few masked contiguous runs where the columns allow (stride 1), else gathered.
// Panels are as wide as the GEMM's micro-kernel (gemmPanelWidth): 32 on AVX-512, 16 on AVX2
// (forward only, as two halves of 8 lanes with AVX2 masked loads and gathers).
#include "im2col_pack.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include <algorithm>

#include "isa.h"
#include "runs.h"
#include "transpose16.h"

namespace anative {

Im2colPanels::Im2colPanels(const float* x, const ConvGeom& g, long n0, long m, long c0, bool forDw)
    : base_(x + (n0 * g.cIn + c0) * g.h * g.w),
      h_(g.h),
      w_(g.w),
      forDw_(forDw),
      nr_(gemmPanelWidth()) {
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

#define ANATIVE_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))

// The column tables of 16 lanes, loaded once per panel.
struct Lanes {
  __m512i off, ih, iw;
  __mmask16 live;
  Runs runs;
};

ANATIVE_AVX512 inline Lanes loadLanes(const int32_t* off, const int32_t* ih, const int32_t* iw,
                                      long live) {
  Lanes l;
  l.off = _mm512_loadu_si512(off);
  l.ih = _mm512_loadu_si512(ih);
  l.iw = _mm512_loadu_si512(iw);
  l.live = live >= 16 ? 0xFFFF : live <= 0 ? 0 : static_cast<__mmask16>((1u << live) - 1);
  l.runs = live > 0 ? findRuns(off, std::min(16L, live)) : Runs();
  return l;
}

// Row r of the column matrix (offset soff, kernel offsets ki, kj) at the 16 lanes' columns.
ANATIVE_AVX512 inline __m512 rowAt(const float* base, const Lanes& l, __m512i hv, __m512i wv,
                                   int32_t soff, int32_t ki, int32_t kj) {
  // Unsigned compares: a negative row or column is a huge unsigned value, so < H fails too.
  const __mmask16 valid = _mm512_mask_cmplt_epu32_mask(
      _mm512_mask_cmplt_epu32_mask(l.live, _mm512_add_epi32(l.ih, _mm512_set1_epi32(ki)), hv),
      _mm512_add_epi32(l.iw, _mm512_set1_epi32(kj)), wv);
  if (l.runs.n == 0)
    return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), valid,
                                    _mm512_add_epi32(l.off, _mm512_set1_epi32(soff)), base, 4);
  const float* src = base + soff;
  __m512 v = _mm512_setzero_ps();
  for (int i = 0; i < l.runs.n; i++)  // masked-off lanes are not read (no fault past an edge)
    v = _mm512_mask_loadu_ps(v, l.runs.mask[i] & valid, src + l.runs.off[i]);
  return v;
}

// ---- AVX2: 16-wide panels as two halves of 8 lanes (forward only) ----

#define ANATIVE_AVX2 __attribute__((target("avx2,fma")))

// Lanes whose bit is set in `bits` (bit l: lane l < 8), as an all-ones 32-bit lane mask.
ANATIVE_AVX2 inline __m256i laneMask(unsigned bits) {
  const __m256i bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
  return _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(static_cast<int>(bits)), bit), bit);
}

// The column tables of 8 lanes (Lanes at half the width) and their runs' lane masks.
struct Lanes8 {
  __m256i off, ih, iw, live;
  Runs runs;
  __m256i runMask[Runs::MAX];
  bool whole;  // all 8 lanes live, one run
};

ANATIVE_AVX2 inline Lanes8 loadLanes8(const int32_t* off, const int32_t* ih, const int32_t* iw,
                                      long live) {
  Lanes8 l;
  l.off = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(off));
  l.ih = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ih));
  l.iw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(iw));
  l.live = laneMask(live >= 8 ? 0xFFu : live <= 0 ? 0u : (1u << live) - 1);
  l.runs = live > 0 ? findRuns(off, std::min(8L, live)) : Runs();
  for (int i = 0; i < l.runs.n; i++) l.runMask[i] = laneMask(l.runs.mask[i]);
  l.whole = l.runs.n == 1 && l.runs.mask[0] == 0xFFu;
  return l;
}

// 0 ≤ v < n per lane (AVX2 has no unsigned compare).
ANATIVE_AVX2 inline __m256i inside(__m256i v, __m256i n) {
  return _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_setzero_si256(), v),
                             _mm256_cmpgt_epi32(n, v));
}

// rowAt for 8 lanes: row r of the column matrix at the lanes' columns.
ANATIVE_AVX2 inline __m256 rowAt8(const float* base, const Lanes8& l, __m256i hv, __m256i wv,
                                  int32_t soff, int32_t ki, int32_t kj) {
  const __m256i valid = _mm256_and_si256(
      l.live, _mm256_and_si256(inside(_mm256_add_epi32(l.ih, _mm256_set1_epi32(ki)), hv),
                               inside(_mm256_add_epi32(l.iw, _mm256_set1_epi32(kj)), wv)));
  if (l.runs.n == 0)
    return _mm256_mask_i32gather_ps(_mm256_setzero_ps(), base,
                                    _mm256_add_epi32(l.off, _mm256_set1_epi32(soff)),
                                    _mm256_castsi256_ps(valid), 4);
  const float* src = base + soff;
  // 8 valid lanes in one run: a plain load (vmaskmovps is slow on some cores: the AMD Zen 1 here)
  if (l.whole && _mm256_movemask_ps(_mm256_castsi256_ps(valid)) == 0xFF)
    return _mm256_loadu_ps(src + l.runs.off[0]);
  __m256 v = _mm256_setzero_ps();
  for (int i = 0; i < l.runs.n; i++)  // masked-off lanes are not read (no fault past an edge)
    v = _mm256_or_ps(
        v, _mm256_maskload_ps(src + l.runs.off[i], _mm256_and_si256(l.runMask[i], valid)));
  return v;
}

}  // namespace

// Forward on AVX2: dst[k][16] = col[p0+k, j0…j0+cols).
ANATIVE_AVX2 void Im2colPanels::packColumns16(long j0, long cols, long p0, long kc,
                                              float* dst) const {
  const __m256i hv = _mm256_set1_epi32(static_cast<int32_t>(h_));
  const __m256i wv = _mm256_set1_epi32(static_cast<int32_t>(w_));
  const Lanes8 l0 = loadLanes8(colOff_.data() + j0, colIh_.data() + j0, colIw_.data() + j0, cols);
  const Lanes8 l1 =
      loadLanes8(colOff_.data() + j0 + 8, colIh_.data() + j0 + 8, colIw_.data() + j0 + 8, cols - 8);
  for (long k = 0; k < kc; k++) {
    const long r = p0 + k;
    _mm256_store_ps(dst + k * 16, rowAt8(base_, l0, hv, wv, rowOff_[r], rowKi_[r], rowKj_[r]));
    _mm256_store_ps(dst + k * 16 + 8, rowAt8(base_, l1, hv, wv, rowOff_[r], rowKi_[r], rowKj_[r]));
  }
}

// Forward: lanes = columns j0…j0+cols, steps = rows p0…p0+kc. dst[k][32] = col[p0+k, j0…].
ANATIVE_AVX512 void Im2colPanels::packColumns(long j0, long cols, long p0, long kc,
                                              float* dst) const {
  const __m512i hv = _mm512_set1_epi32(static_cast<int32_t>(h_));
  const __m512i wv = _mm512_set1_epi32(static_cast<int32_t>(w_));
  const Lanes l0 = loadLanes(colOff_.data() + j0, colIh_.data() + j0, colIw_.data() + j0, cols);
  const Lanes l1 = loadLanes(colOff_.data() + j0 + 16, colIh_.data() + j0 + 16,
                             colIw_.data() + j0 + 16, cols - 16);
  for (long k = 0; k < kc; k++) {
    const long r = p0 + k;
    _mm512_store_ps(dst + k * 32, rowAt(base_, l0, hv, wv, rowOff_[r], rowKi_[r], rowKj_[r]));
    _mm512_store_ps(dst + k * 32 + 16, rowAt(base_, l1, hv, wv, rowOff_[r], rowKi_[r], rowKj_[r]));
  }
}

// dW: lanes = rows j0…j0+cols, steps = columns p0…p0+kc. dst[k][32] = col[j0…, p0+k]. Built as
// 16×16 tiles of rows × columns (each row a few contiguous runs of the image), transposed in
// registers.
ANATIVE_AVX512 void Im2colPanels::packRows(long j0, long cols, long p0, long kc, float* dst) const {
  const __m512i hv = _mm512_set1_epi32(static_cast<int32_t>(h_));
  const __m512i wv = _mm512_set1_epi32(static_cast<int32_t>(w_));
  for (long k0 = 0; k0 < kc; k0 += 16) {
    const long kn = std::min(16L, kc - k0), q = p0 + k0;
    const Lanes l = loadLanes(colOff_.data() + q, colIh_.data() + q, colIw_.data() + q, kn);
    for (long h = 0; h < 32; h += 16) {
      __m512 t[16];
      for (long i = 0; i < 16; i++) {
        const long r = j0 + h + i;
        t[i] = h + i < cols ? rowAt(base_, l, hv, wv, rowOff_[r], rowKi_[r], rowKj_[r])
                            : _mm512_setzero_ps();
      }
      transpose16(t);
      for (long k = 0; k < kn; k++) _mm512_store_ps(dst + (k0 + k) * 32 + h, t[k]);
    }
  }
}

void Im2colPanels::pack(long j0, long cols, long p0, long kc, float* dst) const {
  if (forDw_)
    packRows(j0, cols, p0, kc, dst);
  else if (nr_ == 16)
    packColumns16(j0, cols, p0, kc, dst);
  else
    packColumns(j0, cols, p0, kc, dst);
}

// ---- stride > 1: the phase-split copy ------------------------------------------------------

namespace {
struct StridedDims {
  long cig, hp, wd, rowLen;  // channels, padded rows, floats per phase, floats per padded row
  explicit StridedDims(const ConvGeom& g)
      : cig(g.cIn / g.groups),
        hp(g.h + 2 * g.pad),
        wd(g.wo + (g.kw - 1) / g.stride),
        rowLen(g.stride * (g.wo + (g.kw - 1) / g.stride)) {}
};

// Mask of the lanes t < 16 with 0 ≤ u0 + t < w.
inline __mmask16 inRange(long u0, long w) {
  const long lo = std::max(0L, -u0), hi = std::min(16L, w - u0);
  if (hi <= lo) return 0;
  return static_cast<__mmask16>(((1u << hi) - 1) & ~((1u << lo) - 1));
}

// One image row at stride 4: dst[ph·wd + j] = src[4j + ph − pad] (0 outside [0, w)). Each 16
// outputs of the four phases come from 64 consecutive input floats: 4 masked loads, and per
// phase two two-source permutes (lanes 0–7 from the first 32 floats, 8–15 from the last 32).
ANATIVE_AVX512 void splitRow4(const float* src, long w, long pad, long wd, float* dst) {
  __m512i idx[4];
  for (int ph = 0; ph < 4; ph++) {
    alignas(64) int32_t t[16];
    for (int l = 0; l < 16; l++) t[l] = 4 * (l % 8) + ph;
    idx[ph] = _mm512_load_si512(t);
  }
  for (long j0 = 0; j0 < wd; j0 += 16) {
    const long u0 = 4 * j0 - pad;
    __m512 r[4];
    for (int k = 0; k < 4; k++)  // masked-off lanes are not read (no fault past either end)
      r[k] = _mm512_maskz_loadu_ps(inRange(u0 + 16 * k, w), src + u0 + 16 * k);
    const __mmask16 store = wd - j0 >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << (wd - j0)) - 1);
    for (int ph = 0; ph < 4; ph++) {
      const __m512 lo = _mm512_permutex2var_ps(r[0], idx[ph], r[1]);
      const __m512 hi = _mm512_permutex2var_ps(r[2], idx[ph], r[3]);
      _mm512_mask_storeu_ps(dst + ph * wd + j0, store, _mm512_mask_blend_ps(0xFF00, lo, hi));
    }
  }
}
}  // namespace

size_t StridedPanels::bufferSize(const ConvGeom& g, long m) {
  return static_cast<size_t>(bufferRows(g, m)) * StridedDims(g).rowLen;
}

long StridedPanels::bufferRows(const ConvGeom& g, long m) {
  const StridedDims d(g);
  return m * d.cig * d.hp;
}

void StridedPanels::fill(const float* x, const ConvGeom& g, long n0, long m, long c0, float* buf,
                         long r0, long r1) {
  (void)m;
  const StridedDims d(g);
  const long s = g.stride;
  for (long row = r0; row < r1; row++) {
    const long ihp = row % d.hp, ic = row / d.hp, c = ic % d.cig, i = ic / d.cig;
    const long ih = ihp - g.pad;
    float* dst = buf + row * d.rowLen;
    if (ih < 0 || ih >= g.h) {
      std::fill(dst, dst + d.rowLen, 0.f);
      continue;
    }
    const float* src = x + ((n0 + i) * g.cIn + c0 + c) * g.h * g.w + ih * g.w;
    if (s == 4 && currentIsa() == Isa::Avx512) {
      splitRow4(src, g.w, g.pad, d.wd, dst);
      continue;
    }
    for (long ph = 0; ph < s; ph++)
      for (long j = 0; j < d.wd; j++) {
        const long iw = j * s + ph - g.pad;
        dst[ph * d.wd + j] = iw >= 0 && iw < g.w ? src[iw] : 0.f;
      }
  }
}

StridedPanels::StridedPanels(const float* buf, const ConvGeom& g, long m)
    : buf_(buf), nr_(gemmPanelWidth()) {
  const StridedDims d(g);
  const long s = g.stride, P = g.ho * g.wo, kk = g.kh * g.kw;
  colOff_.assign(m * P + 32, 0);
  for (long i = 0, q = 0; i < m; i++)
    for (long oh = 0; oh < g.ho; oh++)
      for (long ow = 0; ow < g.wo; ow++, q++)
        colOff_[q] = static_cast<int32_t>((i * d.cig * d.hp + oh * s) * d.rowLen + ow);
  rowOff_.assign(d.cig * kk + 32, 0);
  for (long r = 0; r < d.cig * kk; r++) {
    const long c = r / kk, ki = (r / g.kw) % g.kh, kj = r % g.kw;
    rowOff_[r] = static_cast<int32_t>((c * d.hp + ki) * d.rowLen + (kj % s) * d.wd + kj / s);
  }
}

void StridedPanels::pack(long j0, long cols, long p0, long kc, float* dst) const {
  if (nr_ == 16)
    pack16(j0, cols, p0, kc, dst);
  else
    pack32(j0, cols, p0, kc, dst);
}

// pack32 on AVX2, 16 lanes as two halves of 8: dst[k][16] = col[p0 + k, j0 … j0 + cols).
ANATIVE_AVX2 void StridedPanels::pack16(long j0, long cols, long p0, long kc, float* dst) const {
  Runs runs[2];
  __m256i live[2], off[2], runMask[2][Runs::MAX];
  bool whole[2];  // the 8 lanes one run: a plain load (vmaskmovps is slow on some cores)
  for (int h = 0; h < 2; h++) {
    const long n = std::min(8L, cols - 8 * h);
    live[h] = laneMask(n >= 8 ? 0xFFu : n <= 0 ? 0u : (1u << n) - 1);
    runs[h] = n > 0 ? findRuns(colOff_.data() + j0 + 8 * h, n) : Runs();
    whole[h] = runs[h].n == 1 && runs[h].mask[0] == 0xFFu;
    for (int i = 0; i < runs[h].n; i++) runMask[h][i] = laneMask(runs[h].mask[i]);
    off[h] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(colOff_.data() + j0 + 8 * h));
  }
  for (long k = 0; k < kc; k++) {
    const int32_t ro = rowOff_[p0 + k];
    for (int h = 0; h < 2; h++) {
      __m256 v = _mm256_setzero_ps();
      if (whole[h]) {
        v = _mm256_loadu_ps(buf_ + ro + runs[h].off[0]);
      } else if (runs[h].n == 0) {
        // no live lanes (a zero mask reads nothing), or more than 4 runs
        v = _mm256_mask_i32gather_ps(v, buf_, _mm256_add_epi32(off[h], _mm256_set1_epi32(ro)),
                                     _mm256_castsi256_ps(live[h]), 4);
      } else {
        const float* src = buf_ + ro;
        for (int i = 0; i < runs[h].n; i++)
          v = _mm256_or_ps(v, _mm256_maskload_ps(src + runs[h].off[i], runMask[h][i]));
      }
      _mm256_store_ps(dst + k * 16 + 8 * h, v);
    }
  }
}

// dst[k][32] = col[p0 + k, j0 … j0 + cols): per 16 lanes, one masked load per run of
// consecutive columns (one run, or two where the lanes wrap to the next output row); a
// gather only where the map is so narrow that 16 lanes hold more than 4 runs.
ANATIVE_AVX512 void StridedPanels::pack32(long j0, long cols, long p0, long kc, float* dst) const {
  Runs runs[2];
  __mmask16 live[2];
  __m512i off[2];
  bool simple = true;  // both halves a single run
  for (int h = 0; h < 2; h++) {
    const long n = std::min(16L, cols - 16 * h);
    live[h] = n >= 16 ? 0xFFFF : n <= 0 ? 0 : static_cast<__mmask16>((1u << n) - 1);
    runs[h] = n > 0 ? findRuns(colOff_.data() + j0 + 16 * h, n) : Runs();
    off[h] = _mm512_loadu_si512(colOff_.data() + j0 + 16 * h);
    if (n > 0 && runs[h].n != 1) simple = false;
  }
  if (simple) {
    const __mmask16 m0 = runs[0].mask[0], m1 = live[1] ? runs[1].mask[0] : 0;
    const float* s0 = buf_ + runs[0].off[0];
    const float* s1 = buf_ + (live[1] ? runs[1].off[0] : 0);
    for (long k = 0; k < kc; k++) {
      const long ro = rowOff_[p0 + k];
      _mm512_store_ps(dst + k * 32, _mm512_maskz_loadu_ps(m0, s0 + ro));
      _mm512_store_ps(dst + k * 32 + 16, _mm512_maskz_loadu_ps(m1, s1 + ro));
    }
    return;
  }
  for (long k = 0; k < kc; k++) {
    const int32_t ro = rowOff_[p0 + k];
    for (int h = 0; h < 2; h++) {
      __m512 v = _mm512_setzero_ps();
      if (live[h] && runs[h].n == 0) {
        v = _mm512_mask_i32gather_ps(v, live[h], _mm512_add_epi32(off[h], _mm512_set1_epi32(ro)),
                                     buf_, 4);
      } else {
        const float* src = buf_ + ro;
        for (int i = 0; i < runs[h].n; i++)
          v = _mm512_mask_loadu_ps(v, runs[h].mask[i], src + runs[h].off[i]);
      }
      _mm512_store_ps(dst + k * 32 + 16 * h, v);
    }
  }
}

}  // namespace anative

#endif  // x86-64
