// The paper's SGD rule (Krizhevsky et al. 2012, §5) in one pass over a parameter tensor:
//   v ← momentum·v − weightDecay·lr·w − lr·g ;  w ← w + v
// and, given w16, the bfloat16 copy of the new w (a bf16 net's weight shadow) in the same pass:
// each block of w rounded while it is still in L1, instead of a cast that reads all of w again
// (fc6: 151 MB).
#include <algorithm>

#include "bf16.h"
#include "kernels.h"
#include "threadpool.h"

namespace anative {

constexpr long ROUND_BLOCK = 2048;  // floats updated, then rounded from L1

void sgdUpdate(float* w, const float* g, float* v, long len, float lr, float momentum,
               float weightDecay, uint16_t* w16) {
  const float decay = weightDecay * lr;
  parallelRange(len, 1 << 15, [&](long b, long e) {
    for (long b0 = b; b0 < e; b0 += ROUND_BLOCK) {
      const long b1 = std::min(e, b0 + ROUND_BLOCK);
      for (long i = b0; i < b1; i++) {
        const float vi = momentum * v[i] - decay * w[i] - lr * g[i];
        v[i] = vi;
        w[i] += vi;
      }
      if (w16) roundToBf16Serial(w + b0, w16 + b0, b1 - b0);
    }
  });
}

}  // namespace anative
