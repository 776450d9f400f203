// bfloat16 ⇄ float32 (BF16-CONTRACT.md). A bfloat16 is the upper half of a float32; rounding a
// float32 to it is round to nearest, ties to even, with a NaN kept a (quiet) NaN — bit for bit
// the `cast` kernel's rounding (src/backend/ref/elementwise.ts floatToBf16). The mixed-precision
// kernels round their float32 activations / gradients with it as they read them.
#pragma once
#include <cstdint>
#include <cstring>

namespace anative {

inline uint16_t floatToBf16(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return static_cast<uint16_t>(
      (b & 0x7fffffffu) > 0x7f800000u ? (b >> 16) | 0x40u : (b + 0x7fffu + ((b >> 16) & 1u)) >> 16);
}

inline float bf16ToFloat(uint16_t h) {
  const uint32_t b = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

/** y[i] = floatToBf16(x[i]), over the pool's threads. */
void roundToBf16(const float* x, uint16_t* y, long len);
/** roundToBf16 on the calling thread (inside a pool task). */
void roundToBf16Serial(const float* x, uint16_t* y, long len);
/** y[i] = bf16ToFloat(floatToBf16(x[i])) (the rounded value, kept in a float32), over the pool. */
void roundThroughBf16(const float* x, float* y, long len);
/** y[i] = bf16ToFloat(x[i]), over the pool's threads. */
void widenBf16(const uint16_t* x, float* y, long len);

}  // namespace anative
