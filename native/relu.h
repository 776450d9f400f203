// ReLU with IEEE semantics, as PyTorch computes it (clamp_min(x, 0)): a NaN passes through and
// −0 stays −0. `x > 0 ? x : 0` and std::max(0.f, x) both turn a NaN into 0, which hides a
// broken input behind confident outputs. In vectors the same rule is max(0, x) with the zero
// FIRST: x86's max returns its second operand when either is NaN (and when both are zeros).
#pragma once

namespace anative {

inline float relu(float x) {
  return x < 0.f ? 0.f : x;
}

}  // namespace anative
