#include "col2im.h"

#include <algorithm>
#include <cstring>

#include "isa.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

namespace anative {

OffsetTable::OffsetTable(const ConvGeom& g) : at(g.kh * g.kw * g.ho * g.wo) {
  const long P = g.ho * g.wo;
  for (long ki = 0; ki < g.kh; ki++)
    for (long kj = 0; kj < g.kw; kj++)
      for (long oh = 0; oh < g.ho; oh++)
        for (long ow = 0; ow < g.wo; ow++) {
          const long ih = oh * g.stride - g.pad + ki, iw = ow * g.stride - g.pad + kj;
          at[(ki * g.kw + kj) * P + oh * g.wo + ow] = (ih < 0 || ih >= g.h || iw < 0 || iw >= g.w)
                                                          ? -1
                                                          : static_cast<int32_t>(ih * g.w + iw);
        }
}

namespace {

// d[0, n) += s[0, n).
void addRunScalar(const float* s, float* d, long n) {
  for (long i = 0; i < n; i++) d[i] += s[i];
}

#if defined(__x86_64__) || defined(_M_X64)
// The same, 16 at a time.
__attribute__((target("avx512f"))) void addRunAvx512(const float* s, float* d, long n) {
  for (long i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(
        d + i, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, d + i), _mm512_maskz_loadu_ps(m, s + i)));
  }
}
#endif

}  // namespace

void col2imPlane(const float* dcol, long ld, const ConvGeom& g, long c, float* xp,
                 const OffsetTable* table) {
  std::memset(xp, 0, sizeof(float) * g.h * g.w);
  const long kk = g.kh * g.kw;
  col2imAddRows(dcol + c * kk * ld, ld, g, c * kk, (c + 1) * kk, xp - c * g.h * g.w, table);
}

long col2imBlockRows(long ld, long tileRows) {
  constexpr long BLOCK_FLOATS = 1 << 16;
  return std::max(tileRows, BLOCK_FLOATS / ld / tileRows * tileRows);
}

void col2imAddRows(const float* rows, long ld, const ConvGeom& g, long r0, long r1, float* xp,
                   const OffsetTable* table) {
  const long kk = g.kh * g.kw;
  if (table) {
    const long P = g.ho * g.wo;
    for (long r = r0; r < r1; r++) {
      const int32_t* at = table->at.data() + (r % kk) * P;
      const float* src = rows + (r - r0) * ld;
      float* plane = xp + (r / kk) * g.h * g.w;
      for (long p = 0; p < P; p++)
        if (at[p] >= 0) plane[at[p]] += src[p];
    }
    return;
  }
  auto addRun = addRunScalar;
#if defined(__x86_64__) || defined(_M_X64)
  if (currentIsa() == Isa::Avx512) addRun = addRunAvx512;
#endif
  for (long r = r0; r < r1; r++) {
    const long ki = (r % kk) / g.kw, kj = r % g.kw;
    const float* src = rows + (r - r0) * ld;
    float* plane = xp + (r / kk) * g.h * g.w;
    const long off = kj - g.pad;
    const long owLo = off < 0 ? (-off + g.stride - 1) / g.stride : 0;
    const long lim = g.w - off;
    const long owHi = lim <= 0 ? 0 : std::min(g.wo, (lim + g.stride - 1) / g.stride);
    for (long oh = 0; oh < g.ho; oh++) {
      const long ih = oh * g.stride - g.pad + ki;
      if (ih < 0 || ih >= g.h) continue;
      float* d = plane + ih * g.w + off;
      const float* s = src + oh * g.wo;
      if (g.stride == 1) {
        if (owHi > owLo) addRun(s + owLo, d + owLo, owHi - owLo);
      } else {
        for (long ow = owLo; ow < owHi; ow++) d[ow * g.stride] += s[ow];
      }
    }
  }
}

}  // namespace anative
