// Elementwise kernels: activations (backward from the forward OUTPUT y), dropout, scaling.
// Outputs may alias inputs: each element is read before it is written. NaN and ±Inf follow
// IEEE arithmetic as in PyTorch: relu(NaN) = NaN, and a dropped NaN or Inf is NaN (x·0).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "bf16.h"
#include "kernels.h"
#include "relu.h"
#include "simd.h"
#include "threadpool.h"

namespace anative {
namespace {
constexpr long CHUNK = 1 << 15;  // below this a second thread costs more than it saves
}

void activationForward(Activation kind, const float* x, float* y, long len) {
  parallelRange(len, CHUNK, [&](long b, long e) {
    switch (kind) {
      case Activation::Relu:
        for (long i = b; i < e; i++) y[i] = relu(x[i]);
        break;
      case Activation::Tanh:
        for (long i = b; i < e; i++) y[i] = std::tanh(x[i]);
        break;
      case Activation::Sigmoid:
        for (long i = b; i < e; i++) y[i] = 1.f / (1.f + std::exp(-x[i]));
        break;
    }
  });
}

// ReLU backward: dx = y ≤ 0 ? 0 : dy, PyTorch's threshold_backward (a NaN y passes dy on, as
// there). Both operands are loaded unconditionally, so the loop is a vector blend (the
// conditional load of dy kept it scalar), compiled for each ISA.
ANATIVE_INLINE void reluBackwardBody(const float* y, const float* dy, float* dx, long b, long e) {
  for (long i = b; i < e; i++) {
    const float d = dy[i];
    dx[i] = y[i] <= 0.f ? 0.f : d;
  }
}
ANATIVE_MULTIVERSION(reluBackward, (const float* y, const float* dy, float* dx, long b, long e),
                     (y, dy, dx, b, e))

void activationBackward(Activation kind, const float* y, const float* dy, float* dx, long len) {
  parallelRange(len, CHUNK, [&](long b, long e) {
    switch (kind) {
      case Activation::Relu:
        reluBackward(y, dy, dx, b, e);
        break;
      case Activation::Tanh:
        for (long i = b; i < e; i++) dx[i] = dy[i] * (1.f - y[i] * y[i]);
        break;
      case Activation::Sigmoid:
        for (long i = b; i < e; i++) dx[i] = dy[i] * y[i] * (1.f - y[i]);
        break;
    }
  });
}

void dropoutApply(const float* x, const uint8_t* mask, float scale, float* y, long len) {
  parallelRange(len, CHUNK, [&](long b, long e) {
    for (long i = b; i < e; i++) y[i] = x[i] * (mask[i] ? scale : 0.f);
  });
}

void scaleArray(const float* x, float scale, float* y, long len) {
  parallelRange(len, CHUNK, [&](long b, long e) {
    for (long i = b; i < e; i++) y[i] = x[i] * scale;
  });
}

}  // namespace anative

// cast — float32 ↔ bfloat16 (the upper half of a float32): to bfloat16 rounds to nearest, ties to
// even, and keeps NaN a quiet NaN of its sign; to float32 is exact; the same dtype copies.
ANATIVE_KERNEL(cast) {
  const long len = call.length(0);
  const bool fromBf16 = call.isBf16(0), toBf16 = call.isBf16(1);
  if (!fromBf16 && toBf16) {
    anative::roundToBf16(call.f32(0), call.bf16(1), len);  // bf16.h: vectorised per ISA
  } else if (fromBf16 && !toBf16) {
    anative::widenBf16(call.bf16(0), call.f32(1), len);
  } else {
    const size_t bytes = static_cast<size_t>(len) * (fromBf16 ? 2 : 4);
    std::memmove(fromBf16 ? static_cast<void*>(call.bf16(1)) : call.f32(1),
                 fromBf16 ? static_cast<const void*>(call.bf16(0)) : call.f32(0), bytes);
  }
}
