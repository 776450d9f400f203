// Fully connected layers on the shared GEMM (PyTorch layout w: [F, D]).
//   forward  y[N, F]  = x[N, D] · w[F, D]ᵀ + b
//   backward dx[N, D] = dy[N, F] · w[F, D];  dw[F, D] = dy[N, F]ᵀ · x[N, D];  db = Σ_n dy
//
// For the batch sizes of training and batched inference (N = 8…512, F and D in the thousands)
// the forward product is computed transposed, with the weights as the GEMM's A operand:
//   yᵀ[F, N] = w[F, D] · xᵀ
// so the 14-row micro-tiles run along F (4096 = 292 full tiles) instead of along N (32 rows =
// 2 full tiles + a 4-row one: 24% of the FMAs wasted), and x (N ≤ 512 columns: whole 32-wide
// micro-panels) is the re-read operand. yᵀ goes through a scratch buffer (N·F floats, cheap
// next to the N·F·D product). dx is left in the direct form: transposed, its A operand would be
// wᵀ, packed from 14-float pieces of 256 different rows of w, which measured 30% slower.
#include <algorithm>

#include "buffer.h"
#include "gemm.h"
#include "kernels.h"
#include "relu.h"
#include "threadpool.h"

namespace anative {
namespace {

thread_local Buffer gTransposed;  // per calling (JS) thread

// Transposed products pay when the batch is big enough for whole micro-panels and the
// weights are much larger than the activations.
bool useTransposed(long n, long d, long f) {
  return n >= 8 && n <= 512 && d >= 4 * n && f >= 4 * n;
}

// dst[r, c] = src[c, r] for src [cols, rows] (rows = N small), over the pool in row bands.
void transposeOut(const float* src, long rows, long cols, float* dst) {
  parallelRange(cols, 256, [&](long c0, long c1) {
    for (long r = 0; r < rows; r++) {
      float* d = dst + r * cols;
      for (long c = c0; c < c1; c++) d[c] = src[c * rows + r];
    }
  });
}

}  // namespace

void linearForward(const float* x, const float* w, const float* b, float* y, long n, long d, long f,
                   bool relu) {
  if (useTransposed(n, d, f)) {
    float* yT = gTransposed.get(static_cast<size_t>(n) * f);  // [F, N]
    sgemm(false, true, f, n, d, w, d, x, d, 0.f, yT, n);
    transposeOut(yT, n, f, y);
  } else {
    sgemm(false, true, n, f, d, x, d, w, d, 0.f, y, f);
  }
  if (!b && !relu) return;
  parallelRange(n, 1, [&](long r0, long r1) {
    for (long r = r0; r < r1; r++) {
      float* yr = y + r * f;
      if (relu) {
        for (long j = 0; j < f; j++) yr[j] = anative::relu(yr[j] + (b ? b[j] : 0.f));
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
