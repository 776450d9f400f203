// Fully connected layers on the shared GEMM (PyTorch layout w: [F, D]).
//   forward  y[N, F]  = x[N, D] · w[F, D]ᵀ + b
//   backward dx[N, D] = dy[N, F] · w[F, D];  dw[F, D] = dy[N, F]ᵀ · x[N, D];  db = Σ_n dy
#include <algorithm>

#include "gemm.h"
#include "kernels.h"
#include "threadpool.h"

namespace anative {

void linearForward(const float* x, const float* w, const float* b, float* y, long n, long d,
                   long f, bool relu) {
  sgemm(false, true, n, f, d, x, d, w, d, 0.f, y, f);
  if (!b && !relu) return;
  parallelRange(n, 1, [&](long r0, long r1) {
    for (long r = r0; r < r1; r++) {
      float* yr = y + r * f;
      if (relu) {
        for (long j = 0; j < f; j++) yr[j] = std::max(0.f, yr[j] + (b ? b[j] : 0.f));
      } else {
        for (long j = 0; j < f; j++) yr[j] += b[j];
      }
    }
  });
}

void linearBackward(const float* x, const float* w, const float* dy, float* dx, float* dw,
                    float* db, long n, long d, long f) {
  if (dx) sgemm(false, false, n, d, f, dy, f, w, d, 0.f, dx, d);
  if (dw) sgemm(true, false, f, d, n, dy, f, x, d, 0.f, dw, d);
  if (db) {
    parallelRange(f, 64, [&](long j0, long j1) {
      for (long j = j0; j < j1; j++) db[j] = 0.f;
      for (long r = 0; r < n; r++) {
        const float* dr = dy + r * f;
        for (long j = j0; j < j1; j++) db[j] += dr[j];
      }
    });
  }
}

}  // namespace anative
