// Compiling one loop body three times on x86-64: for AVX-512, for AVX2 and for the baseline. The
// addon is built without -march (one binary for every x86-64), so a plain loop only gets SSE2;
// memory-bound kernels (LRN, pooling) gain from wider vectors too. The body is an always-inline
// template, instantiated inside functions carrying the target attributes, and the copy is
// chosen at run time from the ISA in use (so ALEXNET_ISA / setIsa reach these kernels too).
#pragma once
#include "isa.h"

#define ANATIVE_INLINE __attribute__((always_inline)) inline

#if defined(__x86_64__) || defined(_M_X64)
#define ANATIVE_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))
#define ANATIVE_TARGET_AVX2 __attribute__((target("avx2,fma")))

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
