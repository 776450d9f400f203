// Mean softmax cross-entropy with label smoothing ε: target = (1−ε)·onehot(label) + ε/L.
// Per row, with z the logits and lse = log Σ exp z:  loss = lse − Σ_j target_j·z_j,
// probs = softmax(z), dlogits = (probs − target)/N. Sums in double: L may be 1000 or more.
#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels.h"

namespace anative {

double softmaxCrossEntropy(const float* logits, const int32_t* labels, long n, long l,
                           float smoothing, float* probs, float* dlogits) {
  for (long r = 0; r < n; r++)
    if (labels[r] < 0 || labels[r] >= l)
      throw std::range_error("softmaxCrossEntropy: label " + std::to_string(labels[r]) +
                             " at row " + std::to_string(r) + " is outside [0, " +
                             std::to_string(l) + ")");
  const double eps = smoothing, off = eps / static_cast<double>(l);
  double total = 0;
  for (long r = 0; r < n; r++) {
    const float* z = logits + r * l;
    float* pr = probs + r * l;
    float mx = z[0];
    for (long j = 1; j < l; j++) mx = z[j] > mx ? z[j] : mx;
    double sum = 0, zsum = 0;
    for (long j = 0; j < l; j++) {
      const double e = std::exp(static_cast<double>(z[j]) - mx);
      pr[j] = static_cast<float>(e);
      sum += e;
      zsum += z[j];
    }
    const double lse = mx + std::log(sum);
    const double inv = 1.0 / sum;
    for (long j = 0; j < l; j++) pr[j] = static_cast<float>(pr[j] * inv);
    const int32_t y = labels[r];
    // A class of zero weight adds nothing: a −Inf logit there leaves the loss finite (as in
    // PyTorch), where 0·(−Inf) would make it NaN.
    const double onTarget = eps != 1.0 ? (1.0 - eps) * z[y] : 0.0;
    const double offTarget = off != 0.0 ? off * zsum : 0.0;
    total += lse - onTarget - offTarget;
    if (dlogits) {
      float* d = dlogits + r * l;
      const double invN = 1.0 / static_cast<double>(n);
      for (long j = 0; j < l; j++) {
        const double t = off + (j == y ? 1.0 - eps : 0.0);
        d[j] = static_cast<float>((pr[j] - t) * invN);
      }
    }
  }
  return total / static_cast<double>(n);
}

}  // namespace anative
