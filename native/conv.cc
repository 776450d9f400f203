// Convolution as im2col + GEMM, per group and per chunk of images.
//
// Several images are laid side by side in one column matrix col[Kc, nb·P] (Kc = Ci/G·Kh·Kw,
// P = Ho·Wo), so that the small late maps of AlexNet (13×13, or 3×3 at small inputs) still give
// GEMMs with thousands of columns:
//   forward   Y_g[Co/G, nb·P]  = W_g[Co/G, Kc] · col[Kc, nb·P]
//   dW        dW_g[Co/G, Kc]  += dY_g[Co/G, nb·P] · colᵀ
//   dX        dcol[Kc, nb·P]   = W_gᵀ · dY_g, then col2im (each (image, channel) plane is
//             written by one task, so the scatter-add needs no atomics).
#include <algorithm>
#include <cstring>

#include "buffer.h"
#include "gemm.h"
#include "kernels.h"
#include "threadpool.h"

namespace anative {
namespace {

Buffer gCol, gDcol, gOut;

// Columns per GEMM we aim for, and the largest column matrix we allow (floats).
constexpr long TARGET_COLUMNS = 3072;
constexpr long MAX_COL_FLOATS = 16L << 20;  // 64 MB

long imagesPerChunk(const ConvGeom& g) {
  const long kc = g.cIn / g.groups * g.kh * g.kw;
  const long p = g.ho * g.wo;
  long nb = std::max(1L, (TARGET_COLUMNS + p - 1) / p);
  nb = std::min(nb, std::max(1L, MAX_COL_FLOATS / std::max(1L, kc * p)));
  return std::min(nb, g.n);
}

// col[Kc, nb·P] from images [n0, n0+nb), channels [c0, c0 + Ci/G).
void im2col(const float* x, const ConvGeom& g, long n0, long nb, long c0, float* col) {
  const long cig = g.cIn / g.groups, P = g.ho * g.wo, ld = nb * P;
  const long rows = cig * g.kh * g.kw;
  parallelFor(static_cast<int>(std::min(rows * nb, 1L << 30)), [&](int t, int) {
    const long r = t / nb, m = t % nb;
    const long c = r / (g.kh * g.kw), ki = (r / g.kw) % g.kh, kj = r % g.kw;
    const float* xp = x + ((n0 + m) * g.cIn + c0 + c) * g.h * g.w;
    float* dst = col + r * ld + m * P;
    // Valid output columns for this kj: 0 ≤ ow·s − pad + kj < W.
    long owLo = 0, owHi = g.wo;  // [owLo, owHi)
    {
      const long off = kj - g.pad;
      if (off < 0) owLo = (-off + g.stride - 1) / g.stride;
      long lim = g.w - off;  // need ow·s < lim
      owHi = lim <= 0 ? 0 : std::min(g.wo, (lim + g.stride - 1) / g.stride);
      if (owHi < owLo) owHi = owLo;
    }
    for (long oh = 0; oh < g.ho; oh++) {
      float* d = dst + oh * g.wo;
      const long ih = oh * g.stride - g.pad + ki;
      if (ih < 0 || ih >= g.h) {
        std::memset(d, 0, sizeof(float) * g.wo);
        continue;
      }
      const float* src = xp + ih * g.w + kj - g.pad;
      for (long ow = 0; ow < owLo; ow++) d[ow] = 0.f;
      if (g.stride == 1) {
        std::memcpy(d + owLo, src + owLo, sizeof(float) * (owHi - owLo));
      } else {
        for (long ow = owLo; ow < owHi; ow++) d[ow] = src[ow * g.stride];
      }
      for (long ow = owHi; ow < g.wo; ow++) d[ow] = 0.f;
    }
  });
}

// dx planes of images [n0, n0+nb), channels [c0, c0 + Ci/G) = col2im(dcol[Kc, nb·P]).
void col2im(const float* dcol, const ConvGeom& g, long n0, long nb, long c0, float* dx) {
  const long cig = g.cIn / g.groups, P = g.ho * g.wo, ld = nb * P;
  parallelFor(static_cast<int>(nb * cig), [&](int t, int) {
    const long m = t / cig, c = t % cig;
    float* xp = dx + ((n0 + m) * g.cIn + c0 + c) * g.h * g.w;
    std::memset(xp, 0, sizeof(float) * g.h * g.w);
    for (long ki = 0; ki < g.kh; ki++)
      for (long kj = 0; kj < g.kw; kj++) {
        const long r = (c * g.kh + ki) * g.kw + kj;
        const float* src = dcol + r * ld + m * P;
        const long off = kj - g.pad;
        long owLo = off < 0 ? (-off + g.stride - 1) / g.stride : 0;
        long lim = g.w - off;
        long owHi = lim <= 0 ? 0 : std::min(g.wo, (lim + g.stride - 1) / g.stride);
        for (long oh = 0; oh < g.ho; oh++) {
          const long ih = oh * g.stride - g.pad + ki;
          if (ih < 0 || ih >= g.h) continue;
          float* d = xp + ih * g.w + off;
          const float* s = src + oh * g.wo;
          if (g.stride == 1) {
            for (long ow = owLo; ow < owHi; ow++) d[ow] += s[ow];
          } else {
            for (long ow = owLo; ow < owHi; ow++) d[ow * g.stride] += s[ow];
          }
        }
      }
  });
}

// y planes [n0, n0+nb) × all Co: add bias, apply ReLU.
void biasRelu(float* y, const float* b, long n0, long nb, long co, long P, bool relu) {
  if (!b && !relu) return;
  parallelFor(static_cast<int>(nb * co), [&](int t, int) {
    float* yp = y + (n0 * co + t) * P;
    const float bv = b ? b[t % co] : 0.f;
    if (relu) {
      for (long i = 0; i < P; i++) yp[i] = std::max(0.f, yp[i] + bv);
    } else {
      for (long i = 0; i < P; i++) yp[i] += bv;
    }
  });
}

}  // namespace

void conv2dForward(const float* x, const float* w, const float* b, float* y, const ConvGeom& g,
                   bool relu) {
  const long G = g.groups, cig = g.cIn / G, cog = g.cOut / G;
  const long kc = cig * g.kh * g.kw, P = g.ho * g.wo;
  const long nbMax = imagesPerChunk(g);
  float* col = gCol.get(static_cast<size_t>(kc) * nbMax * P);
  float* out = nbMax > 1 ? gOut.get(static_cast<size_t>(cog) * nbMax * P) : nullptr;
  for (long n0 = 0; n0 < g.n; n0 += nbMax) {
    const long nb = std::min(nbMax, g.n - n0);
    for (long gi = 0; gi < G; gi++) {
      im2col(x, g, n0, nb, gi * cig, col);
      const float* wg = w + gi * cog * kc;
      if (nb == 1) {
        sgemm(false, false, cog, P, kc, wg, kc, col, P, 0.f, y + (n0 * g.cOut + gi * cog) * P, P);
      } else {
        sgemm(false, false, cog, nb * P, kc, wg, kc, col, nb * P, 0.f, out, nb * P);
        // out[cog, nb·P] → y[n0+m, gi·cog + o, :]
        parallelFor(static_cast<int>(nb * cog), [&](int t, int) {
          const long m = t / cog, o = t % cog;
          std::memcpy(y + ((n0 + m) * g.cOut + gi * cog + o) * P, out + o * nb * P + m * P,
                      sizeof(float) * P);
        });
      }
    }
    biasRelu(y, b, n0, nb, g.cOut, P, relu);
  }
}

void conv2dBackward(const float* x, const float* w, const float* dy, float* dx, float* dw,
                    float* db, const ConvGeom& g) {
  const long G = g.groups, cig = g.cIn / G, cog = g.cOut / G;
  const long kc = cig * g.kh * g.kw, P = g.ho * g.wo;

  if (db) {
    parallelFor(static_cast<int>(g.cOut), [&](int o, int) {
      double s = 0;
      for (long m = 0; m < g.n; m++) {
        const float* p = dy + (m * g.cOut + o) * P;
        float t = 0.f;
        for (long i = 0; i < P; i++) t += p[i];
        s += t;
      }
      db[o] = static_cast<float>(s);
    });
  }
  if (!dx && !dw) return;

  const long nbMax = imagesPerChunk(g);
  float* col = dw ? gCol.get(static_cast<size_t>(kc) * nbMax * P) : nullptr;
  float* dcol = dx ? gDcol.get(static_cast<size_t>(kc) * nbMax * P) : nullptr;
  float* dyc = nbMax > 1 ? gOut.get(static_cast<size_t>(cog) * nbMax * P) : nullptr;
  for (long n0 = 0; n0 < g.n; n0 += nbMax) {
    const long nb = std::min(nbMax, g.n - n0);
    for (long gi = 0; gi < G; gi++) {
      // dY_g for this chunk as [cog, nb·P].
      const float* dyg;
      long lddy;
      if (nb == 1) {
        dyg = dy + (n0 * g.cOut + gi * cog) * P;
        lddy = P;
      } else {
        parallelFor(static_cast<int>(nb * cog), [&](int t, int) {
          const long m = t / cog, o = t % cog;
          std::memcpy(dyc + o * nb * P + m * P, dy + ((n0 + m) * g.cOut + gi * cog + o) * P,
                      sizeof(float) * P);
        });
        dyg = dyc;
        lddy = nb * P;
      }
      const float* wg = w + gi * cog * kc;
      if (dw) {
        im2col(x, g, n0, nb, gi * cig, col);
        sgemm(false, true, cog, kc, nb * P, dyg, lddy, col, nb * P, n0 == 0 ? 0.f : 1.f,
              dw + gi * cog * kc, kc);
      }
      if (dx) {
        sgemm(true, false, kc, nb * P, cog, wg, kc, dyg, lddy, 0.f, dcol, nb * P);
        col2im(dcol, g, n0, nb, gi * cig, dx);
      }
    }
  }
}

}  // namespace anative
