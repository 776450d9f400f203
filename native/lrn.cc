// Cross-channel LRN (SPEC §1): scale_i = k + s·Σ_{j∈win(i)} a_j², b_i = a_i · scale_i^(−β),
// win(i) = [max(0, i−⌊size/2⌋), min(C−1, i+⌊size/2⌋)], s = α/size ('per-size', Caffe/PyTorch)
// or α ('absolute', the paper's printed formula).
// Backward: dx_i = dy_i·scale_i^(−β) − 2βs·a_i·Σ_{j∈win(i)} dy_j·b_j/scale_j  (win is symmetric).
// Tasks are (image, channel) planes, vectorised over the H·W positions; the window sum is taken
// directly (size is 5) rather than by a running difference, which would lose precision.
#include <cmath>

#include "buffer.h"
#include "simd.h"
#include "kernels.h"
#include "threadpool.h"

namespace anative {
namespace {

thread_local Buffer tRing;        // ratio planes, per pool thread
constexpr long MAX_WINDOW = 127;  // the binding rejects larger sizes

void forPlanes(long planes, const std::function<void(long)>& fn) {
  parallelRange(planes, 2, [&](long b, long e) {
    for (long p = b; p < e; p++) fn(p);
  });
}

// One output plane: sc = k + s·Σ_j x_j², y = x·sc^(−β). xs: the window's input planes.
template <int Dummy = 0>
ANATIVE_INLINE void lrnForwardPlaneBody(const float* const* xs, long nwin, const float* xi,
                                        float* yi, float* sc, long HW, float k, float s,
                                        float beta) {
  for (long q = 0; q < HW; q++) sc[q] = 0.f;
  for (long j = 0; j < nwin; j++) {
    const float* xj = xs[j];
    for (long q = 0; q < HW; q++) sc[q] += xj[q] * xj[q];
  }
  for (long q = 0; q < HW; q++) sc[q] = k + s * sc[q];
  if (beta == 0.75f) {
    for (long q = 0; q < HW; q++) yi[q] = xi[q] / std::sqrt(sc[q] * std::sqrt(sc[q]));
  } else {
    for (long q = 0; q < HW; q++) yi[q] = xi[q] * std::pow(sc[q], -beta);
  }
}
ANATIVE_MULTIVERSION(lrnForwardPlane,
                     (const float* const* xs, long nwin, const float* xi, float* yi, float* sc,
                      long HW, float k, float s, float beta),
                     (xs, nwin, xi, yi, sc, HW, k, s, beta))

// dx = dy·sc^(−β) − coef·x·Σ_j ratio_j (dx may alias dy: read before written, per element).
template <int Dummy = 0>
ANATIVE_INLINE void lrnBackwardPlaneBody(const float* const* rs, long nwin, const float* xi,
                                         const float* si, const float* dyi, float* dxi, long HW,
                                         float coef, float beta) {
  if (beta == 0.75f) {
    for (long q = 0; q < HW; q++) dxi[q] = dyi[q] / std::sqrt(si[q] * std::sqrt(si[q]));
  } else {
    for (long q = 0; q < HW; q++) dxi[q] = dyi[q] * std::pow(si[q], -beta);
  }
  for (long j = 0; j < nwin; j++) {
    const float* rj = rs[j];
    for (long q = 0; q < HW; q++) dxi[q] -= coef * xi[q] * rj[q];
  }
}
ANATIVE_MULTIVERSION(lrnBackwardPlane,
                     (const float* const* rs, long nwin, const float* xi, const float* si,
                      const float* dyi, float* dxi, long HW, float coef, float beta),
                     (rs, nwin, xi, si, dyi, dxi, HW, coef, beta))

template <int Dummy = 0>
ANATIVE_INLINE void lrnRatioBody(const float* dy, const float* y, const float* scale, float* r,
                                 long b, long e) {
  for (long i = b; i < e; i++) r[i] = dy[i] * y[i] / scale[i];
}
ANATIVE_MULTIVERSION(lrnRatio,
                     (const float* dy, const float* y, const float* scale, float* r, long b,
                      long e),
                     (dy, y, scale, r, b, e))

}  // namespace

void lrnForward(const float* x, float* y, float* scale, const LrnParams& p) {
  const long HW = p.h * p.w, half = p.size / 2;
  const float s = p.perSize ? p.alpha / static_cast<float>(p.size) : p.alpha;
  forPlanes(p.n * p.c, [&](long plane) {
    const long img = plane / p.c, c = plane % p.c;
    const long j0 = c - half < 0 ? 0 : c - half, j1 = c + half > p.c - 1 ? p.c - 1 : c + half;
    const float* xs[MAX_WINDOW];
    long nwin = 0;
    for (long j = j0; j <= j1 && nwin < MAX_WINDOW; j++) xs[nwin++] = x + (img * p.c + j) * HW;
    // The scale goes to `scale` if wanted, else into y (then y is overwritten in place).
    float* yi = y + plane * HW;
    float* sc = scale ? scale + plane * HW : yi;
    lrnForwardPlane(xs, nwin, x + plane * HW, yi, sc, HW, p.k, s, p.beta);
  });
}

void lrnBackward(const float* x, const float* y, const float* scale, const float* dy, float* dx,
                 const LrnParams& p) {
  const long HW = p.h * p.w, half = p.size / 2;
  const float s = p.perSize ? p.alpha / static_cast<float>(p.size) : p.alpha;
  const float coef = 2.f * p.beta * s;
  const long win = 2 * half + 1;
  // The ratio planes dy·b/scale are computed as the window reaches them, into a per-thread
  // ring of `win` planes (slot j mod win), instead of in a first pass over a whole-batch buffer
  // (37 MB at pool1's input, batch 32: written and read back from memory). Planes are taken in
  // order within each thread's range, so each ratio plane is computed once per range.
  // If dx aliases dy, a plane's dy must be read (into its ratio) before any thread writes its
  // dx: then each thread takes whole images (within one image the order guarantees it).
  const long total = p.n * p.c * HW;
  const bool alias = dx < dy + total && dy < dx + total;
  const long unit = alias ? p.c : 1;
  parallelRange(p.n * p.c / unit, 2, [&](long ub, long ue) {
    const long b = ub * unit, e = ue * unit;
    float* ring = tRing.get(static_cast<size_t>(win) * HW);
    long curImg = -1,
         computedHi = 0;  // ratio planes [.., computedHi) of image curImg are in the ring
    for (long plane = b; plane < e; plane++) {
      const long img = plane / p.c, c = plane % p.c;
      const long j0 = c - half < 0 ? 0 : c - half, j1 = c + half > p.c - 1 ? p.c - 1 : c + half;
      if (img != curImg || computedHi < j0) {
        curImg = img;
        computedHi = j0;
      }
      for (long j = computedHi; j <= j1; j++) {
        const long o = (img * p.c + j) * HW;
        lrnRatio(dy + o, y + o, scale + o, ring + (j % win) * HW, 0, HW);
      }
      if (j1 + 1 > computedHi) computedHi = j1 + 1;
      const float* rs[MAX_WINDOW];
      long nwin = 0;
      for (long j = j0; j <= j1 && nwin < MAX_WINDOW; j++) rs[nwin++] = ring + (j % win) * HW;
      lrnBackwardPlane(rs, nwin, x + plane * HW, scale + plane * HW, dy + plane * HW,
                       dx + plane * HW, HW, coef, p.beta);
    }
  });
}

}  // namespace anative
