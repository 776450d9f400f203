// The bfloat16 conversions over arrays (bf16.h): plain loops the compiler vectorises, compiled
// per ISA (simd.h), split over the pool.
#include "bf16.h"

#include "simd.h"
#include "threadpool.h"

namespace anative {
namespace {

constexpr long MIN_CHUNK = 1 << 15;

// The same integer rounding as floatToBf16, written on the bits so that it vectorises.
ANATIVE_INLINE uint32_t roundBits(uint32_t b) {
  return (b & 0x7fffffffu) > 0x7f800000u ? (b >> 16) | 0x40u
                                         : (b + 0x7fffu + ((b >> 16) & 1u)) >> 16;
}

ANATIVE_INLINE void roundRunBody(const float* x, uint16_t* y, long n) {
  const uint32_t* u = reinterpret_cast<const uint32_t*>(x);
  for (long i = 0; i < n; i++) y[i] = static_cast<uint16_t>(roundBits(u[i]));
}
ANATIVE_MULTIVERSION(roundRun, (const float* x, uint16_t* y, long n), (x, y, n))

ANATIVE_INLINE void roundThroughRunBody(const float* x, float* y, long n) {
  const uint32_t* u = reinterpret_cast<const uint32_t*>(x);
  uint32_t* v = reinterpret_cast<uint32_t*>(y);
  for (long i = 0; i < n; i++) v[i] = roundBits(u[i]) << 16;
}
ANATIVE_MULTIVERSION(roundThroughRun, (const float* x, float* y, long n), (x, y, n))

ANATIVE_INLINE void widenRunBody(const uint16_t* x, float* y, long n) {
  uint32_t* v = reinterpret_cast<uint32_t*>(y);
  for (long i = 0; i < n; i++) v[i] = static_cast<uint32_t>(x[i]) << 16;
}
ANATIVE_MULTIVERSION(widenRun, (const uint16_t* x, float* y, long n), (x, y, n))

}  // namespace

void roundToBf16(const float* x, uint16_t* y, long len) {
  parallelRange(len, MIN_CHUNK, [&](long b, long e) { roundRun(x + b, y + b, e - b); });
}

void roundToBf16Serial(const float* x, uint16_t* y, long len) {
  roundRun(x, y, len);
}

void roundThroughBf16(const float* x, float* y, long len) {
  parallelRange(len, MIN_CHUNK, [&](long b, long e) { roundThroughRun(x + b, y + b, e - b); });
}

void widenBf16(const uint16_t* x, float* y, long len) {
  parallelRange(len, MIN_CHUNK, [&](long b, long e) { widenRun(x + b, y + b, e - b); });
}

}  // namespace anative
