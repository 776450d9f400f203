// The paper's SGD rule (Krizhevsky et al. 2012, §5) in one pass over a parameter tensor:
//   v ← momentum·v − weightDecay·lr·w − lr·g ;  w ← w + v
#include "kernels.h"
#include "threadpool.h"

namespace anative {

void sgdUpdate(float* w, const float* g, float* v, long len, float lr, float momentum,
               float weightDecay) {
  const float decay = weightDecay * lr;
  parallelRange(len, 1 << 15, [&](long b, long e) {
    for (long i = b; i < e; i++) {
      const float vi = momentum * v[i] - decay * w[i] - lr * g[i];
      v[i] = vi;
      w[i] += vi;
    }
  });
}

}  // namespace anative
