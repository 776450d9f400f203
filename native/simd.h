// Compiling one loop body three times on x86-64: for AVX-512, for AVX2 and for the baseline. The
// addon is built without -march (one binary for every x86-64), so a plain loop only gets SSE2;
// memory-bound kernels (LRN, pooling) gain from wider vectors too. The body is an always-inline
// template, instantiated inside functions carrying the target attributes, and the copy is
// chosen at run time from the ISA in use (so ALEXNET_ISA / setIsa reach these kernels too).
// Also the AVX2 kernels' shared load of a row's last, partial vector (loadUpTo8).
#pragma once
#include "isa.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

#define ANATIVE_INLINE __attribute__((always_inline)) inline

#if defined(__x86_64__) || defined(_M_X64)
#define ANATIVE_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))
#define ANATIVE_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define ANATIVE_AVX2_INLINE __attribute__((target("avx2,fma"), always_inline)) inline

// p[0, min(left, 8)) as 8 floats (zero past `left`): a plain load where all 8 are there, masked
// only at the end of a row. vmaskmovps is slow on some cores: with one per step the AMD Zen 1
// here streamed fc6's w at 10 GB/s against 23 GB/s for plain loads.
ANATIVE_AVX2_INLINE __m256 loadUpTo8(const float* p, long left) {
  if (left >= 8) return _mm256_loadu_ps(p);
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_maskload_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(left)), lane));
}

// Defines NAME(args) dispatching to NAME##Body(args) compiled for each ISA.
#define ANATIVE_MULTIVERSION(NAME, PARAMS, ARGS)          \
  ANATIVE_TARGET_AVX512 static void NAME##Avx512 PARAMS { \
    NAME##Body ARGS;                                      \
  }                                                       \
  ANATIVE_TARGET_AVX2 static void NAME##Avx2 PARAMS {     \
    NAME##Body ARGS;                                      \
  }                                                       \
  static void NAME##Base PARAMS {                         \
    NAME##Body ARGS;                                      \
  }                                                       \
  static void NAME PARAMS {                               \
    switch (currentIsa()) {                               \
      case Isa::Avx512:                                   \
        return NAME##Avx512 ARGS;                         \
      case Isa::Avx2:                                     \
        return NAME##Avx2 ARGS;                           \
      default:                                            \
        return NAME##Base ARGS;                           \
    }                                                     \
  }
#else
// Other architectures (arm64…) have the portable path only, compiled for the baseline ISA
// (auto-vectorised, e.g. with NEON on arm64).
#define ANATIVE_MULTIVERSION(NAME, PARAMS, ARGS) \
  static void NAME PARAMS {                      \
    NAME##Body ARGS;                             \
  }
#endif
