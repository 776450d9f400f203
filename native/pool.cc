// Max, average and adaptive-average pooling. Tasks are (image, channel) planes, which keeps
// every backward scatter inside one plane (no races) and matches the argmax convention: the
// flat index h·W + w within the plane, first maximum in row-major scan order (as PyTorch).
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels.h"
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
inline void maxWindowScan(const float* xp, long W, long h0, long h1, long w0, long w1,
                          float* out, int32_t* idx) {
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
// (contiguous, vectorisable), then a horizontal max over each window's columns. Ties keep the
// row-major first maximum: equal values prefer the smaller row, then the smaller column.
void maxPoolForward(const float* x, float* y, int32_t* argmax, const PoolGeom& g) {
  forPlanes(g.n * g.c, [&](long plane) {
    thread_local std::vector<float> vmax;
    thread_local std::vector<int32_t> vrow;
    vmax.resize(g.w);
    vrow.resize(g.w);
    float* vm = vmax.data();
    int32_t* vr = vrow.data();
    const float* xp = x + plane * g.h * g.w;
    float* yp = y + plane * g.ho * g.wo;
    int32_t* ap = argmax ? argmax + plane * g.ho * g.wo : nullptr;
    for (long oh = 0; oh < g.ho; oh++) {
      const long h0 = std::max(0L, oh * g.stride - g.pad);
      const long h1 = std::min(g.h, oh * g.stride - g.pad + g.k);
      const float* r0 = xp + h0 * g.w;
      int nan = 0;
      for (long iw = 0; iw < g.w; iw++) {
        vm[iw] = r0[iw];
        vr[iw] = static_cast<int32_t>(h0);
        nan |= r0[iw] != r0[iw];
      }
      for (long ih = h0 + 1; ih < h1; ih++) {
        const float* r = xp + ih * g.w;
        const int32_t ihi = static_cast<int32_t>(ih);
        for (long iw = 0; iw < g.w; iw++) {
          const float v = r[iw];
          const bool gt = v > vm[iw];
          vm[iw] = gt ? v : vm[iw];
          vr[iw] = gt ? ihi : vr[iw];
          nan |= v != v;
        }
      }
      for (long ow = 0; ow < g.wo; ow++) {
        const long w0 = std::max(0L, ow * g.stride - g.pad);
        const long w1 = std::min(g.w, ow * g.stride - g.pad + g.k);
        if (nan) {
          maxWindowScan(xp, g.w, h0, h1, w0, w1, yp + oh * g.wo + ow,
                        ap ? ap + oh * g.wo + ow : nullptr);
          continue;
        }
        float best = vm[w0];
        long bw = w0;
        for (long iw = w0 + 1; iw < w1; iw++) {
          const float v = vm[iw];
          if (v > best || (v == best && vr[iw] < vr[bw])) {
            best = v;
            bw = iw;
          }
        }
        yp[oh * g.wo + ow] = best;
        if (ap) ap[oh * g.wo + ow] = static_cast<int32_t>(vr[bw] * g.w + bw);
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
