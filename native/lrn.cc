// Cross-channel LRN (SPEC §1): scale_i = k + s·Σ_{j∈win(i)} a_j², b_i = a_i · scale_i^(−β),
// win(i) = [max(0, i−⌊size/2⌋), min(C−1, i+⌊size/2⌋)], s = α/size ('per-size', Caffe/PyTorch)
// or α ('absolute', the paper's printed formula).
// Backward: dx_i = dy_i·scale_i^(−β) − 2βs·a_i·Σ_{j∈win(i)} dy_j·b_j/scale_j  (win is symmetric).
// Tasks are (image, channel) planes, vectorised over the H·W positions; the window sum is taken
// directly (size is 5) rather than by a running difference, which would lose precision.
#include <cmath>

#include "buffer.h"
#include "kernels.h"
#include "threadpool.h"

namespace anative {
namespace {

Buffer gRatio;

void forPlanes(long planes, const std::function<void(long)>& fn) {
  parallelRange(planes, 2, [&](long b, long e) {
    for (long p = b; p < e; p++) fn(p);
  });
}

}  // namespace

void lrnForward(const float* x, float* y, float* scale, const LrnParams& p) {
  const long HW = p.h * p.w, half = p.size / 2;
  const float s = p.perSize ? p.alpha / static_cast<float>(p.size) : p.alpha;
  forPlanes(p.n * p.c, [&](long plane) {
    const long img = plane / p.c, c = plane % p.c;
    const long j0 = c - half < 0 ? 0 : c - half, j1 = c + half > p.c - 1 ? p.c - 1 : c + half;
    const float* xi = x + plane * HW;
    float* yi = y + plane * HW;
    // The scale goes to `scale` if wanted, else into y (then y is overwritten in place).
    float* sc = scale ? scale + plane * HW : yi;
    for (long q = 0; q < HW; q++) sc[q] = 0.f;
    for (long j = j0; j <= j1; j++) {
      const float* xj = x + (img * p.c + j) * HW;
      for (long q = 0; q < HW; q++) sc[q] += xj[q] * xj[q];
    }
    for (long q = 0; q < HW; q++) sc[q] = p.k + s * sc[q];
    if (p.beta == 0.75f) {
      for (long q = 0; q < HW; q++) yi[q] = xi[q] / std::sqrt(sc[q] * std::sqrt(sc[q]));
    } else {
      for (long q = 0; q < HW; q++) yi[q] = xi[q] * std::pow(sc[q], -p.beta);
    }
  });
}

void lrnBackward(const float* x, const float* y, const float* scale, const float* dy, float* dx,
                 const LrnParams& p) {
  const long HW = p.h * p.w, half = p.size / 2;
  const float s = p.perSize ? p.alpha / static_cast<float>(p.size) : p.alpha;
  const float coef = 2.f * p.beta * s;
  const long total = p.n * p.c * HW;
  float* ratio = gRatio.get(static_cast<size_t>(total));  // dy·b/scale
  parallelRange(total, 1 << 14, [&](long b, long e) {
    for (long i = b; i < e; i++) ratio[i] = dy[i] * y[i] / scale[i];
  });
  forPlanes(p.n * p.c, [&](long plane) {
    const long img = plane / p.c, c = plane % p.c;
    const long j0 = c - half < 0 ? 0 : c - half, j1 = c + half > p.c - 1 ? p.c - 1 : c + half;
    const float* xi = x + plane * HW;
    const float* si = scale + plane * HW;
    const float* dyi = dy + plane * HW;
    float* dxi = dx + plane * HW;
    // dx may alias dy: each element of dy is read before the same element of dx is written.
    if (p.beta == 0.75f) {
      for (long q = 0; q < HW; q++) dxi[q] = dyi[q] / std::sqrt(si[q] * std::sqrt(si[q]));
    } else {
      for (long q = 0; q < HW; q++) dxi[q] = dyi[q] * std::pow(si[q], -p.beta);
    }
    for (long j = j0; j <= j1; j++) {
      const float* rj = ratio + (img * p.c + j) * HW;
      for (long q = 0; q < HW; q++) dxi[q] -= coef * xi[q] * rj[q];
    }
  });
}

}  // namespace anative
